"""Stream a checked local file to a file import's ``uploadUri`` (a pre-signed URL), in chunks, with progress.

The file is never held in memory whole: it is read ``CHUNK`` bytes at a time (in a worker thread, so the event loop
keeps serving) and sent with its exact ``Content-Length``, as pre-signed storage URLs require. The request goes out
on a client of its own that carries no Civis credentials: the upload URI is signed by itself, and the API key must
never travel to a storage host. Plain ``http`` is accepted only for loopback hosts (the sandbox).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import anyio.to_thread
import httpx

from civis_mcp.addresses import is_loopback
from civis_mcp.api.tls import tls_context
from civis_mcp.untrusted import fence_inline
from civis_mcp.workflows.local_files import LocalFile, open_checked
from civis_mcp.workflows.runs import WorkflowError

__all__ = ["CHUNK", "stream_upload"]

CHUNK = 1024 * 1024
PROGRESS_EVERY = 8 * CHUNK
UploadProgress = Callable[[int, int], Awaitable[None]]


def check_upload_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return
    raise WorkflowError("Civis answered with an upload URI that is not https; nothing was uploaded.")


async def _chunks(descriptor: int, size: int, progress: UploadProgress) -> AsyncIterator[bytes]:
    sent = 0
    reported = 0
    while sent < size:
        chunk = await anyio.to_thread.run_sync(os.read, descriptor, min(CHUNK, size - sent))
        if not chunk:
            raise WorkflowError("the file became shorter while it was being uploaded; the upload was stopped.")
        sent += len(chunk)
        if sent - reported >= PROGRESS_EVERY or sent == size:
            reported = sent
            await progress(sent, size)
        yield chunk


async def stream_upload(
    uri: str,
    file: LocalFile,
    progress: UploadProgress,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 300.0,
) -> int:
    """PUT ``file`` to ``uri``; the number of bytes sent. ``WorkflowError`` when the storage refuses it."""
    check_upload_uri(uri)
    descriptor = open_checked(file)
    limits = httpx.Timeout(timeout, connect=30.0)
    try:
        async with httpx.AsyncClient(
            transport=transport, timeout=limits, verify=tls_context(), follow_redirects=False
        ) as client:
            try:
                response = await client.put(
                    uri,
                    content=_chunks(descriptor, file.size, progress),
                    headers={"Content-Length": str(file.size), "Content-Type": "application/octet-stream"},
                )
            except httpx.HTTPError as exc:
                raise WorkflowError(f"the upload did not complete ({type(exc).__name__}).") from None
    finally:
        os.close(descriptor)
    if response.status_code >= 300:
        body = fence_inline(response.text, 300)
        raise WorkflowError(f"the storage refused the upload with HTTP {response.status_code}: {body}")
    return file.size
