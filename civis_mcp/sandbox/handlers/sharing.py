"""Shares, dependencies, ownership transfer and projects of an import (an import job or a CSV import).

Sharing and transferring need manage permission; reading shares, dependencies and projects needs read; adding to or
removing from a project needs write on the import. A transfer makes the new user the owner; the previous owner keeps
manage through a share, so a transfer cannot lock the person who made it out of the import.
"""

from __future__ import annotations

from typing import Any

from civis_mcp import models as m
from civis_mcp.sandbox.access import at_least, dependency_level
from civis_mcp.sandbox.demo import DEMO_USER_ID
from civis_mcp.sandbox.demo_files import DEMO_FILES
from civis_mcp.sandbox.errors import ApiError, not_found, unprocessable
from civis_mcp.sandbox.handlers.base import Ctx, Reply
from civis_mcp.sandbox.store import GranteeType, Job, JobKind
from civis_mcp.sandbox.views import project_view

__all__ = ["dependencies", "share_index"]

SHAREABLE: tuple[JobKind, ...] = ("import", "csv_import")
WHAT = "Import"


def share_index(ctx: Ctx, job: Job) -> dict[str, Any]:
    """ShareIndex: users and groups by level (the owner among the owners)."""
    sets: dict[str, dict[str, list[dict[str, Any]]]] = {
        level: {"users": [], "groups": []} for level in ("read", "write", "manage")
    }
    owner = ctx.store.get_entry("user", job.owner_id) or {}
    sets["manage"]["users"].append({"id": job.owner_id, "name": owner.get("name")})
    users = groups = 0
    for share in ctx.store.shares(job.id):
        if share.grantee_type == "user" and share.grantee_id == job.owner_id:
            continue
        entry = ctx.store.get_entry(share.grantee_type, share.grantee_id) or {}
        sets[share.level][f"{share.grantee_type}s"].append({"id": share.grantee_id, "name": entry.get("name")})
        users += share.grantee_type == "user"
        groups += share.grantee_type == "group"
    return {
        "readers": sets["read"],
        "writers": sets["write"],
        "owners": sets["manage"],
        "total_user_shares": users + 1,
        "total_group_shares": groups,
    }


def list_shares(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "read", WHAT)
    return Reply(200, [share_index(ctx, job)])


def _share(ctx: Ctx, job: Job, grantee_type: GranteeType, ids: list[int], level: str) -> None:
    for grantee_id in ids:
        if ctx.store.get_entry(grantee_type, grantee_id) is None:
            raise unprocessable(f"{grantee_type}_ids: {grantee_type} {grantee_id} does not exist.")
    with ctx.store.transaction():
        for grantee_id in ids:
            if grantee_type == "user" and grantee_id == job.owner_id:
                continue  # the owner always holds manage
            ctx.store.set_share(job.id, grantee_type, grantee_id, level)


def share_with_users(ctx: Ctx, p: m.ShareWithUsersParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "manage", WHAT)
    _share(ctx, job, "user", p.user_ids, p.permission_level)
    return Reply(200, share_index(ctx, job))


def share_with_groups(ctx: Ctx, p: m.ShareWithGroupsParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "manage", WHAT)
    _share(ctx, job, "group", p.group_ids, p.permission_level)
    return Reply(200, share_index(ctx, job))


def revoke_user(ctx: Ctx, p: m.RevokeUserShareParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "manage", WHAT)
    if p.user_id == job.owner_id:
        raise unprocessable(f"user_id: user {p.user_id} owns import {job.id}; transfer it before revoking them.")
    if ctx.store.get_entry("user", p.user_id) is None:
        raise not_found(f"User {p.user_id}")
    ctx.store.delete_share(job.id, "user", p.user_id)  # idempotent, like any DELETE: no share left is the goal
    return Reply(204)


def revoke_group(ctx: Ctx, p: m.RevokeGroupShareParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "manage", WHAT)
    if ctx.store.get_entry("group", p.group_id) is None:
        raise not_found(f"Group {p.group_id}")
    ctx.store.delete_share(job.id, "group", p.group_id)
    return Reply(204)


# --- dependencies -----------------------------------------------------------------------------------------------------

_TYPES = {
    "credential": ("Credential", "credential"),
    "remote_host": ("RemoteHost", "remote host"),
    "file": ("File", "file"),
}


def _file_entry(ctx: Ctx, file_id: int) -> dict[str, Any] | None:
    stored = ctx.store.get_file(file_id)
    if stored is not None:
        return {"id": file_id, "name": stored.name, "owner_id": stored.owner_id, "shares": stored.shares}
    demo = DEMO_FILES.get(file_id)  # a sandbox started without demo data still knows the demo files
    return None if demo is None else {"id": file_id, "name": demo.name, "owner_id": DEMO_USER_ID}


def dependencies(ctx: Ctx, job: Job) -> list[tuple[str, dict[str, Any]]]:
    """(kind, directory entry) of every object the import uses, each once, in a stable order."""
    wanted: list[tuple[str, Any]] = []
    doc = job.doc
    if job.kind == "import":
        for side in (doc.get("source"), doc.get("destination")):
            if side:
                wanted.append(("remote_host", side.get("remote_host_id")))
                wanted.append(("credential", side.get("credential_id")))
                wanted.extend(("credential", extra) for extra in side.get("additional_credentials") or [])
        for sync in ctx.store.list_syncs(job.id):
            file_ref = (sync.doc.get("source") or {}).get("file")
            if isinstance(file_ref, dict) and file_ref.get("id"):
                wanted.append(("file", file_ref["id"]))
    else:
        destination = doc.get("destination") or {}
        wanted.append(("remote_host", destination.get("remote_host_id")))
        wanted.append(("credential", destination.get("credential_id")))
        source = doc.get("source") or {}
        wanted.extend(("file", file_id) for file_id in source.get("file_ids") or [])
        storage = source.get("storage_path") or {}
        if storage:
            wanted.append(("remote_host", storage.get("storage_host_id")))
            wanted.append(("credential", storage.get("credential_id")))
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, int]] = set()
    for kind, object_id in wanted:
        if not isinstance(object_id, int) or (kind, object_id) in seen:
            continue
        seen.add((kind, object_id))
        if kind == "file":
            entry = _file_entry(ctx, object_id)
        else:
            entry = ctx.store.get_entry("credential" if kind == "credential" else "remote_host", object_id)
        if entry is not None:
            found.append((kind, entry))
    return found


def _dependency_view(ctx: Ctx, kind: str, entry: dict[str, Any], target_id: int | None) -> dict[str, Any]:
    object_type, fco_type = _TYPES[kind]
    mine = dependency_level(entry, ctx.caller_id)
    target_level = None if target_id is None else dependency_level(entry, target_id)
    return {
        "object_type": object_type,
        "fco_type": fco_type,
        "id": entry["id"],
        "name": entry.get("name") if mine is not None else None,
        "permission_level": target_level,
        "description": entry.get("type"),
        "shareable": at_least(mine, "manage"),
    }


def list_dependencies(ctx: Ctx, p: m.ListDependenciesParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "read", WHAT)
    if p.user_id is not None:
        ctx.user(p.user_id, "user_id")
    return Reply(200, [_dependency_view(ctx, kind, entry, p.user_id) for kind, entry in dependencies(ctx, job)])


def _grant(ctx: Ctx, kind: str, entry: dict[str, Any], user_id: int) -> bool:
    """Give the user manage on a dependency the caller manages; False when the caller cannot share it."""
    if not at_least(dependency_level(entry, ctx.caller_id), "manage") or kind == "remote_host":
        return False
    if kind == "file":
        ctx.store.share_file(int(entry["id"]), user_id, "manage")
        return ctx.store.get_file(int(entry["id"])) is not None
    entry.setdefault("shares", {})[str(user_id)] = "manage"
    ctx.store.put_entry("credential", int(entry["id"]), entry)
    return True


def transfer(ctx: Ctx, p: m.TransferParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "manage", WHAT)
    ctx.user(p.user_id, "user_id")
    results: list[dict[str, Any]] = []
    with ctx.store.transaction():
        for kind, entry in dependencies(ctx, job):
            shared = p.include_dependencies and _grant(ctx, kind, entry, p.user_id)
            view = _dependency_view(ctx, kind, entry, p.user_id)
            view.pop("shareable")
            results.append({**view, "shared": shared})
        previous = job.owner_id
        if p.user_id != previous:
            ctx.store.delete_share(job.id, "user", p.user_id)
            job.owner_id = p.user_id
            ctx.store.set_share(job.id, "user", previous, "manage")
            ctx.store.save_job(job)
    return Reply(200, {"dependencies": results})


# --- projects ---------------------------------------------------------------------------------------------------------


def list_projects(ctx: Ctx, p: m.ListProjectsParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "read", WHAT)
    views = []
    for project_id in ctx.store.project_ids(job.id):
        project = ctx.store.get_entry("project", project_id)
        if project is not None and bool(project.get("hidden")) == bool(p.hidden):
            views.append(project_view(ctx.store, project))
    return Reply(200, views)


def _project(ctx: Ctx, project_id: int) -> dict[str, Any]:
    project = ctx.store.get_entry("project", project_id)
    if project is None:
        raise not_found(f"Project {project_id}")
    if ctx.caller_id != project.get("author_id") and ctx.caller_id not in project.get("user_ids", []):
        raise ApiError(403, f"You need write permission on project {project_id} for this; it is not shared with you.")
    return project


def add_to_project(ctx: Ctx, p: m.ProjectLinkParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "write", WHAT)
    _project(ctx, p.project_id)
    ctx.store.link_project(job.id, p.project_id)
    return Reply(204)


def remove_from_project(ctx: Ctx, p: m.ProjectLinkParams) -> Reply:
    job, _ = ctx.job(p.id, SHAREABLE, "write", WHAT)
    _project(ctx, p.project_id)
    ctx.store.unlink_project(job.id, p.project_id)  # idempotent, like any DELETE
    return Reply(204)
