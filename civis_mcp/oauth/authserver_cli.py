"""``civis-mcp auth-server``: its flags, and serving it with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_auth_server_parser", "main_auth_server"]


def add_auth_server_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "auth-server",
        help="a small OAuth authorization server for --auth oauth, for organisations without an identity provider",
        description="Signs people in by proving a Civis key (checked with GET /users/me, not kept) and issues "
        "short-lived JWT access tokens for one civis-mcp resource. Clients are pre-registered (--clients).",
    )
    parser.add_argument("--http", metavar="[HOST:]PORT", help="where to listen (default 127.0.0.1:9000)")
    parser.add_argument(
        "--issuer", help="this server's public URL, e.g. https://auth.example.org (env CIVIS_MCP_AUTH_ISSUER)"
    )
    parser.add_argument(
        "--resource",
        help="the civis-mcp resource URL the tokens are for, e.g. "
        "https://mcp.example.org/mcp (env CIVIS_MCP_RESOURCE_URL)",
    )
    parser.add_argument(
        "--clients",
        type=Path,
        help='JSON list of clients: [{"client_id": "...", "redirect_uris": ["..."]}] (env CIVIS_MCP_AUTH_CLIENTS)',
    )
    parser.add_argument(
        "--signing-key",
        type=Path,
        help="PEM private key (EC P-256 or RSA) that signs the tokens (env CIVIS_MCP_AUTH_SIGNING_KEY)",
    )
    parser.add_argument("--scopes", help="comma-separated scopes it grants (env CIVIS_MCP_OAUTH_SCOPES)")
    parser.add_argument(
        "--new-signing-key",
        type=Path,
        metavar="PATH",
        help="write a new EC P-256 signing key to PATH (mode 600) and exit",
    )


def main_auth_server(args: argparse.Namespace) -> int:
    from civis_mcp.config import DEFAULT_API_ENDPOINT
    from civis_mcp.hosted.settings import parse_bind
    from civis_mcp.oauth.authserver import AuthServerSettings, create_auth_app, load_clients, new_signing_key

    if args.new_signing_key is not None:
        path: Path = args.new_signing_key
        if path.exists():
            print(f"civis-mcp: {path} exists; not overwriting a signing key.", file=sys.stderr)
            return 2
        path.touch(mode=0o600)
        path.write_bytes(new_signing_key())
        print(f"wrote a new signing key to {path}")
        return 0
    env = os.environ

    def value(flag: Any, variable: str, example: str) -> str:
        found = str(flag) if flag is not None else env.get(variable, "").strip()
        if not found:
            raise ValueError(f"auth-server needs --{variable.split('_')[-1].lower()} or {variable} (e.g. {example}).")
        return found

    try:
        host, port = parse_bind(args.http or "127.0.0.1:9000")
        key_path = Path(value(args.signing_key, "CIVIS_MCP_AUTH_SIGNING_KEY", "signing-key.pem"))
        try:
            pem = key_path.read_bytes()
        except OSError as exc:
            raise ValueError(
                f"cannot read the signing key {key_path} ({exc.strerror}); make one with "
                "civis-mcp auth-server --new-signing-key PATH."
            ) from None
        settings = AuthServerSettings(
            issuer=value(args.issuer, "CIVIS_MCP_AUTH_ISSUER", "https://auth.example.org"),
            resource=value(args.resource, "CIVIS_MCP_RESOURCE_URL", "https://mcp.example.org/mcp"),
            clients=load_clients(Path(value(args.clients, "CIVIS_MCP_AUTH_CLIENTS", "clients.json"))),
            signing_key_pem=pem,
            api_endpoint=env.get("CIVIS_API_ENDPOINT", "").strip() or DEFAULT_API_ENDPOINT,
            scopes=tuple(s for s in re.split(r"[\s,]+", args.scopes or env.get("CIVIS_MCP_OAUTH_SCOPES", "")) if s),
        )
        app = create_auth_app(settings)
    except ValueError as exc:
        print(f"civis-mcp: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("civis_mcp.auth_server").info(
        "civis-mcp auth-server for %s at %s, %d client(s)", settings.resource, settings.issuer, len(settings.clients)
    )
    # No access log: its lines would hold authorization codes and states from query strings.
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)).run()
    return 0
