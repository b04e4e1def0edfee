"""What every handler gets and gives: the request context (``Ctx``), the answer (``Reply``), and ``resolve``.

A handler is a plain function ``(ctx, params) -> Reply``; ``params`` is the operation's validated request model. Each
entry of OPERATIONS names its handler (``sandbox="csv.get_csv_import"``) and the app resolves that name when it
builds the route, so a route is never written twice and there is no registry beside the table. Reply bodies are
snake_case documents (or lists of them); the app shapes them with the operation's response model.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from civis_mcp.sandbox.access import Level, at_least, dependency_level, job_level
from civis_mcp.sandbox.demo_files import DEMO_FILES
from civis_mcp.sandbox.errors import ApiError, not_found, unprocessable
from civis_mcp.sandbox.runs import RunClock
from civis_mcp.sandbox.state import Sandbox
from civis_mcp.sandbox.store import Job, JobKind, Store

__all__ = ["Ctx", "Handler", "Reply", "paged", "resolve", "sort_by"]

_NAMES: dict[str, str] = {"import": "Import job", "csv_import": "CSV import", "batch": "Batch import"}
DEFAULT_PAGE_SIZE = 20


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    sandbox: Sandbox
    base_url: str
    """The sandbox's own URL as the client reached it, with a trailing slash (for upload and run URIs)."""
    caller: int | None = None
    """The user whose key the request carries (None: the sandbox's configured caller)."""

    @property
    def store(self) -> Store:
        return self.sandbox.store

    @property
    def clock(self) -> RunClock:
        return self.sandbox.clock

    @property
    def caller_id(self) -> int:
        return self.caller if self.caller is not None else self.sandbox.caller_id

    @property
    def caller_name(self) -> str:
        if self.caller is None or self.caller == self.sandbox.caller_id:
            return self.sandbox.caller_name
        user = self.store.get_entry("user", self.caller) or {}
        return str(user.get("name") or user.get("username") or self.caller)

    def level_on(self, job: Job) -> Level | None:
        return job_level(self.store, job, self.caller_id)

    def job(self, job_id: int, kinds: Sequence[JobKind], need: Level, what: str | None = None) -> tuple[Job, Level]:
        """The job with this ID if it is one of ``kinds`` (else 404) and the caller holds ``need`` (else 403)."""
        name = what or _NAMES[kinds[0]]
        job = self.store.get_job(job_id)
        if job is None or job.kind not in kinds:
            raise not_found(f"{name} {job_id}")
        level = self.level_on(job)
        if not at_least(level, need):
            having = f"you have {level}" if level else "it is not shared with you"
            raise ApiError(403, f"You need {need} permission on {name.lower()} {job_id} for this; {having}.")
        assert level is not None
        return job, level

    def user(self, user_id: int, field_name: str) -> dict[str, Any]:
        user = self.store.get_entry("user", user_id)
        if user is None:
            raise unprocessable(f"{field_name}: user {user_id} does not exist.")
        return user

    def check_host(self, host_id: int | None, field_name: str) -> None:
        if host_id is not None and self.store.get_entry("remote_host", host_id) is None:
            raise unprocessable(f"{field_name}: remote host {host_id} does not exist.")

    def check_credential(self, credential_id: int | None, field_name: str) -> None:
        if credential_id is None:
            return
        credential = self.store.get_entry("credential", credential_id)
        if credential is None:
            raise unprocessable(f"{field_name}: credential {credential_id} does not exist.")
        if dependency_level(credential, self.caller_id) is None:
            raise unprocessable(f"{field_name}: credential {credential_id} is not shared with you.")

    def check_files(self, file_ids: Iterable[int], field_name: str) -> None:
        for file_id in file_ids:
            if file_id not in DEMO_FILES and self.store.get_file(file_id) is None:
                raise unprocessable(f"{field_name}: file {file_id} does not exist.")


Handler = Callable[[Ctx, Any], Reply]
_PACKAGE = "civis_mcp.sandbox.handlers"


def resolve(name: str) -> Handler:
    """The handler an operation names: ``module.function`` under this package, or ``package.module:function``.
    A clear ``RuntimeError`` when the name points at nothing callable."""
    absolute = ":" in name
    module_name, _, function_name = name.rpartition(":" if absolute else ".")
    if not absolute:
        module_name = f"{_PACKAGE}.{module_name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but imports something missing: that error, not this one
        raise RuntimeError(f"no sandbox handler {name!r}: there is no module {module_name}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise RuntimeError(f"no sandbox handler {name!r}: {module_name} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]


T = TypeVar("T")


def sort_by(items: list[T], key: Callable[[T], Any], order_dir: str | None, *, default_dir: str = "desc") -> list[T]:
    return sorted(items, key=key, reverse=(order_dir or default_dir) == "desc")


def paged(items: Sequence[Any], *, limit: int | None, page_num: int | None) -> Reply:
    """One page of ``items`` with Civis's X-Pagination-* headers."""
    per_page = limit or DEFAULT_PAGE_SIZE
    page = page_num or 1
    start = (page - 1) * per_page
    total = len(items)
    return Reply(
        200,
        list(items[start : start + per_page]),
        {
            "X-Pagination-Per-Page": str(per_page),
            "X-Pagination-Current-Page": str(page),
            "X-Pagination-Total-Pages": str(math.ceil(total / per_page)),
            "X-Pagination-Total-Entries": str(total),
        },
    )
