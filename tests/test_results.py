"""The result budget (``civis_mcp.results.bound``): every result fits, and what was cut is named once, with counts that
describe what the caller really got.

Through a real client the budget is tested in tests/test_workflows.py; these tests reach the shapes a sandbox does
not easily produce (many long list items, wide nested objects) and a property test over random shapes.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from civis_mcp.config import MIN_RESULT_BUDGET
from civis_mcp.results import ListResult, bound, compact_json
from civis_mcp.workflows.kinds import Kind
from civis_mcp.workflows.models import Diagnosis, LogLine, RunFacts


def _never(_: ListResult[Any], __: int) -> str:
    raise AssertionError("objects take no list hint")


def _diagnosis(evidence: int, message: str, configuration: dict[str, Any] | None = None) -> Diagnosis:
    return Diagnosis(
        kind=Kind.CSV,
        import_id=202,
        run=RunFacts(id=6011, state="failed"),
        cause="unknown",
        summary="The run failed.",
        evidence=[LogLine(id=index, message=message) for index in range(evidence)],
        configuration=configuration or {},
    )


def test_a_cut_list_is_named_once_with_the_number_really_kept() -> None:
    budget = MIN_RESULT_BUDGET
    data, text = bound(_diagnosis(60, "x" * 100), budget, _never)  # short lines: only fewer of them can fit
    assert len(text) <= budget and text == compact_json(data)
    assert data["truncated_fields"] == [f"evidence (first {len(data['evidence'])} of 60 items)"]
    assert 1 <= len(data["evidence"]) < 60


def test_cut_strings_end_with_an_ellipsis_and_say_how_much_was_cut() -> None:
    data, _ = bound(_diagnosis(1, "y" * 5_000), MIN_RESULT_BUDGET, _never)
    message = data["evidence"][0]["message"]
    assert re.fullmatch(r"y+…\[\d+ characters cut\]", message), message
    cut = int(re.search(r"\[(\d+) characters cut\]", message)[1])  # type: ignore[index]
    assert message.index("…") + cut == 5_000
    assert "evidence[0].message" in data["truncated_fields"]


def test_an_object_too_wide_for_the_budget_leaves_out_its_largest_optional_field_and_says_so() -> None:
    wide = {f"setting_{index:04d}": index for index in range(600)}  # no long string, no long list: only width
    data, text = bound(_diagnosis(0, "", configuration=wide), MIN_RESULT_BUDGET, _never)
    assert len(text) <= MIN_RESULT_BUDGET
    assert "configuration" not in data
    assert data["truncated_fields"] == [f"configuration (left out: {len(compact_json(wide))} characters)"]
    assert data["import_id"] == 202 and data["run"]["id"] == 6011  # the required fields stay


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3_000))
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=40) | st.dictionaries(st.text(max_size=12), inner, max_size=40),
    max_leaves=400,
)


@settings(max_examples=60, deadline=None)
@given(
    configuration=st.dictionaries(st.text(min_size=1, max_size=12), _json, max_size=30),
    lines=st.lists(st.text(max_size=2_000), max_size=30),
    budget=st.integers(min_value=MIN_RESULT_BUDGET, max_value=12_000),
)
def test_every_object_result_fits_its_budget_and_names_each_cut_once(
    configuration: dict[str, Any], lines: list[str], budget: int
) -> None:
    result = _diagnosis(0, "", configuration)
    result.evidence = [LogLine(id=index, message=line) for index, line in enumerate(lines)]
    data, text = bound(result, budget, _never)
    assert len(text) <= budget
    named = data.get("truncated_fields", [])
    assert len(named) == len(set(named))
    fields = [entry.split(" (")[0] for entry in named if " (" in entry]
    assert len(fields) == len(set(fields)), named  # one entry per cut list or left-out field
    for entry in named:
        left_out = re.fullmatch(r"(\w+) \(left out: \d+ characters\)", entry)
        if left_out:
            assert left_out[1] not in data and not any(other.startswith(left_out[1] + ".") for other in named)
        counted = re.fullmatch(r"evidence \(first (\d+) of (\d+) items\)", entry)
        if counted:
            assert (int(counted[1]), int(counted[2])) == (len(data["evidence"]), len(lines))
