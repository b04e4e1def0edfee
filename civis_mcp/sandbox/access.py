"""Who may do what: permission levels on jobs (owner, user shares, group shares) and on their dependencies.

Levels are ordered read < write < manage. The owner of a job holds manage. A user holds the highest level shared with
them directly or with any group they belong to. Dependencies (credentials, remote hosts, files) carry their own owner,
per-user shares and an optional ``public`` read flag in their directory entry.
"""

from __future__ import annotations

from typing import Any, Literal

from civis_mcp.sandbox.store import Job, Store

__all__ = ["LEVELS", "Level", "at_least", "dependency_level", "group_ids_of", "job_level"]

Level = Literal["read", "write", "manage"]
LEVELS: dict[str, int] = {"read": 1, "write": 2, "manage": 3}


def at_least(level: str | None, needed: Level) -> bool:
    return level is not None and LEVELS[level] >= LEVELS[needed]


def _best(levels: list[str]) -> Level | None:
    best: Level | None = None
    for level in levels:
        if level in LEVELS and (best is None or LEVELS[level] > LEVELS[best]):
            best = level  # type: ignore[assignment]
    return best


def group_ids_of(store: Store, user_id: int) -> set[int]:
    return {int(group["id"]) for group in store.list_entries("group") if user_id in group.get("member_ids", [])}


def job_level(store: Store, job: Job, user_id: int) -> Level | None:
    """The user's permission level on a job, or None when they have no access at all."""
    if job.owner_id == user_id:
        return "manage"
    groups = group_ids_of(store, user_id)
    return _best(
        [
            share.level
            for share in store.shares(job.id)
            if (share.grantee_type == "user" and share.grantee_id == user_id)
            or (share.grantee_type == "group" and share.grantee_id in groups)
        ]
    )


def dependency_level(entry: dict[str, Any], user_id: int) -> Level | None:
    """The user's permission level on a credential, remote host or file entry."""
    if entry.get("owner_id") == user_id:
        return "manage"
    levels = [str(entry.get("shares", {}).get(str(user_id)) or "")]
    if entry.get("public"):
        levels.append("read")
    return _best(levels)
