"""The context footprint cannot grow silently: token and byte ceilings on what ``tools/list`` puts in a model's context.

Counted exactly as ``benchmarks/footprint.py`` counts (``benchmarks/measure.py``, o200k_base via bpe-openai), on the
listing the server really answers with. Not timed: token and byte counts are exact, so the ceilings are tight.

When a schema change pushes a figure over its ceiling, either make the schemas smaller or, if the growth is worth it,
raise the ceiling in the same change and say why. The ceilings are the targets of the issue, met.
See benchmarks/README.md for the figures, the bridge they are compared with and what the misses mean.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import SecretStr

from benchmarks.measure import (
    BRIDGE_TOOLS_LIST_BYTES,
    OPERATION_TOKENS_TARGET,
    count_tokens,
    model_tokens,
    tools_list_bytes,
    untyped_or_undescribed,
)
from civis_mcp.config import Settings
from civis_mcp.gateway import CALL
from civis_mcp.operations import OPERATIONS
from civis_mcp.server import INSTRUCTIONS, build_server

# The 46 operation tools' name + description + input schema, o200k tokens: the target (9,000), met.
# See benchmarks/README.md ("Context footprint").
OPERATION_TOKENS_CEILING = OPERATION_TOKENS_TARGET
# The whole tools/list answer (50 tools, output schemas included), bytes: at most a third of the bridge's 263,546
# bytes (the target, met since output schemas stop at the first level; see civis_mcp/schema.compact_output).
TOOLS_LIST_BYTES_CEILING = BRIDGE_TOOLS_LIST_BYTES // 3
# Every listed tool of a profile (model view, o200k), the targets of the issue: read-only 2,500; compact 1,000 (the
# workflow tools and the gateway through which every operation is reachable), over stdio, where imports_load_file is
# listed too, and over HTTP. The server's instructions, which clients that load tools late read first: 150.
PROFILE_TOKENS_CEILING = {"read-only": 2_500, "compact": 1_000}
INSTRUCTIONS_TOKENS_CEILING = 150


@pytest.fixture
async def listing() -> list[dict[str, Any]]:
    server = build_server(Settings(api_key=SecretStr("footprint-key"), api_endpoint="http://127.0.0.1:9/"))
    tools = await server.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


def _operation_tokens(listing: list[dict[str, Any]]) -> int:
    by_name = {tool["name"]: tool for tool in listing}
    return sum(model_tokens(by_name[op.tool_name]) for op in OPERATIONS)


async def test_operation_tools_stay_under_the_token_ceiling_fully_typed_and_described(
    listing: list[dict[str, Any]],
) -> None:
    assert len(OPERATIONS) == 46
    problems = {
        op.tool_name: found
        for op in OPERATIONS
        if (found := untyped_or_undescribed(next(t for t in listing if t["name"] == op.tool_name)["inputSchema"]))
    }
    assert problems == {}
    tokens = _operation_tokens(listing)
    assert tokens <= OPERATION_TOKENS_CEILING, (
        f"the 46 operation tools now take {tokens} tokens (ceiling {OPERATION_TOKENS_CEILING}); "
        "see tests/test_footprint.py's docstring"
    )


async def test_tools_list_stays_under_the_byte_ceiling(listing: list[dict[str, Any]]) -> None:
    size = tools_list_bytes(listing)
    assert size <= TOOLS_LIST_BYTES_CEILING, f"tools/list is now {size} bytes (ceiling {TOOLS_LIST_BYTES_CEILING})"


@pytest.mark.parametrize("transport", ["stdio", "http"])
@pytest.mark.parametrize("profile", sorted(PROFILE_TOKENS_CEILING))
async def test_each_profile_stays_under_its_token_ceiling(profile: str, transport: Literal["stdio", "http"]) -> None:
    settings = Settings(
        api_key=SecretStr("footprint-key"), api_endpoint="http://127.0.0.1:9/", profile=profile, transport=transport
    )
    tools = await build_server(settings).list_tools()
    listing = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    assert {untyped for tool in listing for untyped in untyped_or_undescribed(tool["inputSchema"])} == set()
    tokens = sum(model_tokens(tool) for tool in listing)
    assert tokens <= PROFILE_TOKENS_CEILING[profile], f"{profile} over {transport}: {tokens} tokens"


def test_the_instructions_stay_short_and_say_how_to_start() -> None:
    assert count_tokens(INSTRUCTIONS) <= INSTRUCTIONS_TOKENS_CEILING
    for first_step in ("imports_find", "imports_diagnose_run", "imports_wait_for_run", "imports_tail_logs", CALL):
        assert first_step in INSTRUCTIONS
