"""The retry transport on its own, and the sending transport the client builds beneath it.

What the groups prove:

* ``RetryTransport`` retries inside any ``httpx.AsyncClient`` (no ``CivisClient`` involved) when the request carries
  its ``CallFacts``, names the request's own tool in its errors, and sends a request without facts exactly once;
* an error status whose body does not decompress is still that error, with its request id;
* the client's own sending transport honours the environment's proxy for the endpoint, and ``NO_PROXY`` (httpx
  would only do so for a transport it builds itself), checked against a fake Civis on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import CivisTransportError, NotFoundError, OutcomeUnknownError
from civis_mcp.api.retry import RetryPolicy
from civis_mcp.api.retrying import CALL, CallFacts, RetryTransport
from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS_BY_TOOL
from tests.fake_civis import FakeCivis, Reply, running_fake_civis

GET = OPERATIONS_BY_TOOL["imports_get"]


class Replies:
    """A transport answering from a list, recording the requests it saw."""

    def __init__(self, *replies: httpx.Response) -> None:
        self._replies = list(replies)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self._replies.pop(0)


def retrying(replies: Replies, waits: list[float]) -> httpx.AsyncClient:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    transport = RetryTransport(
        httpx.MockTransport(replies),
        policy=RetryPolicy(max_attempts=3, budget=100.0),
        endpoint="http://civis.test/",
        pool=2,
        sleep=sleep,
        clock=lambda: 0.0,
    )
    return httpx.AsyncClient(transport=transport, base_url="http://civis.test/")


def facts(operation: str) -> dict[str, object]:
    return {CALL: CallFacts(operation=operation, deadline=60.0, limit=60.0)}


async def test_a_request_with_its_facts_is_retried_by_the_transport_alone() -> None:
    replies, waits = Replies(httpx.Response(503), httpx.Response(200, json={"id": 7})), []
    async with retrying(replies, waits) as http:
        response = await http.get("/imports/7", extensions=facts("imports_get"))
    assert response.status_code == 200 and response.json() == {"id": 7}
    assert len(replies.seen) == 2 and len(waits) == 1


async def test_a_request_without_facts_is_sent_once() -> None:
    replies, waits = Replies(httpx.Response(503)), []
    async with retrying(replies, waits) as http:
        response = await http.get("/imports/7")
    assert response.status_code == 503
    assert len(replies.seen) == 1 and waits == []


async def test_errors_name_the_tool_their_request_carries() -> None:
    replies, waits = Replies(httpx.Response(502), httpx.Response(502)), []
    async with retrying(replies, waits) as http:
        with pytest.raises(OutcomeUnknownError) as first:
            await http.post("/imports/7/runs", extensions=facts("imports_post_runs"))
        with pytest.raises(OutcomeUnknownError) as second:
            await http.post("/imports/files/csv/7/runs", extensions=facts("imports_post_files_csv_runs"))
    assert str(first.value).startswith("imports_post_runs was sent, but Civis answered HTTP 502")
    assert str(second.value).startswith("imports_post_files_csv_runs was sent")
    assert len(replies.seen) == 2 and waits == []  # a POST's lost answer is never repeated


async def test_an_error_whose_body_does_not_decompress_keeps_its_status_and_request_id() -> None:
    headers = {"Content-Encoding": "gzip", "X-Request-Id": "req-42"}
    # A stream: given as content, httpx would decode it at once.
    broken = httpx.Response(404, stream=httpx.ByteStream(b"\x1f\x8bnot gzip"), headers=headers)
    settings = Settings(api_key=SecretStr("k-0123456789"), api_endpoint="http://civis.test/")
    async with CivisClient(settings, transport=httpx.MockTransport(lambda _: broken)) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.call(GET, GET.params.model_validate({"id": 7}))
    assert caught.value.request_id == "req-42" and caught.value.error_description is None


# --- the sending transport and the environment's proxy --------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeCivis]:
    with running_fake_civis() as server:
        yield server


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable from the machine running the tests."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def test_the_environments_proxy_carries_the_calls(fake: FakeCivis, no_proxy_settings: pytest.MonkeyPatch) -> None:
    """The fake Civis stands as the proxy: a request for a host that does not resolve reaches it, naming that host."""
    no_proxy_settings.setenv("HTTP_PROXY", fake.url)
    fake.route("GET", "/imports/7", Reply(200, {"id": 7}))
    settings = Settings(api_key=SecretStr("k-0123456789"), api_endpoint="http://civis.invalid/", max_attempts=1)
    async with CivisClient(settings) as client:
        result = await client.call(GET, GET.params.model_validate({"id": 7}))
    assert result.data == {"id": 7}
    assert [request.headers.get("host") for request in fake.requests] == ["civis.invalid"]


async def test_no_proxy_sends_straight_to_the_endpoint(fake: FakeCivis, no_proxy_settings: pytest.MonkeyPatch) -> None:
    no_proxy_settings.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    fake.route("GET", "/imports/7", Reply(200, {"id": 7}))
    settings = Settings(api_key=SecretStr("k-0123456789"), api_endpoint=fake.url, max_attempts=1)
    async with CivisClient(settings) as through_proxy:
        with pytest.raises(CivisTransportError, match="could not connect"):
            await through_proxy.call(GET, GET.params.model_validate({"id": 7}))
    no_proxy_settings.setenv("NO_PROXY", "127.0.0.1")
    async with CivisClient(settings) as direct:
        assert (await direct.call(GET, GET.params.model_validate({"id": 7}))).data == {"id": 7}
    assert len(fake.requests) == 1
