"""Fault injection: added latency, error statuses, hanging answers and malformed bodies, deterministic with a seed."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from civis_mcp.sandbox import FaultConfig, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.state import FaultDice
from tests import loopback
from tests.test_sandbox_support import http


def test_no_faults_by_default() -> None:
    config = SandboxConfig()
    assert not config.faults.active
    with running_sandbox(config) as sandbox, http(sandbox) as client:
        statuses = Counter(client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}").status_code for _ in range(30))
    assert statuses == Counter({200: 30})


def test_added_latency() -> None:
    with running_sandbox(SandboxConfig(faults=FaultConfig(latency_ms=150))) as sandbox, http(sandbox) as client:
        started = time.monotonic()
        for _ in range(3):
            assert client.get("imports/101").status_code == 200
        assert time.monotonic() - started >= 0.45
        started = time.monotonic()
        assert loopback.get(f"{sandbox.url}health").status_code == 200
        assert time.monotonic() - started < 0.15  # /health is never slowed


def test_error_rate_answers_the_configured_statuses() -> None:
    faults = FaultConfig(error_rate=0.5, error_statuses=(500, 502, 503))
    with running_sandbox(SandboxConfig(faults=faults, seed=7)) as sandbox, http(sandbox) as client:
        answers = [client.get("imports/101") for _ in range(80)]
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) == {200, 500, 502, 503}
    assert 20 <= statuses[200] <= 60
    json_error = next(a for a in answers if a.status_code == 500)
    assert json_error.json()["code"] == 500 and "Injected fault" in json_error.json()["errorDescription"]
    gateway = next(a for a in answers if a.status_code == 502)
    assert gateway.headers["content-type"].startswith("text/html")  # a load balancer's page, not JSON
    assert "502 Bad Gateway" in gateway.text


def test_injected_errors_change_nothing() -> None:
    faults = FaultConfig(error_rate=1.0, error_statuses=(503,))
    with running_sandbox(SandboxConfig(faults=faults)) as sandbox, http(sandbox) as client:
        response = client.patch(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", json={"name": "changed"})
        assert response.status_code == 503
        assert sandbox.state.store.get_job(d.DEMO_CSV_IMPORT_ID).doc["name"] == "People list"  # type: ignore[union-attr]


def test_same_seed_same_faults() -> None:
    faults = FaultConfig(error_rate=0.3, hang_rate=0.1, malformed_rate=0.2, error_statuses=(500, 503))
    first = [FaultDice(faults, seed=42).roll() for _ in range(1)]
    dice_a, dice_b, dice_c = FaultDice(faults, seed=42), FaultDice(faults, seed=42), FaultDice(faults, seed=43)
    run_a = [dice_a.roll() for _ in range(200)]
    run_b = [dice_b.roll() for _ in range(200)]
    run_c = [dice_c.roll() for _ in range(200)]
    assert run_a == run_b and run_a[:1] == first
    assert run_a != run_c
    kinds = Counter(
        "error" if r.error_status else "hang" if r.hang else "malformed" if r.malformed else "ok" for r in run_a
    )
    assert set(kinds) == {"error", "hang", "malformed", "ok"}


def test_same_seed_same_statuses_over_http() -> None:
    faults = FaultConfig(error_rate=0.4)

    def statuses(seed: int) -> list[int]:
        with running_sandbox(SandboxConfig(faults=faults, seed=seed)) as sandbox, http(sandbox) as client:
            return [client.get("imports/101").status_code for _ in range(25)]

    first, again, other = statuses(3), statuses(3), statuses(4)
    assert first == again
    assert first != other
    assert 200 in first and set(first) - {200} and set(first) <= {200, 500, 502, 503}  # the default statuses


def test_hanging_answers_outlast_the_client_timeout() -> None:
    faults = FaultConfig(hang_rate=1.0, hang_seconds=30)
    with running_sandbox(SandboxConfig(faults=faults)) as sandbox, http(sandbox, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.get("imports/101")
        assert time.monotonic() - started >= 0.5
        assert loopback.get(f"{sandbox.url}health", timeout=2).status_code == 200  # other requests still served
    # Leaving the block stopped the server promptly even though a request was still hanging.


def test_a_short_hang_ends_with_504() -> None:
    faults = FaultConfig(hang_rate=1.0, hang_seconds=0.3)
    with running_sandbox(SandboxConfig(faults=faults)) as sandbox, http(sandbox) as client:
        assert client.get("imports/101").status_code == 504


def test_malformed_bodies_are_cut_json() -> None:
    with running_sandbox(SandboxConfig(faults=FaultConfig(malformed_rate=1.0))) as sandbox, http(sandbox) as client:
        response = client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert int(response.headers["content-length"]) == len(response.content) > 0
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
        assert response.content.startswith(b'{"id":101')
        empty = client.delete(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs/6012")
        assert empty.status_code == 202 and empty.content == b""  # nothing to corrupt


def test_faults_from_the_environment() -> None:
    env = {
        "CIVIS_SANDBOX_LATENCY_MS": "25",
        "CIVIS_SANDBOX_ERROR_RATE": "0.2",
        "CIVIS_SANDBOX_ERROR_STATUSES": "502, 504",
        "CIVIS_SANDBOX_HANG_RATE": "0.01",
        "CIVIS_SANDBOX_MALFORMED_RATE": "0.05",
        "CIVIS_SANDBOX_SEED": "9",
        "CIVIS_SANDBOX_RUN_STEP_SECONDS": "1.5",
        "CIVIS_SANDBOX_RATE_LIMIT": "120",
    }
    config = SandboxConfig.from_env(env, port=0)
    assert config.faults == FaultConfig(
        latency_ms=25, error_rate=0.2, error_statuses=(502, 504), hang_rate=0.01, malformed_rate=0.05
    )
    assert (config.seed, config.run_step_seconds, config.rate_limit_per_minute) == (9, 1.5, 120)
    assert SandboxConfig.from_env({}).faults == FaultConfig()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CIVIS_SANDBOX_ERROR_RATE", "1.5"), ("CIVIS_SANDBOX_ERROR_STATUSES", "five"), ("CIVIS_SANDBOX_HANG_RATE", "x")],
)
def test_bad_fault_settings_are_refused(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        FaultConfig.from_env({variable: value})
