"""The OAuth mode at its real boundary: ``civis-mcp serve --http --auth oauth`` in a subprocess, a local identity
provider (JWKS, metadata, authorization and token endpoints) started by the test, and a sandbox that records whose
key each request carried. Clients are the SDK's, over streamable HTTP, and plain HTTP for the browser's part.

The tests run in order against one server: the first ones are refused at the door, then Alice connects her key,
Bob his, and the last ones revoke and rotate.
"""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import URL_ELICITATION_REQUIRED

from civis_mcp.oauth.keyring import new_ring_key
from civis_mcp.sandbox import demo as d
from tests.hosted_support import (
    ALICE_KEY,
    BAD_KEY,
    BOB_KEY,
    ROOT,
    TwoUserSandbox,
    free_port,
    initialize,
    key_forms,
    serve,
    text_of,
    two_user_sandbox,
)
from tests.oauth_support import SCOPE, LocalIssuer, local_issuer, rsa_key

ALICE, BOB = "alice@example.org", "bob@example.org"
RING_KEY = new_ring_key()


@dataclass
class World:
    sandbox: TwoUserSandbox
    issuer: LocalIssuer
    url: str
    store: Path
    env: dict[str, str]
    process: subprocess.Popen[str]

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/mcp")

    def token(self, subject: str, **kwargs: Any) -> str:
        return self.issuer.token(subject, audience=self.url, **kwargs)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = tmp_path_factory.mktemp("oauth") / "keys.sqlite"
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with two_user_sandbox() as sandbox, local_issuer() as issuer:
        env = {
            "CIVIS_API_ENDPOINT": sandbox.sandbox.url,
            "CIVIS_MCP_OAUTH_ISSUER": issuer.url,
            "CIVIS_MCP_RESOURCE_URL": url,
            "CIVIS_MCP_OAUTH_SCOPES": SCOPE,
            "CIVIS_MCP_KEY_STORE": str(store),
            "CIVIS_MCP_KEY_RING": RING_KEY,
        }
        args = ["--http", f"127.0.0.1:{port}", "--auth", "oauth"]
        with serve(args, env, probe=f"http://127.0.0.1:{port}/healthz") as process:
            yield World(sandbox, issuer, url, store, env, process)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client(world: World, token: str) -> Client:
    return Client(streamable_http_client(world.url, http_client=create_mcp_http_client(headers=bearer(token))))


# --- the door: 401 with metadata to follow, 403 for scopes, nothing reaching Civis ----------------------------------


def test_no_token_gets_401_with_resource_metadata_that_names_the_issuer(world: World) -> None:
    answer = initialize(world.url, {})
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    assert metadata_url == f"{world.origin}/.well-known/oauth-protected-resource/mcp"
    for url in (metadata_url, f"{world.origin}/.well-known/oauth-protected-resource"):
        metadata = httpx.get(url, timeout=10).json()
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
