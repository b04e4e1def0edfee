"""The sandbox serves log reads from indexes, in the order Civis answers them, without sorting a run's whole log.

A first read (no cursor) is the newest lines by creation time (ties by id, newest first); a read after a cursor is
the lines after it by id. Both come from an index in that order: the query plan has no temporary sort, so reading
the last 50 lines of a 200,000-line log costs the same as of a short one.
"""

from __future__ import annotations

import random

from civis_mcp.sandbox.store import Store


def _store_with_lines() -> tuple[Store, list[tuple[int, str]]]:
    """Two runs' lines interleaved, creation times out of id order and repeated, as a busy worker writes them."""
    store = Store()
    rng = random.Random(3)
    mine: list[tuple[int, str]] = []
    for _ in range(3_000):
        run = rng.choice((7, 8))
        stamp = f"2026-01-01T00:00:{rng.randint(0, 59):02d}.000Z"
        line_id = store.add_log(run, "info", "line", created_at=stamp)
        if run == 7:
            mine.append((line_id, stamp))
    return store, mine


def test_the_newest_lines_come_in_civis_order() -> None:
    store, mine = _store_with_lines()
    expected = [line_id for line_id, _ in sorted(mine, key=lambda pair: (pair[1], pair[0]), reverse=True)[:50]]
    assert [line.id for line in store.list_logs(7, last_id=None, limit=50)] == expected
    cursor = sorted(line_id for line_id, _ in mine)[100]
    after = [line_id for line_id, _ in sorted(mine) if line_id > cursor][:50]
    assert [line.id for line in store.list_logs(7, last_id=cursor, limit=50)] == after


def test_log_reads_use_an_index_and_sort_nothing() -> None:
    """The statements ``list_logs`` really runs (traced, with their values filled in), explained."""
    store, _ = _store_with_lines()
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    store.list_logs(7, last_id=None, limit=50)
    store.list_logs(7, last_id=10, limit=50)
    store._conn.set_trace_callback(None)
    reads = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2
    for sql in reads:
        plan = " | ".join(str(row[-1]) for row in store._all(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan or "INTEGER PRIMARY KEY" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
