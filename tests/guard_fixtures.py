"""A live Civis account on the fake server for the guard tests, and the twelve calls that always have an effect
(every DELETE, shares, transfer, cancel, archive) made against it; tests/test_effects.py drives the rest of the
policy against the sandbox.

``CivisWorld`` holds mutable state (an import job with a running run and a sync, its shares, projects and
dependencies, a file import run, a CSV import and its run) and installs routes on a ``FakeCivis`` that answer from
that state, in camelCase, as Civis does. Tests change the state (a run finishing, a share level changing) while a
call is in flight and watch what the guard does.

``CASES`` holds one representative call per destructive tool: its arguments, the civis-python method that sends the
same request, the write request expected upstream (checked against civis-python itself in ``test_guard``), the
answer Civis gives, and the live facts its preview must show.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_civis import FakeCivis, Recorded, Reply

IMPORT_ID = 5
SYNC_ID = 7
JOB_RUN_ID = 77
FILE_IMPORT_ID = 8
FILE_RUN_ID = 81
CSV_ID = 9
CSV_RUN_ID = 91
PROJECT_ID = 3
OWNER = {"id": 1, "name": "Ann Owner"}
READER = {"id": 12, "name": "Bob Reader"}
WRITER = {"id": 13, "name": "Cat Writer"}
STRANGER_ID = 14  # a user with no share
GROUP_READ = {"id": 40, "name": "Analysts"}
GROUP_WRITE = {"id": 41, "name": "Engineers"}
GROUP_MANAGE = {"id": 42, "name": "Admins"}
NO_SHARE_GROUP_ID = 43
STARTED = "2024-05-01T10:00:00.000Z"
FINISHED = "2024-05-01T10:05:00.000Z"


def _share_set(users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"users": users, "groups": groups}


@dataclass
class CivisWorld:
    """The live state behind the fake's routes. Change it, and the next GET shows the change."""

    job: dict[str, Any] = field(
        default_factory=lambda: {
            "id": IMPORT_ID,
            "name": "Nightly sales",
            "syncType": "Dbsync",
            "isOutbound": False,
            "user": dict(OWNER),
            "archived": False,
            "hidden": False,
            "lastRun": {"id": JOB_RUN_ID, "state": "running", "createdAt": STARTED, "startedAt": STARTED},
            "syncs": [
                {
                    "id": SYNC_ID,
                    "source": {"path": "ops.sales_raw"},
                    "destination": {"databaseTable": {"schema": "sales", "table": "orders"}},
                }
            ],
        }
    )
    shares: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: {
            "readers": _share_set([dict(READER)], [dict(GROUP_READ)]),
            "writers": _share_set([dict(WRITER)], [dict(GROUP_WRITE)]),
            "owners": _share_set([dict(OWNER)], [dict(GROUP_MANAGE)]),
        }
    )
    projects: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": PROJECT_ID, "name": "Q3 reporting", "author": dict(OWNER), "archived": False}]
    )
    dependencies: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "objectType": "Credential",
                "fcoType": "credentials",
                "id": 900,
                "name": "Warehouse login",
                "permissionLevel": None,
                "shareable": True,
            },
            {
                "objectType": "Remote Host",
                "fcoType": "remote_hosts",
                "id": 901,
                "name": "Redshift prod",
                "permissionLevel": "read",
                "shareable": False,
            },
        ]
    )
    file_run: dict[str, Any] = field(
        default_factory=lambda: {"id": FILE_RUN_ID, "state": "running", "createdAt": STARTED, "startedAt": STARTED}
    )
    csv_import: dict[str, Any] = field(
        default_factory=lambda: {"id": CSV_ID, "name": "People upload", "hidden": False, "firstRowIsHeader": True}
    )
    csv_run: dict[str, Any] = field(
        default_factory=lambda: {"id": CSV_RUN_ID, "csvImportId": CSV_ID, "state": "queued", "createdAt": STARTED}
    )
    _after_get: dict[str, list[Callable[[CivisWorld], None]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- changes tests make ---------------------------------------------------------------------------------------

    def set_user_level(self, user: dict[str, Any], level: str, kind: str = "users") -> None:
        """Move a user (or group, with kind="groups") to the share level "readers", "writers" or "owners"."""
        for share_set in self.shares.values():
            share_set[kind] = [g for g in share_set[kind] if g["id"] != user["id"]]
        self.shares[level][kind].append(dict(user))

    def finish(self, run: dict[str, Any], state: str = "succeeded") -> None:
        run.update(state=state, finishedAt=FINISHED)

    def after_next_get(self, path: str, change: Callable[[CivisWorld], None]) -> None:
        """Apply ``change`` right after the next GET of ``path`` has been answered (from the state before it)."""
        with self._lock:
            self._after_get.setdefault(path, []).append(change)

    # --- routes ---------------------------------------------------------------------------------------------------

    def _get(self, path: str, produce: Callable[[], Any]) -> Callable[[Recorded], Reply]:
        def answer(_: Recorded) -> Reply:
            with self._lock:
                body = copy.deepcopy(produce())
                pending = self._after_get.pop(path, [])
            for change in pending:
                change(self)
            return body if isinstance(body, Reply) else Reply(200, body)

        return answer

    def install(self, fake: FakeCivis) -> None:
        """Route every GET a preview makes, and every write of the twelve destructive tools (and one write tool)."""
        gets: dict[str, Callable[[], Any]] = {
            f"/imports/{IMPORT_ID}": lambda: self.job,
            f"/imports/{IMPORT_ID}/shares": lambda: [
                {**self.shares, "totalUserShares": 3, "totalGroupShares": 3, "userShares": None}
            ],
            f"/imports/{IMPORT_ID}/projects": lambda: self.projects,
            f"/imports/{IMPORT_ID}/dependencies": lambda: self.dependencies,
            f"/imports/files/{FILE_IMPORT_ID}/runs/{FILE_RUN_ID}": lambda: self.file_run,
            f"/imports/files/csv/{CSV_ID}": lambda: self.csv_import,
            f"/imports/files/csv/{CSV_ID}/runs/{CSV_RUN_ID}": lambda: self.csv_run,
        }
        for path, produce in gets.items():
            fake.route("GET", path, self._get(path, produce))
        for case in CASES.values():
            fake.route(case.expected.method, case.expected.path, case.reply)
        fake.route("PATCH", f"/imports/files/csv/{CSV_ID}", lambda r: Reply(200, {**self.csv_import, **(r.json or {})}))


@dataclass(frozen=True)
class WireRequest:
    """A request as it reached the fake: method, path, query pairs and the decoded JSON body (None: no body)."""

    method: str
    path: str
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, recorded: Recorded) -> WireRequest:
        return cls(recorded.method, recorded.path, recorded.json, tuple(recorded.query))


@dataclass(frozen=True)
class Case:
    """One destructive tool, called once with representative arguments."""

    tool: str
    arguments: dict[str, Any]
    civis_method: str
    """Method of ``civis.APIClient().imports`` sending the same request (called with ``arguments`` as keywords)."""
    expected: WireRequest
    reply: Reply
    facts: tuple[str, ...]
    """Substrings of live state the question put to the human must contain."""


_SHARE_INDEX = {
    "readers": _share_set([READER], [GROUP_READ]),
    "writers": _share_set([WRITER], [GROUP_WRITE]),
    "owners": _share_set([OWNER], [GROUP_MANAGE]),
    "totalUserShares": 3,
    "totalGroupShares": 3,
}

_CASES = (
    Case(
        "imports_delete_shares_users",
        {"id": IMPORT_ID, "user_id": READER["id"]},
        "delete_shares_users",
        WireRequest("DELETE", f"/imports/{IMPORT_ID}/shares/users/{READER['id']}", {}),
        Reply(204),
        (
            f"revoke user #{READER['id']}'s access to import #{IMPORT_ID}",
            f"User #{READER['id']} has read access now",
            f'name of user #{READER["id"]}: "Bob Reader"',
        ),
    ),
    Case(
        "imports_delete_shares_groups",
        {"id": IMPORT_ID, "group_id": GROUP_WRITE["id"]},
        "delete_shares_groups",
        WireRequest("DELETE", f"/imports/{IMPORT_ID}/shares/groups/{GROUP_WRITE['id']}", {}),
        Reply(204),
        (f"revoke group #{GROUP_WRITE['id']}'s access", f"Group #{GROUP_WRITE['id']} has write access now"),
    ),
    Case(
        "imports_put_shares_users",
        {
            "id": IMPORT_ID,
            "user_ids": [READER["id"], STRANGER_ID],
            "permission_level": "write",
            "share_email_body": "Private note for Bob",
            "send_shared_email": True,
        },
        "put_shares_users",
        WireRequest(
            "PUT",
            f"/imports/{IMPORT_ID}/shares/users",
            {
                "user_ids": [READER["id"], STRANGER_ID],
                "permission_level": "write",
                "share_email_body": "Private note for Bob",
                "send_shared_email": True,
            },
        ),
        Reply(200, _SHARE_INDEX),
        (
            f"give write access to import #{IMPORT_ID} to 2 user(s): #{READER['id']}, #{STRANGER_ID}",
            f"user #{READER['id']}: read -> write",
            f"user #{STRANGER_ID}: no access -> write",
            '- e-mail body: "Private note for Bob"',
        ),
    ),
    Case(
        "imports_put_shares_groups",
        {"id": IMPORT_ID, "group_ids": [GROUP_READ["id"]], "permission_level": "manage"},
        "put_shares_groups",
        WireRequest(
            "PUT",
            f"/imports/{IMPORT_ID}/shares/groups",
            {"group_ids": [GROUP_READ["id"]], "permission_level": "manage"},
        ),
        Reply(200, _SHARE_INDEX),
        (f"give manage access to import #{IMPORT_ID}", f"group #{GROUP_READ['id']}: read -> manage"),
    ),
    Case(
        "imports_put_transfer",
        {
            "id": IMPORT_ID,
            "user_id": WRITER["id"],
            "include_dependencies": True,
            "email_body": "Over to you",
            "send_email": False,
        },
        "put_transfer",
        WireRequest(
            "PUT",
            f"/imports/{IMPORT_ID}/transfer",
            {"user_id": WRITER["id"], "include_dependencies": True, "email_body": "Over to you", "send_email": False},
        ),
        Reply(
            200,
            {
                "dependencies": [
                    {"objectType": "Credential", "id": 900, "name": "Warehouse login", "shared": True},
                    {"objectType": "Remote Host", "id": 901, "name": "Redshift prod", "shared": False},
                ]
            },
        ),
        (
            f"transfer ownership of import #{IMPORT_ID} to user #{WRITER['id']}",
            "The owner now is user #1",
            '#900 ("Credential", their access now: none)',
            '#901 ("Remote Host", their access now: read)',
            "dependencies are shared with the new owner",
        ),
    ),
    Case(
        "imports_post_cancel",
        {"id": IMPORT_ID},
        "post_cancel",
        WireRequest("POST", f"/imports/{IMPORT_ID}/cancel", {}),
        Reply(202, {"id": JOB_RUN_ID, "state": "cancelled", "isCancelRequested": True}),
        (f"cancel run #{JOB_RUN_ID} of import job #{IMPORT_ID}", f"Run #{JOB_RUN_ID} is running, started {STARTED}."),
    ),
    Case(
        "imports_delete_files_runs",
        {"id": FILE_IMPORT_ID, "run_id": FILE_RUN_ID},
        "delete_files_runs",
        WireRequest("DELETE", f"/imports/files/{FILE_IMPORT_ID}/runs/{FILE_RUN_ID}", {}),
        Reply(204),
        (
            f"cancel run #{FILE_RUN_ID} of file import #{FILE_IMPORT_ID}",
            f"Run #{FILE_RUN_ID} is running, started {STARTED}.",
        ),
    ),
    Case(
        "imports_delete_files_csv_runs",
        {"id": CSV_ID, "run_id": CSV_RUN_ID},
        "delete_files_csv_runs",
        WireRequest("DELETE", f"/imports/files/csv/{CSV_ID}/runs/{CSV_RUN_ID}", {}),
        Reply(204),
        (f"cancel run #{CSV_RUN_ID} of CSV import #{CSV_ID}", f"Run #{CSV_RUN_ID} is queued, started {STARTED}."),
    ),
    Case(
        "imports_put_archive",
        {"id": IMPORT_ID, "status": True},
        "put_archive",
        WireRequest("PUT", f"/imports/{IMPORT_ID}/archive", {"status": True}),
        Reply(200, {"id": IMPORT_ID, "name": "Nightly sales", "archived": True}),
        (f"archive import job #{IMPORT_ID}", "Archiving hides it from lists and stops its scheduled runs."),
    ),
    Case(
        "imports_put_files_csv_archive",
        {"id": CSV_ID, "status": True},
        "put_files_csv_archive",
        WireRequest("PUT", f"/imports/files/csv/{CSV_ID}/archive", {"status": True}),
        Reply(200, {"id": CSV_ID, "name": "People upload", "hidden": True}),
        (f"archive CSV import #{CSV_ID}", "Archiving hides it from everyone it is shared with."),
    ),
    Case(
        "imports_put_syncs_archive",
        {"id": IMPORT_ID, "sync_id": SYNC_ID, "status": True},
        "put_syncs_archive",
        WireRequest("PUT", f"/imports/{IMPORT_ID}/syncs/{SYNC_ID}/archive", {"status": True}),
        Reply(200, {"id": SYNC_ID, "destination": {"databaseTable": {"schema": "sales", "table": "orders"}}}),
        (f"archive sync #{SYNC_ID} of import job #{IMPORT_ID}", 'Its destination "sales.orders" stops being loaded.'),
    ),
    Case(
        "imports_delete_projects",
        {"id": IMPORT_ID, "project_id": PROJECT_ID},
        "delete_projects",
        WireRequest("DELETE", f"/imports/{IMPORT_ID}/projects/{PROJECT_ID}", {}),
        Reply(204),
        (
            f"remove import #{IMPORT_ID} from project #{PROJECT_ID}",
            f'name of project #{PROJECT_ID}: "Q3 reporting"',
        ),
    ),
)
CASES: dict[str, Case] = {case.tool: case for case in _CASES}
