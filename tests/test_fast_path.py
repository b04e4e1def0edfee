"""The per-call fast path gives exactly what the full path gives, and skips work only where it provably changes nothing.

* ``results.bound_items`` (item by item, nothing past the budget validated) gives the same data and text as
  ``results.bound`` on the whole validated list, for every list operation's contract answer, for long lists, at
  budgets from tiny to ample, log cursors and pages included.
* The whole-body checks that let ``CivisClient._decode`` skip the sanitising walk say "clean" only when the walk would
  change nothing: ``json_needs_no_cleaning`` for hidden characters, ``Redactor.absent_from_ascii`` for the key (in
  every form the redactor knows, split by whitespace, in any letter case).
* Upstream sends are capped at the pool's size: 60 concurrent calls never have more than 20 requests in flight.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr, ValidationError

from civis_mcp.api.client import CivisClient, Pagination
from civis_mcp.api.redaction import Redactor
from civis_mcp.api.wire import snake_keys
from civis_mcp.config import Settings
from civis_mcp.execution import more_hint
from civis_mcp.operations import OPERATIONS_BY_TOOL
from civis_mcp.results import ListResult, bound, bound_items
from civis_mcp.untrusted import clean_json, json_needs_no_cleaning
from tests.contract_cases import CASES

LIST_CASES = [case for case in CASES if OPERATIONS_BY_TOOL[case.tool].returns_list]
BUDGETS = (2_000, 3_000, 5_000, 20_000, 1_000_000)


def _items(case_response: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` items made from a contract answer, with distinct ids, snake_cased as the client hands them on."""
    return [snake_keys({**copy.deepcopy(case_response[i % len(case_response)]), "id": 1_000 + i}) for i in range(count)]


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("case", LIST_CASES, ids=[case.tool for case in LIST_CASES])
@pytest.mark.parametrize("count", [0, 1, 7, 60])
def test_bound_items_gives_what_bound_gives(case: Any, count: int, budget: int) -> None:
    op = OPERATIONS_BY_TOOL[case.tool]
    assert op.response is not None
    raw = _items(case.response, count)
    params = op.params.model_validate(case.arguments)
    pagination = Pagination(page=2, per_page=count, total_pages=9, total_entries=9 * count) if op.paginated else None
    whole = ListResult[op.response](  # type: ignore[name-defined]
        items=[op.response.model_validate(item) for item in raw], pagination=pagination
    )
    expected = bound(whole, budget, more_hint(op, params))
    got = bound_items(op.response, raw, pagination, budget, more_hint(op, params))
    assert got == expected
    assert json.loads(got[1]) == got[0]


def test_items_past_the_budget_are_not_validated_and_those_shown_are() -> None:
    op = OPERATIONS_BY_TOOL["imports_list_files_csv_runs_logs"]
    assert op.response is not None
    lines = [{"id": i, "created_at": "2026-01-01T00:00:00Z", "message": "x" * 200, "level": "info"} for i in range(99)]
    hint = more_hint(op, op.params.model_validate({"id": 1, "run_id": 2}))
    malformed_late = [*lines, {"id": "not a number"}]
    data, _ = bound_items(op.response, malformed_late, None, 3_000, hint)
    assert data["truncated"]["omitted"] == 100 - data["truncated"]["returned"]
    with pytest.raises(ValidationError):
        bound_items(op.response, [{"id": "not a number"}, *lines], None, 3_000, hint)


# --- the whole-body checks --------------------------------------------------------------------------------------------

HIDING = ["\\u202e", "\\u200b", "\\u001b[31m", "\\r", "\\b", "&#x202E;", "&shy;", "\\ud83d", "\\ufe0f", "\\u0000"]


@pytest.mark.parametrize("hidden", HIDING)
def test_a_body_that_could_hide_something_is_walked(hidden: str) -> None:
    body = f'{{"name": "report{hidden}.csv", "id": 1}}'.encode()
    assert not json_needs_no_cleaning(body)


def test_a_body_judged_clean_is_one_the_walk_leaves_unchanged() -> None:
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(32, 127)] + ["\t", "\n", "é", "\u202e", "\u200b", "\x1b", "&"]
    for _ in range(2_000):
        value = {"k": "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))), "n": [1, None, True]}
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        if json_needs_no_cleaning(body):
            assert clean_json(json.loads(body)) == json.loads(body), body
    assert json_needs_no_cleaning(b'{"a": 1}')
    assert not json_needs_no_cleaning('{"a": 1}'.encode("utf-16"))  # ASCII bytes, but not this text


def _forms(key: str) -> list[str]:
    return [
        key,
        key.upper(),
        base64.b64encode(f"{key}:".encode()).decode(),
        base64.b64encode(key.encode()).decode().rstrip("="),
        " ".join(key[i : i + 3] for i in range(0, len(key), 3)),
        key[:5] + "\n  " + key[5:].swapcase(),
    ]


def test_the_key_check_never_misses_what_the_redactor_would_replace() -> None:
    key = "sekret-api-key-4242"
    redact = Redactor(key)
    rng = random.Random(11)
    for form in _forms(key):
        for _ in range(50):
            text = "".join(rng.choice('ab \n{}":,') for _ in range(rng.randint(0, 30)))
            cut = rng.randint(0, len(text))
            leaked = text[:cut] + form + text[cut:]
            assert redact(leaked) != leaked
            assert not redact.absent_from_ascii(leaked), leaked
    clean = '{"name": "nightly", "id": 5}'
    assert redact.absent_from_ascii(clean) and redact(clean) == clean
    assert not redact.absent_from_ascii("caf\u00e9")  # not ASCII: not known, so the walk runs


async def test_an_answer_echoing_the_key_is_still_redacted() -> None:
    key = "sekret-api-key-4242"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": 1, "name": f"made with {key.upper()}"}])

    settings = Settings(api_key=SecretStr(key), api_endpoint="http://127.0.0.1:9/")
    async with CivisClient(settings, transport=httpx.MockTransport(echo)) as client:
        op = OPERATIONS_BY_TOOL["imports_list_projects"]
        result = await client.call(op, op.params.model_validate({"id": 1}))
    assert key.lower() not in json.dumps(result.data).lower()


# --- the send limiter -------------------------------------------------------------------------------------------------


async def test_concurrent_calls_keep_to_the_pool() -> None:
    in_flight = peak = 0

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.01)
            in_flight -= 1
            return httpx.Response(200, json={"id": 1})

    settings = Settings(api_key=SecretStr("k"), api_endpoint="http://127.0.0.1:9/")
    op = OPERATIONS_BY_TOOL["imports_get"]
    async with CivisClient(settings, transport=Slow()) as client, anyio.create_task_group() as group:
        for _ in range(60):
            group.start_soon(client.call, op, op.params.model_validate({"id": 1}))
    assert 1 < peak <= 20
