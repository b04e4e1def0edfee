"""Safe binding and the single-server side of the hosted mode: ``[v6]:port``, no unauthenticated bind beyond
loopback unless the operator insists, Host/Origin checks on every bind (127.0.0.2 and ::1 included), a proxy's Host
allowed by flag, the per-caller rate limit, and the start-up summary of what is protected."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from civis_mcp.addresses import is_loopback
from civis_mcp.cli import _hosted_from as hosted_from
from civis_mcp.cli import _parser
from civis_mcp.hosted.settings import HostedSettings, parse_bind
from civis_mcp.sandbox import demo as d
from tests.conftest import Command
from tests.hosted_support import (
    ALICE_KEY,
    TwoUserSandbox,
    basic,
    free_port,
    http_client,
    initialize,
    ipv6_loopback,
    serve,
    text_of,
    two_user_sandbox,
)

EVIL_ORIGIN = {"Origin": "http://rebind.attacker.example"}


@pytest.fixture(scope="module")
def world() -> Iterator[TwoUserSandbox]:
    with two_user_sandbox() as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8000", ("127.0.0.1", 8000)),
        ("127.0.0.2:8001", ("127.0.0.2", 8001)),
        ("[::1]:8002", ("::1", 8002)),
        ("[2001:db8::5]:443", ("2001:db8::5", 443)),
        ("mcp.internal:9000", ("mcp.internal", 9000)),
    ],
)
def test_bind_addresses_parse(raw: str, expected: tuple[str, int]) -> None:
    assert parse_bind(raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [("::1:8000", "brackets"), ("[::1]8000", "[::1]:8000"), ("host:0", "1 to 65535"), (":80", "empty"), ("x", "port")],
)
def test_bad_bind_addresses_say_how_to_write_them(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=r"--http") as error:
        parse_bind(raw)
    assert says in str(error.value)


def test_loopback_is_all_of_127_8_and_v6_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "mcp.example.org"))


@pytest.mark.parametrize("bind", ["0.0.0.0:8000", "[::]:8000", "192.0.2.7:8000"])
def test_serving_beyond_loopback_without_auth_refuses_to_start(bind: str, command: Command) -> None:
    done = command("serve", "--sandbox", "--http", bind)
    assert done.returncode == 2
    assert "refusing to serve" in done.stderr and "--auth civis-key" in done.stderr
    assert "--insecure-no-auth" in done.stderr
    assert done.stdout == ""


def test_insecure_no_auth_or_civis_key_lets_it_start_beyond_loopback() -> None:
    for extra in (["--insecure-no-auth"], ["--auth", "civis-key"]):
        args = _parser().parse_args(["serve", "--http", "0.0.0.0:8000", *extra])
        settings = hosted_from(args)
        assert settings.host == "0.0.0.0"
        # Even then, Host and Origin are checked: only loopback names and what the operator allows.
        security = settings.transport_security()
        assert security.enable_dns_rebinding_protection
        assert not any("0.0.0.0" in host for host in security.allowed_hosts)


def test_settings_name_the_variable_and_the_fix() -> None:
    with pytest.raises(ValueError, match=r"CIVIS_MCP_STATE_KEYS: key 1 is 5 bytes.*token_hex"):
        HostedSettings(state_keys=("short",))
    with pytest.raises(ValueError, match="CIVIS_MCP_REDIS_URL must start with redis://"):
        HostedSettings(redis_url="http://localhost:6379")
    with pytest.raises(ValueError, match="--allowed-origins takes origins such as"):
        HostedSettings(allowed_origins=("chat.example.org",))
    with pytest.raises(ValueError, match="CIVIS_MCP_AUTH must be none, civis-key or oauth"):
        HostedSettings.from_env({"CIVIS_MCP_AUTH": "saml"})
    with pytest.raises(ValueError, match="CIVIS_MCP_INSECURE_NO_AUTH must be true or false"):
        HostedSettings.from_env({"CIVIS_MCP_INSECURE_NO_AUTH": "sure"})
    assert HostedSettings.from_env({"CIVIS_MCP_INSECURE_NO_AUTH": "on"}, host="0.0.0.0").insecure_no_auth
    # Numbers: the unit, the range and the default, whether the text is no number or a number out of range.
    for raw in ("lots", "0", "2.5"):
        with pytest.raises(ValueError, match=r"^CIVIS_MCP_RATE_LIMIT must be a whole number of tool calls a minute"):
            HostedSettings.from_env({"CIVIS_MCP_RATE_LIMIT": raw})
    for raw in ("soon", "0", "601"):
        with pytest.raises(
            ValueError, match=r"^CIVIS_MCP_KEY_CACHE_SECONDS must be a number of seconds .*\(default 300\)"
        ):
            HostedSettings.from_env({"CIVIS_MCP_KEY_CACHE_SECONDS": raw})
    assert HostedSettings.from_env({"CIVIS_MCP_KEY_CACHE_SECONDS": "0.5"}).key_cache_seconds == 0.5
    summary = HostedSettings(state_keys=("k" * 32,), redis_url="redis://:hunter2secret@10.0.0.5:6379/0")
    assert "Redis at redis://10.0.0.5:6379" in summary.protection_summary()
    assert "hunter2secret" not in summary.protection_summary() and "hunter2secret" not in repr(summary)


def test_127_0_0_2_behind_a_proxy_checks_host_and_origin_and_limits_each_caller(world: TwoUserSandbox) -> None:
    """The issue's case: a bind to 127.0.0.2 used to switch the DNS-rebinding checks off."""
    port = free_port("127.0.0.2")
    base = f"http://127.0.0.2:{port}"
    env = {"CIVIS_API_ENDPOINT": world.sandbox.url, "CIVIS_MCP_RATE_LIMIT": "3", "CIVIS_MCP_REPLICA": "solo"}
    args = ["--http", f"127.0.0.2:{port}", "--auth", "civis-key", "--allowed-hosts", "mcp.example.org"]
    with serve(args, env, probe=f"{base}/healthz") as process:
        key = {"Authorization": basic(ALICE_KEY)}
        assert initialize(f"{base}/mcp", key).status_code == 200
        assert initialize(f"{base}/mcp", {**key, "Host": "mcp.example.org"}).status_code == 200  # via the proxy
        assert initialize(f"{base}/mcp", {**key, "Host": "rebind.attacker.example"}).status_code == 421
        assert initialize(f"{base}/mcp", {**key, **EVIL_ORIGIN}).status_code == 403

        async def four_calls() -> list[str]:
            async with http_client(f"{base}/mcp", ALICE_KEY, mode="2026-07-28") as alice:
                return [
                    text_of(await alice.call_tool("imports_get", {"id": d.DEMO_DBSYNC_IMPORT_ID})) for _ in range(4)
                ]

        mark = world.requests.mark()
        answers = anyio.run(four_calls)
        process.terminate()
        _, err = process.communicate(timeout=10)
    # Three calls a minute: the fourth is refused before anything is sent, with when to retry.
    assert "more than 3 tool calls in this minute" in answers[3] and "Retry in" in answers[3]
    assert "Nothing was sent to Civis" in answers[3]
    gets = [seen for seen in world.requests.since(mark) if seen.path.startswith("/imports/")]
    assert len(gets) == 3
    # Start-up says what is protected and how.
    assert "HTTP protection: callers: each caller's own Civis key" in err
    assert "mcp.example.org" in err and "rate limit 3 calls a minute" in err


def test_a_foreign_origin_is_refused_on_loopback_without_auth_too() -> None:
    hosts = ["127.0.0.1"] + (["::1"] if ipv6_loopback() else [])
    for host in hosts:
        port = free_port(host)
        url_host = f"[{host}]" if ":" in host else host
        base = f"http://{url_host}:{port}"
        with serve(["--sandbox", "--http", f"{url_host}:{port}"], probe=f"{base}/healthz"):
            assert initialize(f"{base}/mcp", {}).status_code == 200
            assert initialize(f"{base}/mcp", EVIL_ORIGIN).status_code == 403
            assert initialize(f"{base}/mcp", {"Origin": f"http://{url_host}:{port}"}).status_code == 200
            assert initialize(f"{base}/mcp", {"Host": "rebind.attacker.example"}).status_code == 421
