"""SQLite done right: the pragmas are in force on the app's own connections; writes take the lock up front."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import text

from judging.db.sqlite_inline import BUSY_SLICE_MS
from judging.settings import Settings
from tests.conftest import BACKEND

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite-only behaviour")]


async def test_pragmas_on_app_connections(app: Any) -> None:
    db = app.state.db
    for ctx in (db.read(), db.write()):
        async with ctx as session:
            values = {p: (await session.execute(text(f"PRAGMA {p}"))).scalar()
                      for p in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
            # busy_timeout is one short slice: a longer wait is retried without blocking the loop (below)
            assert values == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": BUSY_SLICE_MS,
                              "synchronous": 2}
    await db.dispose()


async def test_normal_synchronous_is_configurable(settings: Settings) -> None:
    import msgspec

    from judging.db.engine import Database

    db = Database(msgspec.structs.replace(settings, sqlite_synchronous="NORMAL"))
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 1
    await db.dispose()


async def test_write_transaction_begins_immediate(app: Any, settings: Settings) -> None:
    """Inside db.write() the write lock is held before any statement: another writer cannot start."""
    db = app.state.db
    path = settings.db_url.split(":///", 1)[1]
    async with db.write() as session:
        await session.execute(text("SELECT 1"))  # a read only: with BEGIN DEFERRED no lock would be held yet
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    # ...and a read transaction does not block a writer.
    async with db.read() as session:
        await session.execute(text("SELECT count(*) FROM contest"))
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
    await db.dispose()


async def test_lock_held_by_another_process_is_waited_for_without_blocking_the_loop(
        app: Any, settings: Settings) -> None:
    """Statements run on the loop's thread; a write lock held elsewhere (a CLI command, a backup) is waited for
    asynchronously: the write succeeds once it is released, and the loop keeps serving meanwhile."""
    db = app.state.db
    path = settings.db_url.split(":///", 1)[1]
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async def write() -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO contest (name, year, organizer, grade_rule, created_at) "
                                       "VALUES ('waited', 2024, '', '{}', '2024-01-01 00:00:00')"))

    tick_task = asyncio.create_task(ticker())
    writer = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writer.done() and ticks >= 30  # waiting, and the loop ran ~100 ticks meanwhile (not blocked)
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(writer, 5)
    tick_task.cancel()
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM contest WHERE name = 'waited'"))).scalar() == 1
    await db.dispose()


async def test_concurrent_writers_queue_instead_of_failing(app: Any) -> None:
    db = app.state.db

    async def add(n: int) -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO contest (name, year, organizer, grade_rule, created_at) "
                                       "VALUES (:n, 2024, '', '{}', '2024-01-01 00:00:00')"), {"n": f"c{n}"})

    await asyncio.gather(*(add(n) for n in range(50)))
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM contest"))).scalar() == 50
    await db.dispose()


async def test_commit_waits_for_the_disk_off_the_loop(app: Any) -> None:
    """A write transaction's COMMIT (an fsync with synchronous=FULL) runs in the commit thread, not on the loop;
    the statements before it run on the loop's thread."""
    import threading

    db = app.state.db
    seen: list[tuple[str, int]] = []
    async with db.write() as session:
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        raw._connection.set_trace_callback(lambda sql: seen.append((sql.split()[0].upper(), threading.get_ident())))
        await session.execute(text("INSERT INTO contest (name, year, organizer, grade_rule, created_at) "
                                   "VALUES ('threaded', 2024, '', '{}', '2024-01-01 00:00:00')"))
    raw._connection.set_trace_callback(None)
    loop_thread = threading.get_ident()
    threads = dict(seen)
    assert threads["INSERT"] == loop_thread and threads["COMMIT"] != loop_thread, seen
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM contest WHERE name = 'threaded'"))).scalar() == 1
    await db.dispose()


async def test_a_cancelled_commit_still_finishes_before_the_caller_moves_on() -> None:
    """Cancelling the task awaiting a commit must not hand the connection back (to be rolled back or closed on the
    loop) while the thread is still committing on it."""
    import time

    from judging.db.sqlite_inline import _in_thread

    done: list[float] = []

    def slow() -> None:
        time.sleep(0.3)
        done.append(time.monotonic())

    task = asyncio.create_task(_in_thread(slow))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done and done[0] <= time.monotonic()  # it had finished when the cancellation came through
