"""What an error can add so the model's next call is the right one, from one extra read.

* A kind-specific tool answered 404 for an ID that is another kind of import (``imports_get`` given a CSV import):
  one ``GET /jobs`` search says what the ID is, and the error names the tool of that kind that does the same thing.
* A call answered 403: the import's shares name the users and groups with manage access, who can grant any level.

The extra read is best effort: when it fails or says nothing useful, the error stays as it was. Names come from
Civis, so they are fenced like any upstream text.
"""

from __future__ import annotations

from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import CivisAPIError, CivisMCPError, NotFoundError, PermissionDeniedError
from civis_mcp.models.base import RequestModel
from civis_mcp.models.sharing import Grantee, Share
from civis_mcp.operations import Operation
from civis_mcp.untrusted import fence_inline
from civis_mcp.workflows.find import identify
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, counterpart, read_list

__all__ = ["pointer_for"]

_LABEL = {
    Kind.IMPORT: "an import job",
    Kind.CSV: "a CSV import",
    Kind.FILE: "a file import",
    Kind.BATCH: "a batch import",
}


async def pointer_for(client: CivisClient, op: Operation, params: RequestModel, error: CivisAPIError) -> str:
    """A sentence to append to ``error`` (starting with a space), or "" when there is nothing to add."""
    import_id = getattr(params, "id", None)
    if "id" not in op.path_params or not isinstance(import_id, int):
        return ""
    try:
        if isinstance(error, NotFoundError):
            return await _wrong_kind(client, op, import_id)
        if isinstance(error, PermissionDeniedError):
            return await _grantors(client, import_id)
    except CivisMCPError:
        pass
    return ""


async def _wrong_kind(client: CivisClient, op: Operation, import_id: int) -> str:
    kind = op.kind
    if kind is None:
        return ""
    found = await identify(client, import_id)
    if found is None or found[0] is kind:
        return ""
    other, name = found
    named = f" {fence_inline(name, 120)}" if name else ""
    tool = counterpart(op, other)
    advice = (
        f"use {tool} with id={import_id}"
        if tool
        else f"{op.tool_name} has no counterpart for it; its tools are {KIND_TOOLS[other].family()}"
    )
    return f" ID {import_id} is {_LABEL[other]}{named}, not {_LABEL[kind]}: {advice}."


async def _grantors(client: CivisClient, import_id: int) -> str:
    shares = (await read_list(client, "imports_list_shares", Share, id=import_id)).items
    names: list[str] = []
    for share in shares:
        if share.owners is None:
            continue
        names += [_who(user, "user") for user in share.owners.users or []]
        names += [_who(group, "group") for group in share.owners.groups or []]
    if not names:
        return ""
    return f" Who can grant access (manage on import {import_id}): {fence_inline('; '.join(names), 300)}."


def _who(grantee: Grantee, kind: str) -> str:
    return f"{grantee.name or 'unnamed'} ({kind} {grantee.id})"
