"""Helpers shared by the sandbox tests (no tests here): loopback HTTP clients, a civis-python client, run polling.

Every test talks only to sandboxes it starts itself on 127.0.0.1; civis-python always gets the bundled spec
(``local_api_spec``) and an endpoint pointing at the sandbox, so nothing ever reaches the real Civis API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import civis
import httpx

from civis_mcp.api.wire import snake_keys
from civis_mcp.sandbox import RunningSandbox
from tests import loopback

TERMINAL = {"succeeded", "failed", "cancelled"}


def http(sandbox: RunningSandbox, *, key: str | None = None, timeout: float = 10.0) -> httpx.Client:
    """A raw HTTP client for the sandbox, authenticated as civis-python does (Basic, key as user name)."""
    return loopback.client(base_url=sandbox.url, auth=(key or sandbox.api_key, ""), timeout=timeout)


@contextmanager
def civis_client(sandbox: RunningSandbox) -> Iterator[Any]:
    """The official civis-python client pointed at the sandbox (never at the real API)."""
    previous = os.environ.get("CIVIS_API_ENDPOINT")
    os.environ["CIVIS_API_ENDPOINT"] = sandbox.url
    try:
        yield civis.APIClient(api_key=sandbox.api_key, local_api_spec=civis.resources.API_SPEC_PATH)
    finally:
        if previous is None:
            os.environ.pop("CIVIS_API_ENDPOINT", None)
        else:
            os.environ["CIVIS_API_ENDPOINT"] = previous


def wait_for(read_state: Callable[[], str], *, timeout: float = 15.0, until: set[str] = TERMINAL) -> str:
    """Poll ``read_state`` until it returns one of ``until``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    state = read_state()
    while state not in until:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {state!r} after {timeout} s")
        time.sleep(0.05)
        state = read_state()
    return state


def run_state(client: httpx.Client, path: str) -> Callable[[], str]:
    def read() -> str:
        response = client.get(path)
        assert response.status_code == 200, response.text
        return str(snake_keys(response.json())["state"])

    return read
