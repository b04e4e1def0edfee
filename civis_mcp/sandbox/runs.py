"""Runs that really run: the run clock, the work each kind of job does, cancellation.

A run is created "queued". The clock (an asyncio task per run, on the server's event loop) moves it to "running"
after ``run_step_seconds``, waits one more step, then does the work in a worker thread so requests keep being served.
With ``manual_clock`` (for tests) a step ends only when the test calls ``RunClock.advance``, not after a sleep:

* CSV imports: ``csv_engine.execute_csv_import`` with the settings the run was started with, the demo files and every
  uploaded file, into the SQLite warehouse. The engine's log lines are the run's logs.
* Import jobs: each sync in turn (``import_jobs``): AutoImport files through the engine, Dbsync copies between the
  warehouse and remote databases (``dbsync``), Google Sheets imports and exports (``sheets``).
* Batch imports: the engine, appending all the batch's files to the destination table.

Cancelling (``cancel``): a queued run, or a running run not yet inside the engine, is cancelled at once; a run inside
the engine gets ``is_cancel_requested`` and the engine, which polls it, rolls its load back and ends "cancelled".
Cancelling a finished run changes nothing (the run keeps its state; see the README of the sandbox).

Runs left queued or running when the server stopped are resumed from "queued" on the next start (the warehouse rolled
back any half-done load with its transaction). Seeded demo runs are not driven (``driven=False``): a demo "running"
run stays running until someone cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from civis_mcp.sandbox.csv_engine import CsvJob, CsvOutcome, execute_csv_import
from civis_mcp.sandbox.databases import Hosts, Warehouse
from civis_mcp.sandbox.demo_files import DEMO_FILES
from civis_mcp.sandbox.import_jobs import perform_import_job
from civis_mcp.sandbox.store import Job, Run, Store, format_time, now
from civis_mcp.sandbox.syncs import LogFn

__all__ = ["LogFn", "Outcome", "RunClock", "Warehouse", "cancel_run", "perform"]

logger = logging.getLogger("civis_mcp.sandbox.runs")


@dataclass
class Outcome:
    state: str
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def known_files(store: Store) -> dict[int, bytes]:
    """Every file a run can read: the demo files, then uploads (which win on a shared ID)."""
    files = {file_id: demo.content for file_id, demo in DEMO_FILES.items()}
    files.update(store.file_contents())
    return files


def _engine(
    warehouse: Warehouse,
    settings: Mapping[str, Any],
    files: Mapping[int, bytes],
    run_id: int,
    log: LogFn,
    should_cancel: Callable[[], bool],
) -> CsvOutcome:
    with warehouse.connection() as conn:
        return execute_csv_import(CsvJob(settings=settings, files=files, run_id=run_id), conn, log, should_cancel)


def _from_engine(result: CsvOutcome) -> Outcome:
    return Outcome(
        result.state,
        result.error,
        {"rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected, "table": result.table},
    )


def perform(store: Store, hosts: Hosts, job: Job, run: Run, log: LogFn, should_cancel: Callable[[], bool]) -> Outcome:
    """Do a run's work (blocking); used by the clock in a worker thread and by the demo seeding directly."""
    if job.kind == "csv_import":
        settings = run.inputs or job.doc
        return _from_engine(_engine(hosts.warehouse, settings, known_files(store), run.id, log, should_cancel))
    if job.kind == "batch":
        return _perform_batch(store, hosts.warehouse, job, run, log, should_cancel)
    result = perform_import_job(store, hosts, job, run, known_files(store), log, should_cancel)
    return Outcome(result.state, result.error, {"rows_loaded": result.rows})


def _perform_batch(
    store: Store, warehouse: Warehouse, job: Job, run: Run, log: LogFn, should_cancel: Callable[[], bool]
) -> Outcome:
    doc = job.doc
    file_ids = list(doc.get("file_ids") or [])
    log("info", f"Batch import {job.id}: loading {len(file_ids)} file(s) into {doc.get('schema')}.{doc.get('table')}")
    settings = {
        "source": {"file_ids": file_ids},
        "destination": {"schema": doc.get("schema"), "table": doc.get("table")},
        "first_row_is_header": bool(doc.get("first_row_is_header")),
        "column_delimiter": doc.get("column_delimiter") or "comma",
        "compression": doc.get("compression") or "gzip",
        "existing_table_rows": "append",
    }
    return _from_engine(_engine(warehouse, settings, known_files(store), run.id, log, should_cancel))


def cancel_run(store: Store, run: Run, who: str, *, in_engine: bool) -> Run:
    """Apply a cancel request: at once unless the engine is loading (then it rolls back and ends the run)."""
    if run.finished:
        return run
    run.is_cancel_requested = True
    if in_engine:
        store.add_log(run.id, "warn", f"Cancel requested by {who}; stopping the load.")
    else:
        run.state = "cancelled"
        run.finished_at = format_time(now())
        store.add_log(run.id, "warn", f"Run cancelled by {who}.")
    store.save_run(run)
    return run


_SETTLE_TIMEOUT = 30.0


class RunClock:
    """Moves driven runs queued -> running -> finished on the event loop; the work runs in worker threads.

    A step lasts ``step_seconds``, or, with ``manual=True``, until ``advance`` is called: a test then sees each state
    for as long as it likes and waits for no sleep.
    """

    def __init__(self, store: Store, hosts: Hosts, step_seconds: float, *, manual: bool = False) -> None:
        self.store = store
        self.hosts = hosts
        self.step_seconds = step_seconds
        self.manual = manual
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_engine: set[int] = set()
        self._closing = threading.Event()
        self._busy = 0  # worker threads doing a run's work; only touched on the event loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None  # manual clock: the step every parked run waits for
        self._parked: dict[asyncio.Task[Any], asyncio.Event] = {}

    def in_engine(self, run_id: int) -> bool:
        return run_id in self._in_engine

    def start(self, run_id: int) -> None:
        """Drive a queued run; call from the event loop (a request handler or the app's startup)."""
        self._loop = asyncio.get_running_loop()
        task = self._loop.create_task(self._drive(run_id), name=f"sandbox-run-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resume(self) -> int:
        """Restart every driven run a previous server left queued or running; returns how many. Call it on the
        server's event loop (the app's startup)."""
        self._loop = asyncio.get_running_loop()
        runs = self.store.unfinished_driven_runs()
        for run in runs:
            if run.state == "running":
                run.state = "queued"
                run.started_at = None
                self.store.save_run(run)
                self.store.add_log(run.id, "warn", "The sandbox restarted during this run; it was queued again.")
            self.start(run.id)
        return len(runs)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Stop driving runs. Work in progress sees ``should_cancel`` turn True and stops; wait for it to finish, so
        that no worker thread touches the store after it is closed. Its run is resumed on the next start."""
        self._closing.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while self._busy and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def wait_idle(self) -> None:
        """Wait until every run being driven has finished (for tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def advance(self, steps: int = 1) -> None:
        """Manual clock: end the current step of every driven run, ``steps`` times (queued -> running, then
        running -> its work done), returning once each run is waiting for its next step or has finished.

        Callable from any event loop: from another thread's loop (a test beside a sandbox served in a thread) the
        steps are taken on the server's loop.
        """
        if not self.manual:
            raise RuntimeError("advance() needs a sandbox started with manual_clock=True.")
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop():
            for _ in range(steps):
                await self._advance_once()
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.advance(steps), loop))

    def advance_from_thread(self, steps: int = 1) -> None:
        """``advance`` for a caller without an event loop (a sync test beside a sandbox served in a thread): the
        steps are taken on the server's loop and this returns once they have settled."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the run clock has not started: the sandbox is not serving.")
        asyncio.run_coroutine_threadsafe(self.advance(steps), loop).result(_SETTLE_TIMEOUT * (steps + 1))

    async def _advance_once(self) -> None:
        await self._settle()  # a run started just now reaches its first step before that step ends
        released, self._gate = self._current_gate(), asyncio.Event()
        released.set()
        await self._settle()

    async def _settle(self) -> None:
        """Wait until every live run task is parked at the current gate (tasks that finished leave ``_tasks``)."""
        gate = self._current_gate()
        deadline = time.monotonic() + _SETTLE_TIMEOUT
        while not all(self._parked.get(task) is gate for task in self._tasks):
            if time.monotonic() > deadline:
                raise TimeoutError(f"sandbox runs did not settle within {_SETTLE_TIMEOUT:.0f} s of a clock step.")
            await asyncio.sleep(0.001)

    def _current_gate(self) -> asyncio.Event:
        if self._gate is None:
            self._gate = asyncio.Event()
        return self._gate

    async def _step(self) -> None:
        """One step of a run: a sleep, or (manual clock) until the next ``advance``."""
        if not self.manual:
            await asyncio.sleep(self.step_seconds)
            return
        gate = self._current_gate()
        task = asyncio.current_task()
        assert task is not None
        self._parked[task] = gate
        try:
            await gate.wait()
        finally:
            self._parked.pop(task, None)

    async def _drive(self, run_id: int) -> None:
        try:
            await self._step()
            run = self.store.get_run(run_id)
            if run is None or run.state != "queued":
                return
            run.state = "running"
            run.started_at = format_time(now())
            self.store.save_run(run)
            self.store.add_log(run.id, "info", f"Run {run.id} started on sandbox worker 1.")
            await self._step()
            run = self.store.get_run(run_id)
            job = None if run is None else self.store.get_job(run.job_id)
            if run is None or job is None or run.finished:
                return
            # No await between the check above and this: a cancel cannot slip in unseen.
            self._in_engine.add(run.id)
            self._busy += 1
            work = asyncio.ensure_future(asyncio.to_thread(self._work, job, run))
            work.add_done_callback(self._work_done)
            try:
                outcome = await asyncio.shield(work)
            finally:
                self._in_engine.discard(run.id)
            self._finish(run_id, outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must end the run, not leave it running forever
            logger.exception("run %s crashed", run_id)
            self._finish(run_id, Outcome("failed", f"Internal sandbox error: {type(exc).__name__}: {exc}"))

    def _work_done(self, _: asyncio.Future[Outcome]) -> None:
        self._busy -= 1

    def _work(self, job: Job, run: Run) -> Outcome:
        def log(level: str, message: str) -> None:
            self.store.add_log(run.id, level, message)

        def should_cancel() -> bool:
            if self._closing.is_set():
                return True
            current = self.store.get_run(run.id)
            return current is None or current.is_cancel_requested

        return perform(self.store, self.hosts, job, run, log, should_cancel)

    def _finish(self, run_id: int, outcome: Outcome) -> None:
        run = self.store.get_run(run_id)
        if run is None or run.finished:
            return
        if outcome.state == "cancelled" and not run.is_cancel_requested:
            # Interrupted by a shutdown, not by a user: leave it for ``resume`` on the next start.
            return
        run.state = outcome.state
        run.error = outcome.error
        run.finished_at = format_time(now())
        run.extra.update(outcome.extra)
        self.store.save_run(run)
