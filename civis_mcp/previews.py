"""Assessors: what one guarded call is about to do, read from its arguments and the live state (GET only).

Each assessor is named by its operation's ``Guard`` in ``OPERATIONS``. It returns an ``Assessment``: the action in
the server's own words, the effects this call has (none: it runs without confirmation), the facts the human is
shown, the upstream text quoted as data, or the reason there is nothing to do. The guard runs the assessor again
just before acting: if what it would show has changed, nothing is sent.

Reads go through ``LiveState``, which parses every answer into its response model and refuses anything but GET.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import BaseModel

from civis_mcp.api.errors import CivisMCPError, NotFoundError
from civis_mcp.effects import Assessment, Effect, quoted
from civis_mcp.models import (
    ArchiveParams,
    ArchiveSyncParams,
    CloneImportParams,
    CreateImportParams,
    CreateSyncParams,
    CsvImport,
    Dependency,
    Import,
    ImportIdParams,
    Project,
    ProjectLinkParams,
    ReplaceCsvImportParams,
    ReplaceImportParams,
    ReplaceSyncParams,
    RevokeGroupShareParams,
    RevokeUserShareParams,
    RunIdParams,
    Share,
    ShareWithGroupsParams,
    ShareWithUsersParams,
    Sync,
    TransferParams,
    UpdateCsvImportParams,
    UpdateImportParams,
    UpdateSyncParams,
)
from civis_mcp.models.common import ENDED_RUN_STATES, JobRun, Notifications, RunState, User
from civis_mcp.models.imports import AdvancedSyncOptionsInput, NotificationsInput

if TYPE_CHECKING:  # types only: the table imports this module, and the client brings the table
    from civis_mcp.api.client import CivisClient
    from civis_mcp.operations import Operation

__all__ = ["DESTRUCTIVE_MODES", "LiveState", "StateUnreadable"]

DESTRUCTIVE_MODES = frozenset({"drop", "truncate", "upsert"})
"""``existing_table_rows`` values that remove or overwrite rows already in the destination table."""
_KNOWN_STATES = frozenset(get_args(RunState))
_Model = TypeVar("_Model", bound=BaseModel)


class StateUnreadable(CivisMCPError):
    """What a call would change cannot be read; the guard then assumes every effect the operation can have."""


class LiveState:
    """Typed reads of the live state for assessors; refuses anything but GET, so assessing never changes anything.

    ``reads`` is the operations table by tool name, handed in by the guard: the table names the assessors below, so
    this module does not import it.
    """

    def __init__(self, client: CivisClient, reads: Mapping[str, Operation]) -> None:
        self._client = client
        self._reads = reads
        self.levels: dict[int, str] = {}
        """The caller's permission level on each import read so far (``my_permission_level``), by ID."""

    async def _read(self, method: str, model: type[_Model], **arguments: Any) -> _Model | None:
        items = await self._read_list(method, model, **arguments)
        return items[0] if items else None

    async def _read_list(self, method: str, model: type[_Model], **arguments: Any) -> list[_Model]:
        op = self._reads[f"imports_{method}"]
        if op.verb != "GET":
            raise AssertionError(f"{op.tool_name} is a {op.verb}; an assessor only reads")
        try:
            result = await self._client.call(op, op.params.model_validate(arguments))
        except NotFoundError:
            return []
        data = result.data
        rows = data if isinstance(data, list) else [data or {}]
        return [model.model_validate(row) for row in rows if isinstance(row, dict)]

    async def import_job(self, import_id: int) -> Import | None:
        """An import job (file imports are import jobs too); None when it does not exist."""
        job = await self._read("get", Import, id=import_id)
        if job is not None and job.my_permission_level:
            self.levels[import_id] = job.my_permission_level
        return job

    async def csv_import(self, import_id: int) -> CsvImport | None:
        csv = await self._read("get_files_csv", CsvImport, id=import_id)
        if csv is not None and csv.my_permission_level:
            self.levels[import_id] = csv.my_permission_level
        return csv

    async def run(self, method: str, import_id: int, run_id: int) -> JobRun | None:
        return await self._read(method, JobRun, id=import_id, run_id=run_id)

    async def shares(self, import_id: int) -> list[Share]:
        return await self._read_list("list_shares", Share, id=import_id)

    async def projects(self, import_id: int) -> list[Project]:
        return await self._read_list("list_projects", Project, id=import_id)

    async def dependencies(self, import_id: int, user_id: int) -> list[Dependency]:
        return await self._read_list("list_dependencies", Dependency, id=import_id, user_id=user_id)


# --- wording shared by assessors --------------------------------------------------------------------------------------


def _state(state: str | None) -> str:
    """A run state in the server's words when it is a documented one; quoted as data otherwise."""
    if state is None:
        return "in an unknown state"
    return state if state in _KNOWN_STATES else f"in state {quoted(state, 40)}"


def _name(what: str, name: str | None) -> tuple[tuple[str, str], ...]:
    return ((f"name of {what}", quoted(name, 120)),) if name else ()


def _table(schema: str | None, table: str | None) -> str:
    return quoted(f"{schema}.{table}" if schema else str(table), 120)


def _not_found(what: str, doing: str) -> Assessment:
    return Assessment(
        action=f"{doing} {what}", nothing_to_do=f"{what[0].upper()}{what[1:]} was not found (HTTP 404).", missing=True
    )


def _runs_on_its_own(job: Import) -> bool:
    """True when the job runs without anyone starting it: on its schedule, or after its parent job."""
    return bool(job.schedule and job.schedule.scheduled) or job.parent_id is not None


def _destructive_syncs(syncs: Iterable[Sync]) -> list[str]:
    """The destinations that a run of these syncs empties, replaces or overwrites, in words."""
    found = []
    for sync in syncs:
        options = sync.advanced_options
        mode = options.existing_table_rows if options else None
        wipe = bool(options and options.wipe_destination_table)
        if mode in DESTRUCTIVE_MODES or wipe:
            table = sync.destination.database_table if sync.destination else None
            where = _table(table.schema, table.table) if table and table.table else "its destination"
            how = f"existing_table_rows={mode}" if mode in DESTRUCTIVE_MODES else "wipe_destination_table=true"
            found.append(f"sync #{sync.id} writes {where} with {how}")
    return found


def _mode_destroys(options: AdvancedSyncOptionsInput | None) -> str | None:
    if options is None:
        return None
    if options.existing_table_rows in DESTRUCTIVE_MODES:
        return f"existing_table_rows={options.existing_table_rows}"
    return "wipe_destination_table=true" if options.wipe_destination_table else None


def _recipients(notifications: NotificationsInput | Notifications | None) -> set[str]:
    if notifications is None:
        return set()
    found: set[str] = set()
    for values in (
        notifications.urls,
        notifications.success_email_addresses,
        notifications.failure_email_addresses,
    ):
        found.update(values or [])
    return found


def _new_recipients(
    given: NotificationsInput | None, live: Notifications | None
) -> tuple[frozenset[Effect], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Recipients (e-mail addresses, webhook URLs) this call adds: they will be told about every run."""
    added = sorted(_recipients(given) - _recipients(live))
    if not added:
        return frozenset(), (), ()
    fact = f"It adds {len(added)} notification recipient(s) (e-mail or webhook), told of every run from now on."
    return (
        frozenset({Effect.EXPOSES}),
        (fact,),
        tuple((f"new recipient {i + 1}", quoted(a)) for i, a in enumerate(added)),
    )


def _merge(
    action: str,
    parts: Sequence[tuple[frozenset[Effect], tuple[str, ...], tuple[tuple[str, str], ...]]],
    quoted_names: tuple[tuple[str, str], ...] = (),
) -> Assessment:
    effects: frozenset[Effect] = frozenset().union(*(p[0] for p in parts))
    facts = tuple(fact for part in parts for fact in part[1])
    extra = tuple(pair for part in parts for pair in part[2])
    return Assessment(action=action, effects=effects, facts=facts, quoted=quoted_names + extra)


_Part = tuple[frozenset[Effect], tuple[str, ...], tuple[tuple[str, str], ...]]
_NONE: _Part = (frozenset(), (), ())


def _destroys(*facts: str) -> _Part:
    return frozenset({Effect.DESTROYS}), facts, ()


def _moves_out(*facts: str) -> _Part:
    return frozenset({Effect.MOVES_OUT}), facts, ()


# --- runs: starting and cancelling ------------------------------------------------------------------------------------


async def run_import_job(live: LiveState, params: ImportIdParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "start a run of")
    return _run_effects(f"start a run of import job #{params.id}", job)


async def run_file_import(live: LiveState, params: ImportIdParams) -> Assessment:
    # A file import is an import job (AutoImport) whose one sync loads the uploaded file.
    job = await live.import_job(params.id)
    if job is None:
        # Not every file import shows as an import job to every caller: what its run writes is unknown.
        raise StateUnreadable(f"file import #{params.id} cannot be read as an import job (HTTP 404)")
    return _run_effects(f"start a run of file import #{params.id}", job)


def _run_effects(action: str, job: Import) -> Assessment:
    destroys = _destructive_syncs(job.syncs or [])
    parts = [
        _destroys("A run " + "; ".join(destroys) + ": rows already in those tables are lost.") if destroys else _NONE,
        _moves_out(
            f"It is an outbound import: a run copies data to remote host #{job.destination.remote_host_id}."
            if job.destination
            else "It is an outbound import: a run copies data out of Civis."
        )
        if job.is_outbound
        else _NONE,
    ]
    return _merge(action, parts, _name(f"import job #{job.id}", job.name))


async def run_csv_import(live: LiveState, params: ImportIdParams) -> Assessment:
    csv = await live.csv_import(params.id)
    if csv is None:
        return _not_found(f"CSV import #{params.id}", "start a run of")
    mode = csv.existing_table_rows
    destination = csv.destination
    part = _NONE
    if mode in DESTRUCTIVE_MODES:
        where = _table(destination.schema, destination.table) if destination and destination.table else "its table"
        part = _destroys(
            f"A run writes {where} with existing_table_rows={mode}: rows already in that table are "
            + ("replaced where their keys match." if mode == "upsert" else "lost.")
        )
    return _merge(f"start a run of CSV import #{params.id}", [part], _name(f"CSV import #{params.id}", csv.name))


def _cancel(action: str, run: JobRun, names: tuple[tuple[str, str], ...], *, by_id: bool) -> Assessment:
    if run.state in ENDED_RUN_STATES:
        return Assessment(
            action=action,
            nothing_to_do=f"Run #{run.id} already ended ({run.state} at {run.finished_at or 'an unknown time'}); "
            "nothing to cancel.",
        )
    facts = [f"Run #{run.id} is {_state(run.state)}, started {run.started_at or run.created_at or 'not yet'}."]
    if not by_id:
        # POST /imports/{id}/cancel names no run: Civis cancels whichever is active when the request arrives.
        facts.append(
            f"civis-mcp re-reads the job just before sending, and sends nothing if run #{run.id} is no "
            "longer the active one."
        )
    facts.append("Work in progress is stopped.")
    return Assessment(action=action, effects=frozenset({Effect.STOPS}), facts=tuple(facts), quoted=names)


async def cancel_import_job(live: LiveState, params: ImportIdParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "cancel the run of")
    run = job.last_run
    action = f"cancel the active run of import job #{params.id}"
    if run is None or run.id is None:
        return Assessment(action=action, nothing_to_do=f"Import job #{params.id} has no run; nothing to cancel.")
    action = f"cancel run #{run.id} of import job #{params.id}"
    return _cancel(action, run, _name(f"import job #{params.id}", job.name), by_id=False)


async def cancel_file_run(live: LiveState, params: RunIdParams) -> Assessment:
    run = await live.run("get_files_runs", params.id, params.run_id)
    if run is None:
        return _not_found(f"run #{params.run_id} of file import #{params.id}", "cancel")
    return _cancel(f"cancel run #{params.run_id} of file import #{params.id}", run, (), by_id=True)


async def cancel_csv_run(live: LiveState, params: RunIdParams) -> Assessment:
    run = await live.run("get_files_csv_runs", params.id, params.run_id)
    if run is None:
        return _not_found(f"run #{params.run_id} of CSV import #{params.id}", "cancel")
    csv = await live.csv_import(params.id)
    names = _name(f"CSV import #{params.id}", csv.name if csv else None)
    return _cancel(f"cancel run #{params.run_id} of CSV import #{params.id}", run, names, by_id=True)


# --- archive ----------------------------------------------------------------------------------------------------------


async def archive_import_job(live: LiveState, params: ArchiveParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "archive")
    names = _name(f"import job #{params.id}", job.name)
    if job.archived is params.status:
        now = "archived" if params.status else "not archived"
        return Assessment(action=f"archive import job #{params.id}", nothing_to_do=f"It is {now} already.")
    if params.status:
        return Assessment(
            action=f"archive import job #{params.id}",
            effects=frozenset({Effect.STOPS}),
            facts=("Archiving hides it from lists and stops its scheduled runs.",),
            quoted=names,
        )
    restored = _run_effects(f"unarchive import job #{params.id}", job) if _runs_on_its_own(job) else None
    if restored is None or not restored.effects:
        return Assessment(action=f"unarchive import job #{params.id}", quoted=names)
    return Assessment(
        action=restored.action,
        effects=restored.effects,
        facts=("Unarchiving lets it run on its schedule again.", *restored.facts),
        quoted=restored.quoted,
    )


async def archive_csv_import(live: LiveState, params: ArchiveParams) -> Assessment:
    csv = await live.csv_import(params.id)
    if csv is None:
        return _not_found(f"CSV import #{params.id}", "archive")
    names = _name(f"CSV import #{params.id}", csv.name)
    if not params.status:
        return Assessment(action=f"unarchive CSV import #{params.id}", quoted=names)  # a CSV import has no schedule
    return Assessment(
        action=f"archive CSV import #{params.id}",
        effects=frozenset({Effect.STOPS}),
        facts=("Archiving hides it from everyone it is shared with.",),
        quoted=names,
    )


async def archive_sync(live: LiveState, params: ArchiveSyncParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "archive a sync of")
    sync = next((s for s in job.syncs or [] if s.id == params.sync_id), None)
    archiving = params.status is not False  # the API archives when status is omitted
    action = f"{'archive' if archiving else 'unarchive'} sync #{params.sync_id} of import job #{params.id}"
    if sync is None:
        return Assessment(action=action, nothing_to_do=f"Import job #{params.id} has no sync #{params.sync_id}.")
    table = sync.destination.database_table if sync.destination else None
    target = _table(table.schema, table.table) if table and table.table else "its destination"
    names = _name(f"import job #{params.id}", job.name)
    if archiving:
        return Assessment(
            action=action,
            effects=frozenset({Effect.STOPS}),
            facts=(f"Its destination {target} stops being loaded.",),
            quoted=names,
        )
    restored = _run_effects(action, job.model_copy(update={"syncs": [sync]})) if _runs_on_its_own(job) else None
    return restored if restored is not None else Assessment(action=action, quoted=names)


# --- import jobs and syncs: creating and changing ---------------------------------------------------------------------


async def create_import_job(live: LiveState, params: CreateImportParams) -> Assessment:
    parts = [
        _moves_out(
            "It is an outbound import: once it has syncs, its runs copy data to remote host "
            f"#{params.destination.remote_host_id if params.destination else '?'}."
        )
        if params.is_outbound
        else _NONE,
        _new_recipients(params.notifications, None),
    ]
    return _merge("create an import job", parts, (("name of the new import job", quoted(params.name, 120)),))


async def change_import_job(live: LiveState, params: ReplaceImportParams | UpdateImportParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "change")
    replacing = isinstance(params, ReplaceImportParams)
    verb = "replace the settings of" if replacing else "change"
    given = params.model_fields_set
    was_scheduled = _runs_on_its_own(job)
    if isinstance(params, ReplaceImportParams):
        outbound = params.is_outbound
        will_run_alone = bool(params.schedule and params.schedule.scheduled) or params.parent_id is not None
    else:
        outbound = bool(job.is_outbound)
        schedule_on = params.schedule.scheduled if params.schedule and params.schedule.scheduled is not None else None
        will_run_alone = schedule_on if schedule_on is not None else was_scheduled
    new_host = "destination" in given and (
        (params.destination.remote_host_id if params.destination else None)
        not in (None, job.destination.remote_host_id if job.destination else None)
    )
    destroys = _destructive_syncs(job.syncs or [])
    parts: list[_Part] = []
    if destroys and will_run_alone and (not was_scheduled or new_host):
        why = "points it at another destination host" if new_host else "turns on its schedule"
        parts.append(_destroys(f"It {why}; each run then " + "; ".join(destroys) + "."))
    if outbound and (replacing or given & {"source", "destination", "schedule", "next_run_at"}):
        parts.append(_moves_out("It is an outbound import: this changes where, what or when it copies data out."))
    parts.append(_new_recipients(params.notifications, job.notifications))
    names = _name(f"import job #{params.id}", job.name)
    return _merge(f"{verb} import job #{params.id}", parts, names)


async def clone_import_job(live: LiveState, params: CloneImportParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "clone")
    parts: list[_Part] = []
    if params.clone_schedule and _runs_on_its_own(job):
        copy = _run_effects("", job)
        if copy.effects:
            parts.append((copy.effects, ("The copy keeps the schedule, so it runs on its own:", *copy.facts), ()))
    return _merge(f"clone import job #{params.id}", parts, _name(f"import job #{params.id}", job.name))


async def change_sync(live: LiveState, params: CreateSyncParams | ReplaceSyncParams | UpdateSyncParams) -> Assessment:
    job = await live.import_job(params.id)
    if job is None:
        return _not_found(f"import job #{params.id}", "change the syncs of")
    names = _name(f"import job #{params.id}", job.name)
    sync: Sync | None = None
    if isinstance(params, CreateSyncParams):
        action = f"add a sync to import job #{params.id}"
    else:
        action = f"change sync #{params.sync_id} of import job #{params.id}"
        # A sync the job does not list (archived, say) is judged like a new one: from the arguments alone.
        sync = next((s for s in job.syncs or [] if s.id == params.sync_id), None)
    live_options = sync.advanced_options if sync else None
    live_mode = (live_options.existing_table_rows if live_options else None) or "fail"
    live_wipe = bool(live_options and live_options.wipe_destination_table)
    given = params.advanced_options
    keeps_live = isinstance(params, UpdateSyncParams)
    mode = given.existing_table_rows if given and given.existing_table_rows else (live_mode if keeps_live else "fail")
    wipe = (
        given.wipe_destination_table
        if given and given.wipe_destination_table is not None
        else (live_wipe if keeps_live else False)
    )
    live_table = sync.destination.database_table if sync and sync.destination else None
    new_table = params.destination.database_table if params.destination else None
    moved = new_table is not None and (
        live_table is None or (new_table.schema, new_table.table) != (live_table.schema, live_table.table)
    )
    armed = (mode in DESTRUCTIVE_MODES and mode != live_mode) or (wipe and not live_wipe)
    parts: list[_Part] = []
    if (mode in DESTRUCTIVE_MODES or wipe) and (armed or moved or sync is None) and _runs_on_its_own(job):
        how = f"existing_table_rows={mode}" if mode in DESTRUCTIVE_MODES else "wipe_destination_table=true"
        where = (
            _table(new_table.schema, new_table.table)
            if new_table and new_table.table
            else (_table(live_table.schema, live_table.table) if live_table and live_table.table else "its destination")
        )
        parts.append(
            _destroys(
                f"The job runs on its own (schedule or parent job): each run then writes {where} "
                f"with {how}, and rows already in that table are lost."
            )
        )
    if job.is_outbound and (params.source is not None or params.destination is not None or sync is None):
        parts.append(_moves_out("It is an outbound import: this changes what it copies out of Civis."))
    return _merge(action, parts, names)


# --- CSV imports: changing --------------------------------------------------------------------------------------------


async def change_csv_import(live: LiveState, params: ReplaceCsvImportParams | UpdateCsvImportParams) -> Assessment:
    csv = await live.csv_import(params.id)
    if csv is None:
        return _not_found(f"CSV import #{params.id}", "change")
    names = _name(f"CSV import #{params.id}", csv.name)
    action = f"change CSV import #{params.id}"
    live_mode = csv.existing_table_rows or "fail"
    mode = params.existing_table_rows or (live_mode if isinstance(params, UpdateCsvImportParams) else "fail")
    live_dest = csv.destination
    new_dest = params.destination
    moved = new_dest is not None and (
        (new_dest.schema, new_dest.table, new_dest.remote_host_id)
        != (
            (live_dest.schema if live_dest else None),
            (live_dest.table if live_dest else None),
            (live_dest.remote_host_id if live_dest else None),
        )
    )
    if mode not in DESTRUCTIVE_MODES or not (moved or mode != live_mode):
        return Assessment(action=action, quoted=names)
    dest = new_dest if new_dest is not None and new_dest.table else live_dest
    where = _table(dest.schema, dest.table) if dest and dest.table else "its table"
    return _merge(
        action,
        [
            _destroys(
                f"Its next run writes {where} with existing_table_rows={mode}: rows already in that table are "
                + ("replaced where their keys match." if mode == "upsert" else "lost.")
            )
        ],
        names,
    )


async def _any_import(live: LiveState, import_id: int) -> tuple[bool, str | None, User | None]:
    """Whether ``import_id`` is an import job or a CSV import (sharing covers both), its name and its owner (CSV
    imports do not report one)."""
    job = await live.import_job(import_id)
    if job is not None:
        return True, job.name, job.user
    csv = await live.csv_import(import_id)
    return (True, csv.name, None) if csv is not None else (False, None, None)


# --- sharing, ownership, projects -------------------------------------------------------------------------------------


_LEVELS = (("read", "readers"), ("write", "writers"), ("manage", "owners"))


def _current_levels(shares: list[Share], kind: str) -> dict[int, tuple[str, str | None]]:
    """Grantee id -> (current level, name) for ``kind`` ("users" or "groups")."""
    found: dict[int, tuple[str, str | None]] = {}
    for share in shares:
        for level, attribute in _LEVELS:
            holders = getattr(share, attribute)
            for grantee in (getattr(holders, kind) or []) if holders else []:
                if grantee.id is not None:
                    found[grantee.id] = (level, grantee.name)
    return found


def _email(send: bool | None, body: str | None, who: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    if not send:
        return (f"No e-mail is sent to {who}.",), ()
    if not body:
        return (f"Civis e-mails {who} its standard message.",), ()
    return (f"Civis e-mails {who} the body quoted below.",), (("e-mail body", quoted(body, 2_000)),)


async def _share(
    live: LiveState, import_id: int, ids: list[int], level: str, kind: str, send: bool | None, body: str | None
) -> Assessment:
    current = _current_levels(await live.shares(import_id), kind)
    _, import_name, _ = await _any_import(live, import_id)
    noun = "user" if kind == "users" else "group"
    listed = ", ".join(f"#{i}" for i in ids)
    changes = "; ".join(f"{noun} #{i}: {current.get(i, ('no access', None))[0]} -> {level}" for i in ids)
    names = tuple((f"name of {noun} #{i}", quoted(current[i][1], 80)) for i in ids if i in current and current[i][1])
    email_facts, email_quoted = _email(send, body, f"the {len(ids)} {noun}(s)")
    return Assessment(
        action=f"give {level} access to import #{import_id} to {len(ids)} {noun}(s): {listed}",
        effects=frozenset({Effect.EXPOSES}),
        facts=(f"Access now -> after: {changes}.", "They can see its settings, runs and logs.", *email_facts),
        quoted=_name(f"import #{import_id}", import_name) + names + email_quoted,
    )


async def share_with_users(live: LiveState, params: ShareWithUsersParams) -> Assessment:
    return await _share(
        live,
        params.id,
        params.user_ids,
        params.permission_level,
        "users",
        params.send_shared_email,
        params.share_email_body,
    )


async def share_with_groups(live: LiveState, params: ShareWithGroupsParams) -> Assessment:
    return await _share(
        live,
        params.id,
        params.group_ids,
        params.permission_level,
        "groups",
        params.send_shared_email,
        params.share_email_body,
    )


async def _revoke(live: LiveState, import_id: int, grantee_id: int, kind: str) -> Assessment:
    current = _current_levels(await live.shares(import_id), kind)
    noun = "user" if kind == "users" else "group"
    action = f"revoke {noun} #{grantee_id}'s access to import #{import_id}"
    if grantee_id not in current:
        return Assessment(
            action=action,
            nothing_to_do=f"{noun.capitalize()} #{grantee_id} has no share on import #{import_id}; nothing to revoke.",
        )
    level, name = current[grantee_id]
    _, import_name, _ = await _any_import(live, import_id)
    return Assessment(
        action=action,
        effects=frozenset({Effect.DESTROYS}),
        facts=(f"{noun.capitalize()} #{grantee_id} has {level} access now and loses it at once.",),
        quoted=_name(f"import #{import_id}", import_name) + _name(f"{noun} #{grantee_id}", name),
    )


async def revoke_user(live: LiveState, params: RevokeUserShareParams) -> Assessment:
    return await _revoke(live, params.id, params.user_id, "users")


async def revoke_group(live: LiveState, params: RevokeGroupShareParams) -> Assessment:
    return await _revoke(live, params.id, params.group_id, "groups")


async def transfer(live: LiveState, params: TransferParams) -> Assessment:
    found, import_name, owner = await _any_import(live, params.id)
    if not found:
        return _not_found(f"import #{params.id}", "transfer")
    deps = await live.dependencies(params.id, params.user_id)
    facts = [
        f"The owner now is {'user #' + str(owner.id) if owner and owner.id else 'unknown'}; the new owner is user "
        f"#{params.user_id}. The current owner may lose control of it.",
    ]
    if deps:
        listed = "; ".join(
            f"#{d.id} ({quoted(d.object_type or d.fco_type or 'object', 40)}, their access now: "
            f"{d.permission_level or 'none'})"
            for d in deps
        )
        then = "shared with the new owner" if params.include_dependencies else "not shared"
        facts.append(f"Its {len(deps)} dependencies are {then}: {listed}.")
    else:
        facts.append("It has no dependencies.")
    email_facts, email_quoted = _email(params.send_email, params.email_body, "the new owner")
    names = _name(f"import #{params.id}", import_name)
    if owner and owner.name:
        names += ((f"name of the current owner #{owner.id}", quoted(owner.name, 80)),)
    names += tuple((f"name of dependency #{d.id}", quoted(d.name, 80)) for d in deps if d.name)
    return Assessment(
        action=f"transfer ownership of import #{params.id} to user #{params.user_id}",
        effects=frozenset({Effect.EXPOSES}),
        facts=(*facts, *email_facts),
        quoted=names + email_quoted,
    )


async def add_to_project(live: LiveState, params: ProjectLinkParams) -> Assessment:
    projects = await live.projects(params.id)
    action = f"add import #{params.id} to project #{params.project_id}"
    if any(p.id == params.project_id for p in projects):
        # Already in it: adding again shows it to nobody new.
        return Assessment(action=action, facts=(f"Import #{params.id} is in project #{params.project_id} already.",))
    job = await live.import_job(params.id)
    return Assessment(
        action=action,
        effects=frozenset({Effect.EXPOSES}),
        quoted=_name(f"import #{params.id}", job.name if job else None),
        facts=(
            "Everyone who can see the project can see the import, and a project that auto-shares gives its members "
            "access to it. The Imports API cannot read a project's members before the import is in it, so civis-mcp "
            "cannot list them here.",
        ),
    )


async def remove_from_project(live: LiveState, params: ProjectLinkParams) -> Assessment:
    projects = await live.projects(params.id)
    project = next((p for p in projects if p.id == params.project_id), None)
    action = f"remove import #{params.id} from project #{params.project_id}"
    if project is None:
        return Assessment(
            action=action,
            nothing_to_do=f"Import #{params.id} is not in project #{params.project_id}; nothing to remove.",
        )
    members = ", ".join(f"#{u.id}" for u in project.users or [] if u.id is not None) or "none listed"
    job = await live.import_job(params.id)
    return Assessment(
        action=action,
        effects=frozenset({Effect.STOPS}),
        facts=(f"It is hidden from the project's view (members: {members}); the import itself is kept.",),
        quoted=_name(f"import #{params.id}", job.name if job else None)
        + _name(f"project #{params.project_id}", project.name),
    )


# --- the state a write left ---------------------------------------------------------------------------------------


async def access_now(live: LiveState, params: RevokeUserShareParams | RevokeGroupShareParams) -> str:
    """Who has access to the import after a revoke, level by level (names come from Civis: the caller fences them)."""
    shares = await live.shares(params.id)
    parts = []
    for level, attribute in _LEVELS:
        holders = [getattr(share, attribute) for share in shares]
        users = [g for h in holders if h for g in h.users or []]
        groups = [g for h in holders if h for g in h.groups or []]
        named = [f"user #{g.id} {g.name or ''}".strip() for g in users] + [
            f"group #{g.id} {g.name or ''}".strip() for g in groups
        ]
        parts.append(f"{level}: {', '.join(named) or 'nobody'}")
    return f"Access to import #{params.id} now: " + "; ".join(parts) + "."


async def owner_now(live: LiveState, params: TransferParams) -> str:
    _, _, owner = await _any_import(live, params.id)
    if owner is not None and owner.id is not None:
        return f"Import #{params.id} is now owned by user #{owner.id} {owner.name or ''}".rstrip() + "."
    managers = _current_levels(await live.shares(params.id), "users")
    holders = [f"user #{i} {name or ''}".rstrip() for i, (level, name) in managers.items() if level == "manage"]
    return f"Manage access to import #{params.id} now: {', '.join(holders) or 'nobody listed'}."
