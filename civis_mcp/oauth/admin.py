"""``civis-mcp keys``: the operator's view of the OAuth mode's key store (list, revoke, reseal, new ring key).

Listing and revoking need only the store; resealing needs the key ring (``CIVIS_MCP_KEY_RING``). No command prints a
Civis key, sealed or not.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_keys_parser", "main_keys"]


def add_keys_parser(commands: Any) -> None:
    keys = commands.add_parser(
        "keys",
        help="the OAuth mode's bound Civis keys: list, revoke, reseal after a key ring rotation, new-ring-key",
        description="Manage the Civis keys people bound on /connect (serve --auth oauth). The store is "
        "CIVIS_MCP_KEY_STORE (or --store); reseal needs CIVIS_MCP_KEY_RING.",
    )
    keys.add_argument(
        "--store",
        help="the key store: a SQLite file or a postgresql:// URL (default: CIVIS_MCP_KEY_STORE, else "
        "~/.local/share/civis-mcp/keys.sqlite)",
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    actions.add_parser("migrate", help="create or upgrade the key store's tables (a start does it too)")
    actions.add_parser("list", help="who has a key bound: issuer, subject, Civis user id, when, which ring key")
    revoke = actions.add_parser("revoke", help="remove one person's binding (their next call asks them to connect)")
    revoke.add_argument("--issuer", required=True, help="the issuer, as `keys list` shows it")
    revoke.add_argument("--subject", required=True, help="the subject, as `keys list` shows it")
    actions.add_parser("reseal", help="seal every key again under the first key of CIVIS_MCP_KEY_RING")
    actions.add_parser("new-ring-key", help="print a new random key for CIVIS_MCP_KEY_RING")


def main_keys(args: argparse.Namespace) -> int:
    # Loaded here, not at the top: the parser is built on every start of `serve`, which must not pay for them.
    from civis_mcp.oauth.keyring import KeyRing, SealError, new_ring_key
    from civis_mcp.oauth.keystore import SCHEMA_VERSION, KeyStore, is_database_url
    from civis_mcp.oauth.settings import default_key_store

    if args.keys_command == "new-ring-key":
        print(new_ring_key())
        return 0
    location = args.store or os.environ.get("CIVIS_MCP_KEY_STORE", "").strip() or str(default_key_store())
    if not is_database_url(location) and args.keys_command != "migrate" and not Path(location).expanduser().exists():
        print(f"civis-mcp: no key store at {location} (set CIVIS_MCP_KEY_STORE or --store).", file=sys.stderr)
        return 2
    try:
        ring = KeyRing.parse(os.environ["CIVIS_MCP_KEY_RING"]) if args.keys_command == "reseal" else None
        store = KeyStore(location, ring)
    except KeyError:
        print("civis-mcp: reseal needs CIVIS_MCP_KEY_RING (the new key first, then the old ones).", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"civis-mcp: {exc}", file=sys.stderr)
        return 2
    if args.keys_command == "migrate":
        print(f"the key store {store.where} is at schema version {SCHEMA_VERSION}")
        return 0
    if args.keys_command == "list":
        print("issuer\tsubject\tcivis_user_id\tbound_at\tring_key_id")
        for info in store.list_now():
            print(f"{info.issuer}\t{info.subject}\t{info.civis_user_id}\t{info.bound_at}\t{info.ring_key_id}")
        return 0
    if args.keys_command == "revoke":
        if store.revoke_now(args.issuer, args.subject):
            print(f"revoked the Civis key of {args.subject} ({args.issuer})")
            return 0
        print(f"civis-mcp: no key is bound for {args.subject} at {args.issuer} (see `keys list`).", file=sys.stderr)
        return 1
    try:
        count = store.reseal_now()
    except SealError as exc:
        print(f"civis-mcp: a binding could not be opened: {exc}", file=sys.stderr)
        return 1
    print(f"resealed {count} binding(s) under ring key {store.sealing_key_id}")
    return 0
