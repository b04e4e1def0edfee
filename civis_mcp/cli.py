"""The ``civis-mcp`` command: serve | doctor | sandbox | demo | tools | manifest."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civis_mcp import __version__
from civis_mcp.api.errors import ConfigurationError
from civis_mcp.api.redaction import RedactingFilter, Redactor
from civis_mcp.audit import AuditLog
from civis_mcp.catalog import TOOLSETS
from civis_mcp.config import Settings, settings_help, split_names

if TYPE_CHECKING:
    from civis_mcp.hosted.settings import HostedSettings

__all__ = ["main", "settings_flags"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civis-mcp", description="MCP server for Civis Platform imports.")
    parser.add_argument("--version", action="version", version=f"civis-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the MCP server over stdio (stdout carries only MCP messages), or HTTP with --http"
    )
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="what goes to stderr (the client's log): INFO start-up and retries (the default), DEBUG also one line "
        "per request to Civis",
    )
    _add_settings_arguments(serve)
    serve.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        help="serve MCP over streamable HTTP at http://HOST:PORT/mcp instead of stdio (HOST defaults to 127.0.0.1; "
        "IPv6 in brackets, e.g. [::1]:8000). Without --auth civis-key anyone who reaches the port acts with your "
        "Civis key: keep it on loopback, or put your own authentication in front",
    )
    serve.add_argument(
        "--auth",
        choices=["none", "civis-key", "oauth"],
        help="with --http: oauth = callers sign in with your identity provider (OAuth 2.1 access tokens; each person "
        "binds their Civis key once on /connect; see CIVIS_MCP_OAUTH_ISSUER in the README); "
        "civis-key = each caller sends their own Civis key as HTTP Basic and every call is made "
        "with it (no server-wide key); none = the server's CIVIS_API_KEY (env CIVIS_MCP_AUTH; default none)",
    )
    serve.add_argument(
        "--allowed-hosts",
        metavar="HOSTS",
        help="with --http: comma-separated Host header values to accept besides loopback, e.g. the name of your "
        "reverse proxy (mcp.example.org, mcp.example.org:443) (env CIVIS_MCP_ALLOWED_HOSTS)",
    )
    serve.add_argument(
        "--allowed-origins",
        metavar="ORIGINS",
        help="with --http: comma-separated Origin values to accept besides loopback, e.g. https://chat.example.org "
        "(env CIVIS_MCP_ALLOWED_ORIGINS)",
    )
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        default=None,
        help="with --http: serve on an address other than loopback without authentication (env "
        "CIVIS_MCP_INSECURE_NO_AUTH). Anyone who reaches the port acts with the server's key",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="run against an embedded local sandbox of the Civis API (no account or key needed)",
    )
    serve.add_argument(
        "--sandbox-db",
        type=Path,
        metavar="PATH",
        help="with --sandbox: keep the sandbox's state in this SQLite file across restarts, and its warehouse beside "
        "it in NAME-warehouse.sqlite; delete PATH to start over (a new state starts a new warehouse)",
    )
    doctor = commands.add_parser(
        "doctor",
        help="check this install, its configuration, key and endpoint; print a configuration for each client",
        description="Checks Python and the install, the configuration (the same environment variables and flags as "
        "serve), the endpoint and the key (who it belongs to), which tools are offered and why not the others, and "
        "an MCP handshake with the command a client will run. Prints ready-to-paste configurations. Exit status 0 "
        "when everything works, 1 otherwise.",
    )
    _add_settings_arguments(doctor)
    doctor.add_argument("--sandbox", action="store_true", help="check against an embedded sandbox (no key needed)")
    doctor.add_argument(
        "--expect",
        metavar="TOOL",
        action="append",
        default=[],
        help="fail unless this tool is offered (repeat for several)",
    )
    from civis_mcp.oauth.admin import add_keys_parser
    from civis_mcp.oauth.authserver_cli import add_auth_server_parser

    add_keys_parser(commands)
    add_auth_server_parser(commands)
    commands.add_parser("tools", help="print the tool catalog: name, HTTP verb and path, safety class")
    # The sandbox's own options are defined by civis_mcp.sandbox, loaded only when that command runs (it brings
    # Starlette, uvicorn and every model, which `serve` must not pay for at start-up).
    commands.add_parser(
        "sandbox",
        help="serve a local emulator of the Civis Imports API on 127.0.0.1 (see `civis-mcp sandbox --help`)",
        add_help=False,
    )
    demo = commands.add_parser(
        "demo", help="play a short scripted session through a real MCP client against the sandbox"
    )
    demo.add_argument(
        "--list",
        action="store_true",
        help="list the sandbox's demo imports that really failed, one per kind and failure class, and exit",
    )
    manifest = commands.add_parser("manifest", help="write tool_manifests/ from the code (or --check it)")
    manifest.add_argument("--check", action="store_true", help="exit 1 when tool_manifests/ differs from the code")
    manifest.add_argument("--dir", type=Path, default=Path("tool_manifests"), help="manifest directory")
    return parser


def _add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that shape the settings, shared by ``serve`` and ``doctor`` (which checks what ``serve`` would do).
    Each overrides one ``Settings`` field of the same name, which reads and checks its text (numbers included, so a
    flag takes what its variable takes); variables and defaults in the help come from there."""
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help=settings_help("read_only", "offer only read tools; wins over --toolsets and --tools"),
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help=settings_help(
            "profile",
            "tools to list: full (typed tools), read-only, or compact (workflow tools and a gateway that reaches "
            "every operation); over HTTP a request may narrow it with /mcp/PROFILE",
        ),
    )
    parser.add_argument(
        "--toolsets",
        metavar="NAMES",
        help=settings_help("toolsets", f"comma-separated toolsets to offer: {', '.join(TOOLSETS)}"),
    )
    parser.add_argument("--tools", metavar="NAMES", help=settings_help("tools", "comma-separated tools to offer"))
    parser.add_argument(
        "--allow-unconfirmed",
        metavar="TOOL",
        action="append",
        default=[],
        help=settings_help(
            "allow_unconfirmed",
            "let this destructive tool run without a human's confirmation; repeat or comma-separate. For unattended "
            "agents only",
        ),
    )
    parser.add_argument(
        "--confirm-timeout",
        metavar="SECONDS",
        help=settings_help("confirm_timeout", "how long to wait for the human's answer"),
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        metavar="PATH",
        help=settings_help(
            "audit_log",
            "append JSON lines (intent before, outcome after) for every write and guarded call, file mode 0600",
        ),
    )
    parser.add_argument(
        "--audit-required",
        action="store_true",
        help=settings_help(
            "audit_required", "refuse a write whose audit intent line cannot be written (needs --audit-log)"
        ),
    )
    parser.add_argument(
        "--call-deadline",
        metavar="SECONDS",
        help=settings_help("call_deadline", "most time one call to Civis may take, retries included"),
    )
    parser.add_argument(
        "--breaker-failures",
        metavar="N",
        help=settings_help("breaker_failures", "pause calls to Civis after N calls in a row fail"),
    )
    parser.add_argument(
        "--breaker-cooldown",
        metavar="SECONDS",
        help=settings_help("breaker_cooldown", "how long calls stay paused, answered at once with an error"),
    )
    parser.add_argument(
        "--allow-files",
        metavar="DIR",
        action="append",
        default=[],
        type=Path,
        help=settings_help(
            "allow_files",
            "let imports_load_file read files under DIR, for clients that do not share their workspace as MCP "
            f"roots; repeat for several (the variable separates them with {os.pathsep!r}). Ignored with --http, "
            "where the tool is not offered",
        ),
    )
    parser.add_argument(
        "--file-max-bytes",
        metavar="BYTES",
        help=settings_help("file_max_bytes", "largest file imports_load_file uploads"),
    )
    parser.add_argument(
        "--file-types",
        metavar="ENDINGS",
        help=settings_help("file_types", "comma-separated file name endings imports_load_file reads"),
    )


def settings_flags() -> frozenset[str]:
    """The settings' flags (``--call-deadline``, ...): the README's table of settings names them."""
    parser = argparse.ArgumentParser(add_help=False)
    _add_settings_arguments(parser)
    return frozenset(option for action in parser._actions for option in action.option_strings)


_TEXT_FLAGS = (
    *("profile", "toolsets", "tools", "confirm_timeout", "call_deadline", "breaker_failures", "breaker_cooldown"),
    *("file_max_bytes", "file_types"),
)
"""Settings flags whose text is passed on as it was given (``Settings`` reads it)."""


def _serve_flags(args: argparse.Namespace) -> list[str]:
    """The settings flags given on the command line, as ``serve`` arguments (for the configurations doctor prints)."""
    flags: list[str] = ["--read-only"] if args.read_only else []
    for name in _TEXT_FLAGS:
        if getattr(args, name) is not None:
            flags += [f"--{name.replace('_', '-')}", getattr(args, name)]
    for tool in args.allow_unconfirmed:
        flags += ["--allow-unconfirmed", tool]
    if args.audit_log is not None:
        flags += ["--audit-log", str(args.audit_log.resolve())]
    if args.audit_required:
        flags.append("--audit-required")
    for directory in args.allow_files:
        flags += ["--allow-files", str(directory.expanduser().resolve())]
    return flags


def _configure_logging(level: str, settings: Settings, hosted: HostedSettings | None = None) -> None:
    # Logs go to stderr: stdout belongs to the MCP protocol. Every record passes the redactor first.
    handler = logging.StreamHandler(sys.stderr)
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if hosted is None:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter(Redactor(key)))
    else:  # over HTTP: JSON lines, redacted of every caller key the process has checked (and its own)
        from civis_mcp.api.callers import CALLER_KEYS
        from civis_mcp.hosted.logs import JsonFormatter

        if key:
            CALLER_KEYS.remember(key)
        handler.setFormatter(JsonFormatter(hosted.replica, CALLER_KEYS))
        handler.addFilter(RedactingFilter(CALLER_KEYS))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO, and httpcore every step of it at DEBUG: that floods a client's log. The
    # request lines worth reading are civis_mcp.api's own, at DEBUG (verb, path, status, time).
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _settings_from(args: argparse.Namespace) -> Settings:
    """Environment first, then the flags given on the command line; ``Settings`` checks both in one go."""
    flags: dict[str, object] = {name: getattr(args, name) for name in _TEXT_FLAGS if getattr(args, name) is not None}
    for name in ("toolsets", "tools"):  # a flag given empty offers none (where an empty variable means unset)
        if name in flags:
            flags[name] = split_names(getattr(args, name)) or frozenset()
    if args.read_only:
        flags["read_only"] = True
    if args.allow_unconfirmed:
        flags["allow_unconfirmed"] = ",".join(args.allow_unconfirmed)
    if args.audit_log is not None:
        flags["audit_log"] = args.audit_log
    if args.audit_required:
        flags["audit_required"] = True
    if args.allow_files:
        flags["allow_files"] = args.allow_files
    if getattr(args, "http", None) is not None:  # doctor has no --http
        flags["transport"] = "http"
    return Settings.from_env(**flags)


def serve_settings(argv: Sequence[str]) -> Settings:
    """The checked settings ``civis-mcp serve ARGV`` runs with: the environment, then the flags. A server built from
    them (``server.build_server``) is the one ``serve`` runs, minus its transport. Raises ``ValueError`` or
    ``ConfigurationError`` for what ``serve`` refuses with exit status 2."""
    return _checked_settings(_parser().parse_args(["serve", *argv]))


def _checked_settings(args: argparse.Namespace) -> Settings:
    from civis_mcp.catalog import check_settings

    settings = _settings_from(args)
    check_settings(settings)
    return settings


def _serve(args: argparse.Namespace) -> int:
    from civis_mcp.catalog import selected_entries

    try:
        settings = _checked_settings(args)
        hosted = _hosted_from(args) if args.http is not None else None
    except (ConfigurationError, ValueError) as exc:
        for line in str(exc).splitlines():  # one line per bad setting, each saying whose it is
            print(f"civis-mcp: {line}", file=sys.stderr)
        return 2
    _configure_logging(args.log_level, settings, hosted)
    log = logging.getLogger("civis_mcp")
    if hosted is not None and hosted.auth != "none":
        if settings.api_key is not None and not args.sandbox:
            log.warning(
                "CIVIS_API_KEY is set but not used: with --auth %s every call uses its caller's key.", hosted.auth
            )
        settings = settings.model_copy(update={"api_key": None})
    elif settings.api_key is None and not args.sandbox:  # the sandbox brings its own key
        log.warning("CIVIS_API_KEY is not set: every tool call will answer with an error saying so until it is.")
    if settings.allow_unconfirmed:
        log.warning(
            "These destructive tools run WITHOUT a human's confirmation (--allow-unconfirmed): %s",
            ", ".join(sorted(settings.allow_unconfirmed)),
        )
    if settings.allow_files and settings.transport == "http":
        log.warning("--allow-files is ignored over HTTP: imports_load_file is not offered to remote callers.")
    elif settings.allow_files:
        log.info("imports_load_file may read files under: %s", ", ".join(str(p) for p in settings.allow_files))
    if settings.audit_log is not None:
        try:
            AuditLog(settings.audit_log, Redactor(None)).check_writable()
        except OSError as exc:
            log.error(
                "The audit log %s cannot be written (%s); write and guarded calls will "
                + ("be refused" if settings.audit_required else "not be audited")
                + " until it can.",
                settings.audit_log,
                exc,
            )
    log.info(
        "civis-mcp %s serving %d tools%s for %s over %s",
        __version__,
        len(selected_entries(settings)),
        " (read-only)" if settings.read_only else "",
        "the sandbox" if args.sandbox else settings.api_endpoint,
        f"HTTP at {args.http}" if args.http else "stdio",
    )
    from civis_mcp.server import build_server  # the SDK is loaded only once the settings are known to be good

    if hosted is not None:
        from civis_mcp.addresses import is_loopback

        log.info("HTTP protection: %s", hosted.protection_summary())
        if hosted.auth == "none" and hosted.insecure_no_auth and not is_loopback(hosted.host):
            log.warning(
                "--insecure-no-auth: serving on %s WITHOUT authentication; anyone who reaches the port acts with "
                "this server's Civis key.",
                hosted.host,
            )
    if not args.sandbox:
        _run(build_server, settings, hosted)
        return 0
    from pydantic import SecretStr

    from civis_mcp.sandbox import SandboxConfig, running_sandbox

    with ExitStack() as stack:
        try:
            config = SandboxConfig.from_env(db_path=args.sandbox_db)
            sandbox = stack.enter_context(running_sandbox(config))
        except Exception as exc:  # said on stderr, the one place a stdio client's user can read it
            where = f" from {args.sandbox_db} (delete it to start over)" if args.sandbox_db else ""
            log.error("The embedded sandbox could not start%s: %s", where, exc)
            return 2
        stored = f"state in {config.db_path}, warehouse in {config.resolved_warehouse_path}" if config.db_path else ""
        log.info("using the embedded sandbox at %s%s", sandbox.url, f" ({stored})" if stored else "")
        key = None if hosted is not None and hosted.auth != "none" else SecretStr(sandbox.api_key)
        sandboxed = settings.model_copy(update={"api_key": key, "api_endpoint": sandbox.url})
        _run(build_server, sandboxed, hosted)
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from civis_mcp.catalog import check_settings
    from civis_mcp.doctor import run_doctor

    settings: Settings | Exception
    try:
        settings = _settings_from(args)
        check_settings(settings)
    except (ConfigurationError, ValueError) as exc:
        settings = exc
    return run_doctor(settings, serve_flags=_serve_flags(args), sandbox=args.sandbox, expect=args.expect)


def _hosted_from(args: argparse.Namespace) -> HostedSettings:
    """The HTTP settings: environment first, then the flags."""
    from civis_mcp.hosted.settings import HostedSettings, parse_bind, split_list

    host, port = parse_bind(args.http)
    return HostedSettings.from_env(
        host=host,
        port=port,
        auth=args.auth,
        insecure_no_auth=args.insecure_no_auth,
        allowed_hosts=split_list(args.allowed_hosts) if args.allowed_hosts is not None else None,
        allowed_origins=split_list(args.allowed_origins) if args.allowed_origins is not None else None,
    )


def _run(build: Any, settings: Settings, hosted: HostedSettings | None) -> None:
    """Serve over stdio, or over streamable HTTP when ``--http [HOST:]PORT`` was given."""
    if hosted is None:
        server = build(settings)
        _freeze_start_up_objects()
        server.run("stdio")
        return
    import uvicorn

    from civis_mcp.hosted.app import Hosting, http_app

    hosting = Hosting.create(hosted)
    app = http_app(build(settings, hosting=hosting), hosting, settings.api_endpoint)
    _freeze_start_up_objects()
    # log_config=None: uvicorn's own lines go through the JSON, redacting handler above.
    uvicorn.Server(uvicorn.Config(app, host=hosted.host, port=hosted.port, log_config=None)).run()


def _freeze_start_up_objects() -> None:
    """What start-up built (the SDK, pydantic's models, the catalog) lives as long as the process: moved out of the
    garbage collector's sight, it is not walked again by every full collection while the server serves."""
    gc.collect()
    gc.freeze()


def _tools() -> int:
    from civis_mcp.gateway import GATEWAY
    from civis_mcp.operations import OPERATIONS
    from civis_mcp.workflows import WORKFLOWS

    width = max(len(op.tool_name) for op in OPERATIONS)
    route = max(len(op.verb) + 1 + len(op.path) for op in OPERATIONS)
    for op in sorted(OPERATIONS, key=lambda op: op.tool_name):
        print(f"{op.tool_name:<{width}}  {op.verb + ' ' + op.path:<{route}}  {op.safety_class.value}")
    for wf in WORKFLOWS:
        kind = "(workflow: reads only)" if wf.safety.value == "read" else "(workflow)"
        print(f"{wf.name:<{width}}  {kind:<{route}}  {wf.safety.value}")
    for wf in GATEWAY:
        print(f"{wf.name:<{width}}  {'(gateway: compact profile)':<{route}}  {wf.safety.value}")
    return 0


def _manifest(args: argparse.Namespace) -> int:
    from civis_mcp import manifest

    if args.check:
        problems = manifest.check(args.dir)
        if problems:
            print(f"{args.dir} is out of date with the code (run `civis-mcp manifest`):", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"{args.dir} matches the code.")
        return 0
    changed = manifest.write(args.dir)
    print(f"{len(changed)} manifest file(s) updated in {args.dir}." if changed else f"{args.dir} already up to date.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sandbox"]:
        from civis_mcp.sandbox import main_sandbox

        return main_sandbox(arguments[1:])
    args = _parser().parse_args(arguments)
    if args.command == "serve":
        return _serve(args)
    if args.command == "tools":
        return _tools()
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "keys":
        from civis_mcp.oauth.admin import main_keys

        return main_keys(args)
    if args.command == "auth-server":
        from civis_mcp.oauth.authserver_cli import main_auth_server

        return main_auth_server(args)
    if args.command == "demo":
        from civis_mcp.demo import list_failures, main_demo

        if args.list:
            return list_failures(sys.stdout)
        _freeze_start_up_objects()
        return main_demo()
    return _manifest(args)


if __name__ == "__main__":
    sys.exit(main())
