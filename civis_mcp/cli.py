"""The ``civis-mcp`` command: serve | tools | manifest."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from civis_mcp import __version__
from civis_mcp.api.redaction import RedactingFilter, Redactor
from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civis-mcp", description="MCP server for Civis Platform imports.")
    parser.add_argument("--version", action="version", version=f"civis-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the MCP server over stdio (stdout carries only MCP messages)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands.add_parser("tools", help="print the tool catalog: name, HTTP verb and path, safety class")
    manifest = commands.add_parser("manifest", help="write tool_manifests/ from the code (or --check it)")
    manifest.add_argument("--check", action="store_true", help="exit 1 when tool_manifests/ differs from the code")
    manifest.add_argument("--dir", type=Path, default=Path("tool_manifests"), help="manifest directory")
    return parser


def _configure_logging(level: str, settings: Settings) -> None:
    # Logs go to stderr: stdout belongs to the MCP protocol. Every record passes the redactor first.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(settings.api_key.get_secret_value() if settings.api_key else None)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    _configure_logging(args.log_level, settings)
    log = logging.getLogger("civis_mcp")
    if settings.api_key is None:
        log.warning("CIVIS_API_KEY is not set: every tool call will answer with an error saying so until it is.")
    log.info("civis-mcp %s serving %d tools for %s over stdio", __version__, len(OPERATIONS), settings.api_endpoint)
    from civis_mcp.server import build_server  # imported here: `civis-mcp tools` does not need the SDK server

    build_server(settings).run("stdio")
    return 0


def _tools() -> int:
    width = max(len(op.tool_name) for op in OPERATIONS)
    route = max(len(op.verb) + 1 + len(op.path) for op in OPERATIONS)
    for op in sorted(OPERATIONS, key=lambda op: op.tool_name):
        print(f"{op.tool_name:<{width}}  {op.verb + ' ' + op.path:<{route}}  {op.safety_class.value}")
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
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "tools":
        return _tools()
    return _manifest(args)


if __name__ == "__main__":
    sys.exit(main())
