"""The OAuth mode's parts on their own: the key ring, the key store, the signed values, the settings' errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from civis_mcp.hosted.settings import HostedSettings
from civis_mcp.oauth.keyring import KeyRing, SealError, new_ring_key
from civis_mcp.oauth.keystore import KeyStore, store_where
from civis_mcp.oauth.settings import OAuthSettings
from civis_mcp.oauth.signed import Signer
from tests.conftest import Command
from tests.postgres_support import postgres_server

ISSUER = "https://login.example.org/realms/staff"
KEY = "canary-civis-key-0123456789"


def test_a_sealed_key_opens_only_for_its_person_and_under_its_ring() -> None:
    old, new = new_ring_key(), new_ring_key()
    ring = KeyRing.parse(old)
    sealed = ring.seal(KEY, b"alice")
    assert KEY.encode() not in sealed
    assert ring.unseal(sealed, b"alice") == KEY
    with pytest.raises(SealError):
        ring.unseal(sealed, b"bob")  # moved to another person's row
    with pytest.raises(SealError):
        ring.unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"alice")  # tampered with
    rotated = KeyRing.parse(f"{new},{old}")
    assert rotated.unseal(sealed, b"alice") == KEY  # all unseal
    assert rotated.sealing_key_id != ring.sealing_key_id  # the first seals
    with pytest.raises(SealError):
        KeyRing.parse(new).unseal(sealed, b"alice")


@pytest.mark.parametrize("raw", ["", "short", "A" * 44 + ",nope"])
def test_a_bad_key_ring_says_how_to_make_one(raw: str) -> None:
    with pytest.raises(ValueError, match=r"CIVIS_MCP_KEY_RING.*new-ring-key"):
        KeyRing.parse(raw)


def test_the_store_reseals_under_a_rotated_ring_and_lists_without_the_ring(tmp_path: Path) -> None:
    old = new_ring_key()
    path = tmp_path / "keys.sqlite"
    KeyStore(path, KeyRing.parse(old)).bind_now(ISSUER, "alice", 1001, KEY)
    rotated = KeyStore(path, KeyRing.parse(f"{new_ring_key()},{old}"))
    assert rotated.reseal_now() == 1
    assert rotated.reseal_now() == 0
    binding = rotated.lookup_now(ISSUER, "alice")
    assert binding is not None and binding.key == KEY and binding.civis_user_id == 1001
    assert KEY not in repr(binding)
    listed = KeyStore(path, None).list_now()
    assert [(b.subject, b.ring_key_id) for b in listed] == [("alice", rotated.sealing_key_id)]
    with pytest.raises(ValueError, match="CIVIS_MCP_KEY_RING"):
        KeyStore(path, None).lookup_now(ISSUER, "alice")
    # A sealed key copied into another person's row does not open there.
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO bindings SELECT issuer, 'mallory', civis_user_id, bound_at, ring_key_id, sealed_key "
            "FROM bindings WHERE subject = 'alice'"
        )
    with pytest.raises(SealError):
        rotated.lookup_now(ISSUER, "mallory")


def test_a_link_is_spent_once(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite", KeyRing.parse(new_ring_key()))
    assert store.spend_link_now("link-1", 2**31)
    assert not store.spend_link_now("link-1", 2**31)
    assert store.link_spent_now("link-1")


def test_signed_values_are_for_one_purpose_and_one_ring() -> None:
    ring = KeyRing.parse(new_ring_key())
    links, sessions = Signer(ring, "connect-link", 60), Signer(ring, "connect-session", 60)
    token = links.sign({"sub": "alice"})
    assert links.open(token) is not None
    assert sessions.open(token) is None
    assert Signer(KeyRing.parse(new_ring_key()), "connect-link", 60).open(token) is None
    assert links.open(token + "x") is None


def _env(**overrides: str) -> dict[str, str]:
    return {
        "CIVIS_MCP_OAUTH_ISSUER": ISSUER,
        "CIVIS_MCP_RESOURCE_URL": "https://mcp.example.org/mcp",
        "CIVIS_MCP_KEY_RING": new_ring_key(),
        **overrides,
    }


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (_env(CIVIS_MCP_OAUTH_ISSUER=""), "needs CIVIS_MCP_OAUTH_ISSUER"),
        (_env(CIVIS_MCP_RESOURCE_URL=""), "needs CIVIS_MCP_RESOURCE_URL"),
        (_env(CIVIS_MCP_KEY_RING=""), "needs CIVIS_MCP_KEY_RING"),
        (_env(CIVIS_MCP_RESOURCE_URL="mcp.example.org/mcp"), "CIVIS_MCP_RESOURCE_URL must be an http"),
        (_env(CIVIS_MCP_OAUTH_SCOPES='a "b"'), "not a valid OAuth scope"),
        (_env(CIVIS_MCP_CONNECT_LINK_SECONDS="5"), "from 60 to 3600"),
    ],
)
def test_oauth_settings_name_the_variable_and_the_fix(env: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        OAuthSettings.from_env(env)


def test_oauth_settings_accept_the_resource_host_and_origin() -> None:
    env = _env(CIVIS_MCP_AUTH="oauth", CIVIS_MCP_OAUTH_SCOPES="a, b", CIVIS_MCP_OAUTH_CLIENT_SECRET="canary-secret")
    hosted = HostedSettings.from_env(env, host="0.0.0.0")
    assert hosted.oauth is not None and hosted.oauth.scopes == ("a", "b")
    security = hosted.transport_security()
    assert "mcp.example.org" in (security.allowed_hosts or [])
    assert "https://mcp.example.org" in (security.allowed_origins or [])
    for secret in (env["CIVIS_MCP_KEY_RING"], "canary-secret"):
        assert secret not in repr(hosted) and secret not in hosted.protection_summary()
    assert f"OAuth access tokens from {ISSUER}" in hosted.protection_summary()


def test_serve_auth_oauth_without_an_issuer_refuses_to_start(command: Command) -> None:
    done = command("serve", "--http", "127.0.0.1:1", "--auth", "oauth")
    assert done.returncode == 2
    assert "--auth oauth needs CIVIS_MCP_OAUTH_ISSUER" in done.stderr


def test_store_where_hides_a_database_password() -> None:
    assert store_where("postgresql://civis:s3cret@db.example.org:5432/keys") == (
        "postgresql://civis@db.example.org:5432/keys"
    )
    assert store_where("/var/lib/civis-mcp/keys.sqlite") == "/var/lib/civis-mcp/keys.sqlite"


def test_a_postgresql_store_is_shared_by_replicas(command: Command) -> None:
    """Two stores on one PostgreSQL (two replicas): a binding made on one is read on the other, a link spent on one
    is spent on both, the table holds only sealed keys, and the schema is created once."""
    ring = new_ring_key()
    with postgres_server() as server:
        url = server.url()
        first, second = KeyStore(url, KeyRing.parse(ring)), KeyStore(url, KeyRing.parse(ring))
        assert first.migrate_now() == 1  # already there: the second store found it too
        first.bind_now(ISSUER, "alice", 1001, KEY)
        binding = second.lookup_now(ISSUER, "alice")
        assert binding is not None and binding.key == KEY
        assert first.spend_link_now("link-1", 2**31)
        assert not second.spend_link_now("link-1", 2**31)
        import psycopg

        with psycopg.connect(url) as db:
            (sealed,) = db.execute("SELECT sealed_key FROM bindings").fetchone() or (b"",)
        assert KEY.encode() not in bytes(sealed) and len(bytes(sealed)) > len(KEY)
        listed = command("keys", "--store", url, "list")
        assert listed.returncode == 0, listed.stderr
        assert "alice" in listed.stdout and KEY not in listed.stdout
        assert second.revoke_now(ISSUER, "alice")
        assert first.lookup_now(ISSUER, "alice") is None
