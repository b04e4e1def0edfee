"""``civis-mcp auth-server`` as civis-mcp's identity provider, end to end: the SDK's OAuth client provider discovers
it through civis-mcp's resource metadata, the person signs in by proving their Civis key, the token reaches
civis-mcp, the person binds their key on /connect (signed in again without retyping it), and the call reaches Civis
with their key. Then the refusals at the authorization server. Every part is a real process on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from mcp.shared.exceptions import MCPError
from mcp_types import URL_ELICITATION_REQUIRED
from pydantic import AnyUrl

from civis_mcp.sandbox import demo as d
from tests import loopback
from tests.hosted_support import ALICE_KEY, BAD_KEY, ROOT, TwoUserSandbox, free_port, serve, text_of, two_user_sandbox
from tests.oauth_support import RING_KEY, SCOPE, Tokens

CLIENT_REDIRECT = "http://127.0.0.1/callback"  # loopback: any port (RFC 8252)


@dataclass
class Stack:
    sandbox: TwoUserSandbox
    auth: str
    mcp: str
    store: Path

    @property
    def origin(self) -> str:
        return self.mcp.removesuffix("/mcp")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("auth-server")
    key = directory / "signing-key.pem"
    made = subprocess.run(
        [sys.executable, "-m", "civis_mcp", "auth-server", "--new-signing-key", str(key)],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    auth_port, mcp_port = free_port(), free_port()
    auth, mcp = f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{mcp_port}/mcp"
    clients = directory / "clients.json"
    clients.write_text(
        json.dumps(
            [
                {"client_id": "test-client", "redirect_uris": [CLIENT_REDIRECT]},
                {"client_id": "civis-mcp", "redirect_uris": [f"http://127.0.0.1:{mcp_port}/connect/callback"]},
            ]
        )
    )
    with two_user_sandbox() as sandbox:
        auth_env = {"CIVIS_API_ENDPOINT": sandbox.sandbox.url}
        auth_args = ["--http", f"127.0.0.1:{auth_port}", "--issuer", auth, "--resource", mcp, "--clients",
                     str(clients), "--signing-key", str(key), "--scopes", SCOPE]  # fmt: skip
        mcp_env = {
            "CIVIS_API_ENDPOINT": sandbox.sandbox.url,
            "CIVIS_MCP_OAUTH_ISSUER": auth,
            "CIVIS_MCP_RESOURCE_URL": mcp,
            "CIVIS_MCP_OAUTH_SCOPES": SCOPE,
            "CIVIS_MCP_KEY_STORE": str(directory / "keys.sqlite"),
            "CIVIS_MCP_KEY_RING": RING_KEY,
        }
        with (
            serve(auth_args, auth_env, probe=f"{auth}/healthz", command="auth-server"),
            serve(["--http", f"127.0.0.1:{mcp_port}", "--auth", "oauth"], mcp_env, probe=f"{mcp[:-4]}/healthz"),
        ):
            yield Stack(sandbox, auth, mcp, directory / "keys.sqlite")


class Browser:
    """The person's browser at the authorization server's sign-in page and civis-mcp's /connect."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.http = loopback.client(timeout=10)
        self.pages: list[httpx.Response] = []

    def sign_in(self, url: str) -> httpx.Response:
        """Open an authorization URL; sign in with the key when asked; the response that leaves the server."""
        page = self.http.get(url)
        self.pages.append(page)
        if page.status_code != 200:
            return page
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        action = page.text.split('<form method="post" action="')[1].split('"')[0].replace("&amp;", "&")
        answer = self.http.post(f"{_origin(url)}{action}", data={"csrf": csrf, "key": self.key})
        self.pages.append(answer)
        return answer

    def follow(self, url: str) -> httpx.Response:
        answer = self.http.get(url)
        while answer.status_code in (302, 303):
            answer = self.http.get(answer.headers["location"])
        return answer


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def test_sign_in_with_a_civis_key_bind_it_once_and_call(stack: Stack) -> None:
    browser = Browser(ALICE_KEY)
    left: list[httpx.Response] = []

    async def visit(authorization_url: str) -> None:
        left.append(browser.sign_in(authorization_url))

    async def come_back() -> AuthorizationCodeResult:
        assert left[-1].status_code == 302, left[-1].text
        query = parse_qs(urlsplit(left[-1].headers["location"]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])

    storage = Tokens(CLIENT_REDIRECT)
    provider = OAuthClientProvider(
        server_url=stack.mcp,
        client_metadata=OAuthClientMetadata(redirect_uris=[AnyUrl(CLIENT_REDIRECT)], client_name="test"),
        storage=storage,
        redirect_handler=visit,
        callback_handler=come_back,
    )
    async with Client(streamable_http_client(stack.mcp, http_client=create_mcp_http_client(auth=provider))) as mcp:
        mark = stack.sandbox.requests.mark()
        with pytest.raises(MCPError) as raised:
            await mcp.call_tool("imports_list", {})
        assert raised.value.code == URL_ELICITATION_REQUIRED
        # One sign-in so far: /users/me for the key; nothing else reached Civis.
        assert [(seen.path, seen.who) for seen in stack.sandbox.requests.since(mark)] in ([], [("/users/me", "alice")])
        link = raised.value.data["elicitations"][0]["url"]
        # /connect signs her in again at the authorization server, which remembers her: no key asked there.
        page = browser.follow(link)
        assert page.status_code == 200, page.text
        assert str(page.url).startswith(f"{stack.origin}/connect/callback")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        saved = browser.http.post(f"{stack.origin}/connect/key", data={"csrf": csrf, "key": ALICE_KEY})
        assert f"Civis user {d.DEMO_USER_ID}" in saved.text
        mark = stack.sandbox.requests.mark()
        result = await mcp.call_tool("imports_list", {})
        assert not result.is_error, text_of(result)
        assert {seen.who for seen in stack.sandbox.requests.since(mark)} == {"alice"}

    assert storage.tokens is not None
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["iss"] == stack.auth
    assert claims["aud"] == stack.mcp
    assert claims["sub"] == f"civis-user:{d.DEMO_USER_ID}"
    assert claims["exp"] - claims["iat"] == 600
    assert jwt.get_unverified_header(storage.tokens.access_token)["typ"] == "at+jwt"


def _authorize_url(stack: Stack, **overrides: str) -> str:
    query = {
        "response_type": "code",
        "client_id": "test-client",
        "redirect_uri": "http://127.0.0.1:5555/callback",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "resource": stack.mcp,
        "scope": SCOPE,
        **overrides,
    }
    return f"{stack.auth}/authorize?{urlencode({k: v for k, v in query.items() if v != '-'})}"


def test_the_authorization_server_refuses_what_it_should(stack: Stack) -> None:
    for why, url in {
        "unknown client": _authorize_url(stack, client_id="mallory"),
        "unregistered redirect": _authorize_url(stack, redirect_uri="https://attacker.example/cb"),
        "no PKCE": _authorize_url(stack, code_challenge="-", code_challenge_method="-"),
        "plain PKCE": _authorize_url(stack, code_challenge_method="plain"),
        "another resource": _authorize_url(stack, resource="https://elsewhere.example/mcp"),
    }.items():
        answer = loopback.get(url, timeout=10)
        assert answer.status_code == 400, (why, answer.text)
        assert "location" not in answer.headers, why
        assert 'type="password"' not in answer.text, why
    mark = stack.sandbox.requests.mark()
    bad = Browser(BAD_KEY).sign_in(_authorize_url(stack))
    assert bad.status_code == 400
    assert "Civis rejected this key" in bad.text
    assert "location" not in bad.headers
    assert [seen.who for seen in stack.sandbox.requests.since(mark)] == ["bad"]
    # A code with the wrong verifier gets no token; the right one does, once (a replayed code gets none).
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636's example, whose S256 is the challenge above
    for code_verifier, status in (("x" * 43, 400), (verifier, 200)):
        signed_in = Browser(ALICE_KEY).sign_in(_authorize_url(stack))
        assert signed_in.status_code == 302
        code = parse_qs(urlsplit(signed_in.headers["location"]).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "client_id": "test-client",
                "redirect_uri": "http://127.0.0.1:5555/callback", "resource": stack.mcp,
                "code_verifier": code_verifier}  # fmt: skip
        answer = loopback.post(f"{stack.auth}/token", data=form, timeout=10)
        assert answer.status_code == status, answer.text
    assert answer.json()["token_type"].lower() == "bearer"
    replay = loopback.post(f"{stack.auth}/token", data=form, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # A token for another resource is not asked for in vain: refused at the token endpoint too.
    other = loopback.post(f"{stack.auth}/token", data={**form, "resource": "https://elsewhere.example/mcp"}, timeout=10)
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
