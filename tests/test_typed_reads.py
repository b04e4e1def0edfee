"""The workflows' typed reads (``workflows.kinds.read`` / ``read_list``): answers as response models, and what
happens when Civis answers something else (respx, no network)."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import CivisTransportError
from civis_mcp.config import Settings
from civis_mcp.models.common import JobRun
from civis_mcp.models.imports import Import
from civis_mcp.workflows.kinds import read, read_list

BASE = "http://127.0.0.1:9/"


def client() -> CivisClient:
    return CivisClient(Settings(api_key=SecretStr("k-0123456789"), api_endpoint=BASE, max_attempts=1))


async def test_a_list_keeps_the_items_that_fit_and_counts_every_row() -> None:
    rows = [
        {"id": 3, "state": "failed", "error": "boom"},
        "not an object",
        {"id": "three", "state": "failed"},  # an id that is no integer does not fit JobRun
        {"id": 2, "state": "succeeded", "somethingNew": 1},
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/imports/7/runs").mock(return_value=httpx.Response(200, json=rows))
        async with client() as civis:
            listed = await read_list(civis, "imports_list_runs", JobRun, id=7)
    assert [(run.id, run.state) for run in listed.items] == [(3, "failed"), (2, "succeeded")]
    assert listed.items[1].model_extra == {"something_new": 1}  # unknown fields are kept
    assert listed.answered == 4  # a full page is still told from the last one


async def test_an_object_that_does_not_fit_is_an_error_that_names_the_tool() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/imports/7").mock(return_value=httpx.Response(200, json={"id": 7, "syncs": "all of them"}))
        async with client() as civis:
            with pytest.raises(CivisTransportError) as caught:
                await read(civis, "imports_get", Import, id=7)
    message = str(caught.value)
    assert message.startswith("imports_get: Civis answered, but the answer does not match the documented response")
    assert "syncs" in message and "nothing changed" in message


async def test_a_list_where_an_object_was_expected_is_an_error() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/imports/7").mock(return_value=httpx.Response(200, json=[{"id": 7}]))
        async with client() as civis:
            with pytest.raises(CivisTransportError, match="a JSON list instead of an object"):
                await read(civis, "imports_get", Import, id=7)
