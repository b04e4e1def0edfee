"""Previews of destructive calls, built from live state, so the human sees exactly what will change.

A previewer reads (GET only) what the call is about to change and returns the question put to the human, the facts it
was built from and, when there is nothing to change (the run already ended, the share is not there), the reason to
send nothing. The same previewer runs again after the human says yes: if the facts differ, nothing is sent.

Every name shown comes from upstream and is sanitised; every question is bounded in size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import CivisAPIError
from civis_mcp.execution import read_operation
from civis_mcp.models import (
    ArchiveParams,
    ArchiveSyncParams,
    ImportIdParams,
    ProjectLinkParams,
    RevokeGroupShareParams,
    RevokeUserShareParams,
    RunIdParams,
    ShareWithGroupsParams,
    ShareWithUsersParams,
    TransferParams,
)
from civis_mcp.models.base import RequestModel
from civis_mcp.untrusted import one_line

__all__ = ["MAX_QUESTION", "PREVIEWERS", "LiveReader", "Preview"]

MAX_QUESTION = 900
_ENDED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Preview:
    question: str
    facts: tuple[str, ...]
    nothing_to_do: str | None = None


class LiveReader:
    """Runs read tools for a previewer; refuses anything but GET, so a preview can never change state."""

    def __init__(self, client: CivisClient) -> None:
        self._client = client

    async def read(self, tool: str, **arguments: Any) -> Any:
        return (await read_operation(self._client, tool, **arguments)).data

    async def read_or_none(self, tool: str, **arguments: Any) -> Any:
        """Like ``read``, but None when the object does not exist (404)."""
        try:
            return await self.read(tool, **arguments)
        except CivisAPIError as exc:
            if exc.status_code == 404:
                return None
            raise


Previewer = Callable[[LiveReader, Any], Awaitable[Preview]]


def _name(obj: Any, fallback: str) -> str:
    name = obj.get("name") if isinstance(obj, dict) else None
    return f'"{one_line(name, 80)}" (#{obj.get("id")})' if name else fallback


def _question(*parts: str) -> str:
    text = " ".join(part for part in parts if part)
    return text if len(text) <= MAX_QUESTION else text[: MAX_QUESTION - 1] + "…"


async def _import_label(read: LiveReader, import_id: int) -> tuple[str, Any]:
    job = await read.read_or_none("imports_get", id=import_id)
    return (_name(job, f"import #{import_id}") if job else f"import #{import_id}"), job


def _levels(share: Any, kind: str) -> dict[int, tuple[str, str]]:
    """Grantee id -> (current level, sanitised name) for ``kind`` ("users" or "groups")."""
    found: dict[int, tuple[str, str]] = {}
    for level, key in (("read", "readers"), ("write", "writers"), ("manage", "owners")):
        for grantee in ((share or {}).get(key) or {}).get(kind) or []:
            if isinstance(grantee, dict) and isinstance(grantee.get("id"), int):
                found[grantee["id"]] = (level, one_line(grantee.get("name") or "", 60))
    return found


async def _current_shares(read: LiveReader, import_id: int, kind: str) -> dict[int, tuple[str, str]]:
    shares = await read.read("imports_list_shares", id=import_id)
    merged: dict[int, tuple[str, str]] = {}
    for share in shares or []:
        merged |= _levels(share, kind)
    return merged


async def _revoke(read: LiveReader, import_id: int, grantee_id: int, kind: str) -> Preview:
    label, _ = await _import_label(read, import_id)
    current = await _current_shares(read, import_id, kind)
    noun = "user" if kind == "users" else "group"
    if grantee_id not in current:
        return Preview("", (label,), f"{noun.capitalize()} #{grantee_id} has no share on {label}; nothing to revoke.")
    level, name = current[grantee_id]
    who = f"{noun} {name} (#{grantee_id})" if name else f"{noun} #{grantee_id}"
    return Preview(
        _question(f"Revoke {who}'s {level} access to {label}?", "They lose access at once."),
        (label, f"{grantee_id}:{level}"),
    )


async def _revoke_user(read: LiveReader, params: RevokeUserShareParams) -> Preview:
    return await _revoke(read, params.id, params.user_id, "users")


async def _revoke_group(read: LiveReader, params: RevokeGroupShareParams) -> Preview:
    return await _revoke(read, params.id, params.group_id, "groups")


async def _share(read: LiveReader, import_id: int, ids: list[int], level: str, kind: str) -> Preview:
    label, _ = await _import_label(read, import_id)
    current = await _current_shares(read, import_id, kind)
    noun = "user" if kind == "users" else "group"
    changes = []
    for grantee_id in ids[:20]:
        now, name = current.get(grantee_id, ("no access", ""))
        who = f"{name} (#{grantee_id})" if name else f"{noun} #{grantee_id}"
        changes.append(f"{who}: {now} -> {level}")
    more = f" and {len(ids) - 20} more" if len(ids) > 20 else ""
    return Preview(
        _question(
            f"Give {level} access to {label}?",
            "; ".join(changes) + more + ".",
            "They will be able to see its settings and runs.",
        ),
        (label, *sorted(f"{i}:{current.get(i, ('none', ''))[0]}" for i in ids)),
    )


async def _share_users(read: LiveReader, params: ShareWithUsersParams) -> Preview:
    return await _share(read, params.id, params.user_ids, params.permission_level, "users")


async def _share_groups(read: LiveReader, params: ShareWithGroupsParams) -> Preview:
    return await _share(read, params.id, params.group_ids, params.permission_level, "groups")


async def _transfer(read: LiveReader, params: TransferParams) -> Preview:
    label, job = await _import_label(read, params.id)
    owner = (job or {}).get("user") or {}
    owner_text = f"{one_line(owner.get('name') or '', 60)} (#{owner.get('id')})" if owner.get("id") else "unknown"
    users = await _current_shares(read, params.id, "users")
    new_name = users.get(params.user_id, ("", ""))[1]
    new_owner = f"{new_name} (#{params.user_id})" if new_name else f"user #{params.user_id}"
    deps = await read.read("imports_list_dependencies", id=params.id, user_id=params.user_id) or []
    listed = [
        f"{one_line(str(d.get('object_type') or d.get('fco_type') or 'object'), 30)} "
        f"{_name(d, '#' + str(d.get('id')))} (their access: {d.get('permission_level') or 'none'})"
        for d in deps[:10]
        if isinstance(d, dict)
    ]
    more = f" and {len(deps) - 10} more" if len(deps) > 10 else ""
    shared = "They will be shared with the new owner." if params.include_dependencies else "They are not shared."
    return Preview(
        _question(
            f"Transfer ownership of {label} from {owner_text} to {new_owner}?",
            f"Dependencies: {'; '.join(listed) + more}. {shared}" if listed else "It has no dependencies.",
            "The current owner may lose control of it.",
        ),
        (label, f"owner:{owner.get('id')}", *sorted(str(d.get("id")) for d in deps if isinstance(d, dict))),
    )


def _run_preview(label: str, run: Any, run_text: str) -> Preview:
    state = (run or {}).get("state")
    started = (run or {}).get("started_at") or (run or {}).get("created_at") or "not yet"
    if state in _ENDED:
        finished = (run or {}).get("finished_at") or "an unknown time"
        return Preview("", (label,), f"{run_text} of {label} already ended ({state} at {finished}); nothing to cancel.")
    return Preview(
        _question(
            f"Cancel {run_text} of {label}?",
            f"It is {state or 'in an unknown state'}, started {started}.",
            "Work in progress is stopped.",
        ),
        (label, f"run:{(run or {}).get('id')}:{state}"),
    )


async def _cancel_import_job(read: LiveReader, params: ImportIdParams) -> Preview:
    label, job = await _import_label(read, params.id)
    if job is None:
        return Preview("", (label,), f"Import #{params.id} was not found (HTTP 404); nothing to cancel.")
    run = job.get("last_run")
    if not run:
        return Preview("", (label,), f"{label} has no run; nothing to cancel.")
    return _run_preview(label, run, f"run #{run.get('id')}")


async def _cancel_run(read: LiveReader, params: RunIdParams, get_run: str, get_import: str | None) -> Preview:
    owner = await read.read_or_none(get_import, id=params.id) if get_import else None
    label = _name(owner, f"import #{params.id}") if owner else f"import #{params.id}"
    run = await read.read_or_none(get_run, id=params.id, run_id=params.run_id)
    if run is None:
        return Preview("", (label,), f"Run #{params.run_id} of {label} was not found (HTTP 404); nothing to cancel.")
    return _run_preview(label, run, f"run #{params.run_id}")


async def _cancel_file_run(read: LiveReader, params: RunIdParams) -> Preview:
    return await _cancel_run(read, params, "imports_get_files_runs", None)


async def _cancel_csv_run(read: LiveReader, params: RunIdParams) -> Preview:
    return await _cancel_run(read, params, "imports_get_files_csv_runs", "imports_get_files_csv")


def _archive_question(label: str, status: bool, archived_now: bool | None, archiving: str, restoring: str) -> Preview:
    """The question for an archive tool; ``archived_now`` is None when Civis does not report the current state."""
    now = "" if archived_now is None else ("It is archived now." if archived_now else "It is not archived now.")
    if status:
        return Preview(_question(f"Archive {label}?", now, archiving), (label, now))
    return Preview(_question(f"Unarchive {label}?", now, restoring), (label, now))


async def _archive_import(read: LiveReader, params: ArchiveParams) -> Preview:
    label, job = await _import_label(read, params.id)
    archived = (job or {}).get("archived")
    return _archive_question(
        label,
        params.status,
        archived if isinstance(archived, bool) else None,
        "Archiving hides it from lists and stops its scheduled runs.",
        "It becomes visible and runs on schedule again.",
    )


async def _archive_csv(read: LiveReader, params: ArchiveParams) -> Preview:
    csv = await read.read_or_none("imports_get_files_csv", id=params.id)
    label = _name(csv, f"CSV import #{params.id}") if csv else f"CSV import #{params.id}"
    # A CSV import reports no archived state, so the question states none.
    return _archive_question(
        label,
        params.status,
        None,
        "Archiving hides it from everyone it is shared with.",
        "It becomes visible again to everyone it is shared with.",
    )


async def _archive_sync(read: LiveReader, params: ArchiveSyncParams) -> Preview:
    label, job = await _import_label(read, params.id)
    sync = next(
        (s for s in (job or {}).get("syncs") or [] if isinstance(s, dict) and s.get("id") == params.sync_id), None
    )
    if job is not None and sync is None:
        return Preview("", (label,), f"{label} has no sync #{params.sync_id}; nothing to archive.")
    table = ((sync or {}).get("destination") or {}).get("database_table") or {}
    target = one_line(f"{table.get('schema')}.{table.get('table')}", 80) if table.get("table") else "its destination"
    status = params.status if params.status is not None else True
    return _archive_question(
        f"sync #{params.sync_id} of {label}",
        status,
        None,
        f"Archiving stops loading {target}.",
        f"The import job loads {target} again when it runs.",
    )


async def _remove_from_project(read: LiveReader, params: ProjectLinkParams) -> Preview:
    label, _ = await _import_label(read, params.id)
    projects = await read.read("imports_list_projects", id=params.id) or []
    project = next((p for p in projects if isinstance(p, dict) and p.get("id") == params.project_id), None)
    if project is None:
        return Preview("", (label,), f"{label} is not in project #{params.project_id}; nothing to remove.")
    return Preview(
        _question(
            f"Remove {label} from project {_name(project, '#' + str(params.project_id))}?", "The import itself is kept."
        ),
        (label, f"project:{params.project_id}"),
    )


PREVIEWERS: dict[str, Callable[[LiveReader, Any], Awaitable[Preview]]] = {
    "imports_delete_shares_users": _revoke_user,
    "imports_delete_shares_groups": _revoke_group,
    "imports_put_shares_users": _share_users,
    "imports_put_shares_groups": _share_groups,
    "imports_put_transfer": _transfer,
    "imports_post_cancel": _cancel_import_job,
    "imports_delete_files_runs": _cancel_file_run,
    "imports_delete_files_csv_runs": _cancel_csv_run,
    "imports_put_archive": _archive_import,
    "imports_put_files_csv_archive": _archive_csv,
    "imports_put_syncs_archive": _archive_sync,
    "imports_delete_projects": _remove_from_project,
}


async def build_preview(tool: str, client: CivisClient, params: RequestModel) -> Preview:
    return await PREVIEWERS[tool](LiveReader(client), params)
