"""The OAuth mode at its real boundary: ``civis-mcp serve --http --auth oauth`` in a subprocess, a local identity
provider (JWKS, metadata, authorization and token endpoints) started by the test, and a sandbox that records whose
key each request carried. Clients are the SDK's, over streamable HTTP, and plain HTTP for the browser's part.

The tests run in order against one server: the first ones are refused at the door, then Alice connects her key,
Bob his, and the last ones revoke and rotate.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from civis_mcp.oauth.keyring import new_ring_key
from civis_mcp.sandbox import demo as d
from tests import loopback
from tests.conftest import Command, Done
from tests.hosted_support import (
    ALICE_KEY,
    BAD_KEY,
    BOB_KEY,
    free_port,
    initialize,
    key_forms,
    serve,
    text_of,
)
from tests.oauth_support import (
    ALICE,
    BOB,
    RING_KEY,
    SCOPE,
    Tokens,
    World,
    bearer,
    client,
    connect_link,
    oauth_world,
    rsa_key,
    stored_subjects,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with oauth_world(tmp_path_factory.mktemp("oauth")) as running:
        yield running


# --- the door: 401 with metadata to follow, 403 for scopes, nothing reaching Civis ----------------------------------


def test_no_token_gets_401_with_resource_metadata_that_names_the_issuer(world: World) -> None:
    answer = initialize(world.url, {})
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    assert metadata_url == f"{world.origin}/.well-known/oauth-protected-resource/mcp"
    for url in (metadata_url, f"{world.origin}/.well-known/oauth-protected-resource"):
        metadata = loopback.get(url, timeout=10).json()
        assert metadata["resource"] == world.url
        assert metadata["authorization_servers"] == [world.issuer.url]
        assert metadata["scopes_supported"] == [SCOPE]


def test_bad_tokens_are_refused_and_nothing_reaches_civis(world: World) -> None:
    mark = world.sandbox.requests.mark()
    attacker = rsa_key()
    refused = {
        "expired": world.token(ALICE, lifetime=-120),
        "wrong audience": world.issuer.token(ALICE, audience="http://127.0.0.1:1/mcp"),
        "wrong issuer": world.token(ALICE, issuer="http://127.0.0.1:1"),
        "another signer, same kid": world.token(ALICE, key=attacker),
        "unknown kid": world.token(ALICE, key=attacker, kid="other"),
        "hmac": __import__("jwt").encode(
            {"iss": world.issuer.url, "sub": ALICE, "aud": world.url, "exp": 2**31, "scope": SCOPE},
            "a-shared-secret-of-thirty-two-bytes!",
            algorithm="HS256",
            headers={"kid": world.issuer.kid},
        ),
        "unsigned": base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        + "."
        + base64.urlsafe_b64encode(
            f'{{"iss":"{world.issuer.url}","sub":"{ALICE}","aud":"{world.url}","exp":{2**31}}}'.encode()
        )
        .decode()
        .rstrip("=")
        + ".",
        "not a jwt": "not-a-jwt",
        "a civis key as bearer": ALICE_KEY,
    }
    for why, token in refused.items():
        answer = initialize(world.url, bearer(token))
        assert answer.status_code == 401, (why, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer "), why
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"], why
    answer = initialize(world.url, bearer(world.token(ALICE, scope="openid profile")))
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    # In the query string a token is not looked at, however good.
    answer = initialize(f"{world.url}?access_token={world.token(ALICE)}", {})
    assert answer.status_code == 401
    assert world.sandbox.requests.since(mark) == []


def test_a_good_token_gets_in(world: World) -> None:
    assert initialize(world.url, bearer(world.token(ALICE))).status_code == 200


def test_readiness_checks_the_key_store_and_the_identity_provider(world: World) -> None:
    answer = loopback.get(f"{world.origin}/readyz", timeout=10)
    assert answer.status_code == 200, answer.text
    checks = answer.json()["checks"]
    assert checks["key_store"] == "ok" and checks["identity_provider"] == "ok"


# --- binding a key on /connect ---------------------------------------------------------------------------------------


async def list_imports(world: World, subject: str) -> set[int]:
    async with client(world, world.token(subject)) as mcp:
        result = await mcp.call_tool("imports_list", {})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return {item["id"] for item in result.structured_content["items"]}


class Browser:
    """The person's browser: cookies, and redirects followed by hand (so each hop can be looked at)."""

    def __init__(self, world: World, person: str | None) -> None:
        self.world = world
        self.person = person
        self.http = loopback.client(timeout=10)

    def open(self, url: str) -> httpx.Response:
        """Open a link; sign in at the identity provider as ``person`` on the way."""
        answer = self.http.get(url)
        while answer.status_code in (302, 303):
            target = answer.headers["location"]
            if target.startswith(self.world.issuer.url):
                self.world.issuer.signed_in = self.person
            answer = self.http.get(target)
        return answer

    def post(self, path: str, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.http.post(f"{self.world.origin}{path}", data=form, **kwargs)


def csrf_of(page: httpx.Response) -> str:
    return page.text.split('name="csrf" value="')[1].split('"')[0]


async def _alice_connects_her_key_and_her_calls_carry_it(world: World) -> None:
    link = await connect_link(world, ALICE)
    browser = Browser(world, ALICE)
    page = browser.open(link)
    assert page.status_code == 200, page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert 'type="password"' in page.text
    csrf = csrf_of(page)
    mark = world.sandbox.requests.mark()

    # A bad key: checked with Civis, refused, nothing stored.
    refused = browser.post("/connect/key", {"csrf": csrf, "key": BAD_KEY})
    assert refused.status_code == 400
    assert "Civis rejected this key" in refused.text
    assert BAD_KEY not in refused.text
    assert stored_subjects(world) == []
    # Without the page's CSRF token, or from another origin: refused before Civis is asked.
    assert browser.post("/connect/key", {"csrf": "forged", "key": ALICE_KEY}).status_code == 403
    foreign = browser.post(
        "/connect/key", {"csrf": csrf, "key": ALICE_KEY}, headers={"Origin": "http://attacker.example"}
    )
    assert foreign.status_code == 403
    # Another browser (no session cookie) with the right CSRF token: refused.
    assert loopback.post(f"{world.origin}/connect/key", data={"csrf": csrf, "key": ALICE_KEY}).status_code == 401
    assert stored_subjects(world) == []
    assert [seen.who for seen in world.sandbox.requests.since(mark)] == ["bad"]

    saved = browser.post("/connect/key", {"csrf": csrf, "key": ALICE_KEY})
    assert saved.status_code == 200, saved.text
    assert f"Civis user {d.DEMO_USER_ID}" in saved.text
    assert ALICE_KEY not in saved.text
    assert stored_subjects(world) == [ALICE]

    mark = world.sandbox.requests.mark()
    alices = await list_imports(world, ALICE)
    seen = world.sandbox.requests.since(mark)
    assert seen and {item.who for item in seen} == {"alice"}
    assert d.DEMO_DBSYNC_IMPORT_ID in alices


async def _a_link_opens_once_and_only_for_its_own_person(world: World) -> None:
    link = await connect_link(world, BOB)
    # Alice signs in on Bob's link (it was forwarded to her): refused, nothing stored, the link not spent.
    intruder = Browser(world, ALICE)
    page = intruder.open(link)
    assert page.status_code == 403
    assert "someone else" in page.text
    assert 'type="password"' not in page.text
    assert stored_subjects(world) == [ALICE]
    # Bob opens it: he may bind his key; opened again (replayed), it is refused.
    bob = Browser(world, BOB)
    page = bob.open(link)
    assert page.status_code == 200, page.text
    assert bob.post("/connect/key", {"csrf": csrf_of(page), "key": BOB_KEY}).status_code == 200
    assert Browser(world, BOB).open(link).status_code == 410
    # A link that is not one of ours, or tampered with.
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert Browser(world, BOB).open(tampered).status_code == 400
    assert stored_subjects(world) == [ALICE, BOB]

    mark = world.sandbox.requests.mark()
    bobs = await list_imports(world, BOB)
    alices = await list_imports(world, ALICE)
    assert d.DEMO_PRIVATE_IMPORT_ID in bobs and d.DEMO_PRIVATE_IMPORT_ID not in alices
    assert d.DEMO_DBSYNC_IMPORT_ID in alices and d.DEMO_DBSYNC_IMPORT_ID not in bobs
    assert {item.who for item in world.sandbox.requests.since(mark)} == {"alice", "bob"}


async def _the_sdk_oauth_client_discovers_signs_in_and_calls_with_the_bound_key(world: World) -> None:
    """Discovery (401 -> resource metadata -> issuer metadata) -> authorization (PKCE, resource) -> token -> call."""
    redirect_uri = "http://127.0.0.1:1/callback"  # the client's own; the browser's visit is simulated below
    redirected: list[httpx.Response] = []

    async def visit(authorization_url: str) -> None:
        world.issuer.signed_in = ALICE
        query = parse_qs(urlsplit(authorization_url).query)
        assert query["resource"] == [world.url]
        assert query["scope"] == [SCOPE]
        async with loopback.async_client() as browser:
            redirected.append(await browser.get(authorization_url))

    async def come_back() -> AuthorizationCodeResult:
        location = urlsplit(redirected[-1].headers["location"])
        query = parse_qs(location.query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])

    storage = Tokens(redirect_uri)
    provider = OAuthClientProvider(
        server_url=world.url,
        client_metadata=OAuthClientMetadata(redirect_uris=[AnyUrl(redirect_uri)], client_name="test"),
        storage=storage,
        redirect_handler=visit,
        callback_handler=come_back,
    )
    mark = world.sandbox.requests.mark()
    http = create_mcp_http_client(auth=provider)
    async with Client(streamable_http_client(world.url, http_client=http)) as mcp:
        result = await mcp.call_tool("imports_list", {})
    assert not result.is_error, text_of(result)
    assert storage.tokens is not None and redirected
    assert {item.who for item in world.sandbox.requests.since(mark)} == {"alice"}


def _the_store_holds_only_sealed_keys(world: World) -> None:
    assert world.store.stat().st_mode & 0o777 == 0o600
    raw = b"".join(path.read_bytes() for path in world.store.parent.glob("keys.sqlite*"))
    for key in (ALICE_KEY, BOB_KEY):
        for form in key_forms(key):
            assert form.encode() not in raw
    with sqlite3.connect(world.store) as db:
        rows = db.execute("SELECT subject, civis_user_id, length(sealed_key) FROM bindings ORDER BY subject").fetchall()
    assert rows[0][:2] == (ALICE, d.DEMO_USER_ID)
    assert rows[1][:2] == (BOB, d.DEMO_OUTSIDER_ID)
    assert all(length > len(ALICE_KEY) for _, _, length in rows)


def keys_cli(command: Command, world: World, *args: str, ring: str | None = None) -> Done:
    """``civis-mcp keys ARGS`` (through its entry point, in this process) on the world's key store."""
    env = {"CIVIS_MCP_KEY_STORE": str(world.store)}
    if ring is not None:
        env["CIVIS_MCP_KEY_RING"] = ring
    return command("keys", *args, env=env)


async def _disconnect_and_operator_revoke_make_the_next_call_ask_again(world: World, command: Command) -> None:
    listed = keys_cli(command, world, "list")
    assert listed.returncode == 0, listed.stderr
    assert ALICE in listed.stdout and BOB in listed.stdout
    assert ALICE_KEY not in listed.stdout
    revoked = keys_cli(command, world, "revoke", "--issuer", world.issuer.url, "--subject", BOB)
    assert revoked.returncode == 0, revoked.stderr
    assert keys_cli(command, world, "revoke", "--issuer", world.issuer.url, "--subject", BOB).returncode == 1
    link = await connect_link(world, BOB)  # asks again, and nothing reached Civis

    # Bob binds again, then disconnects himself on the page.
    bob = Browser(world, BOB)
    page = bob.open(link)
    csrf = csrf_of(page)
    assert bob.post("/connect/key", {"csrf": csrf, "key": BOB_KEY}).status_code == 200
    assert BOB in stored_subjects(world)
    assert bob.post("/connect/disconnect", {"csrf": "forged"}).status_code == 403
    assert BOB in stored_subjects(world)
    gone = bob.post("/connect/disconnect", {"csrf": csrf})
    assert gone.status_code == 200
    assert BOB not in stored_subjects(world)
    await connect_link(world, BOB)


async def _rotating_the_key_ring_keeps_bindings_readable(world: World, command: Command) -> None:
    new = new_ring_key()
    resealed = keys_cli(command, world, "reseal", ring=f"{new},{RING_KEY}")
    assert resealed.returncode == 0, resealed.stderr
    assert "resealed 1 binding" in resealed.stdout
    # The server still has only the old key: Alice's binding, now sealed under the new one, does not open there...
    await connect_link(world, ALICE)
    # ...and a server with the rotated ring reads it.
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {**world.env, "CIVIS_MCP_KEY_RING": f"{new},{RING_KEY}", "CIVIS_MCP_RESOURCE_URL": url}
    with serve(["--http", f"127.0.0.1:{port}", "--auth", "oauth"], env, probe=f"http://127.0.0.1:{port}/healthz"):
        rotated = World(world.sandbox, world.issuer, url, world.store, env, world.process)
        assert d.DEMO_DBSYNC_IMPORT_ID in await list_imports(rotated, ALICE)


def _no_key_or_token_in_the_server_log(world: World) -> None:
    # A refused token of its own (the bad-token test may run on another worker), then the log as written so far.
    assert initialize(world.url, bearer(world.token(ALICE, lifetime=-120))).status_code == 401
    assert world.log is not None
    err = world.log.read_text(encoding="utf-8")
    for key in (ALICE_KEY, BOB_KEY, BAD_KEY):
        for form in key_forms(key):
            assert form not in err
    assert "eyJ" not in err, "no JWT (access token, connect link, cookie) in the log"
    assert "/connect?(query not logged)" in err
    assert "refused a bearer token" in err


async def test_a_key_is_bound_used_rotated_revoked_and_never_logged(world: World, command: Command) -> None:
    """One story on the module's server, in order, because its steps share the key store: Alice binds her key and
    her calls carry it; Bob's link opens once and only for him; the SDK's OAuth client signs in and calls; the store
    holds only sealed keys; Bob is revoked and disconnects; the key ring rotates; no key or token is in the log. (As
    one test it stays whole on one worker; the tests above bind nothing, so they may run before or after it.)"""
    await _alice_connects_her_key_and_her_calls_carry_it(world)
    await _a_link_opens_once_and_only_for_its_own_person(world)
    await _the_sdk_oauth_client_discovers_signs_in_and_calls_with_the_bound_key(world)
    _the_store_holds_only_sealed_keys(world)
    await _disconnect_and_operator_revoke_make_the_next_call_ask_again(world, command)
    await _rotating_the_key_ring_keeps_bindings_readable(world, command)
    _no_key_or_token_in_the_server_log(world)
