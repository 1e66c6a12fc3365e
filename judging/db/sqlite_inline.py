"""SQLite for the async engine without a thread per connection: statements run on the event loop's thread.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives an aiosqlite connection, which runs every call (making a cursor,
executing, fetching, closing it) in the connection's own thread and hands the result back through the event
loop: four thread hand-offs per statement, each a wake-up of two threads and a fight for the GIL. On a contest
day the single server process on one core spent more CPU on those hand-offs than on SQLite itself (profiled:
bench/README.md "Contest day").

This module is an aiosqlite look-alike (the subset the dialect uses) whose calls run the ``sqlite3`` call at
once and return: the dialect, the pool, the pragmas and the ``BEGIN IMMEDIATE`` single-writer discipline stay as
they are (judging/db/engine.py). A statement on this database takes microseconds; a write transaction's COMMIT
waits for the disk (``synchronous=FULL``: an fsync; nothing acknowledged is lost) and runs in a worker thread:
fsync took 0.2 ms at the median but 7 ms at p99 and 26 ms at worst on the benchmark machine while PostgreSQL
wrote alongside, and on the loop that stalled every socket and request. What must not block the loop either is
waiting for a lock held by *another process* (a CLI command, a backup): the connection's own busy timeout is kept short
(:data:`BUSY_SLICE_MS`) and a busy statement is retried here, asynchronously, until :data:`BUSY_TOTAL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_SLICE_MS = 20
"""SQLite's own busy wait per attempt (blocks the loop at most this long)."""
BUSY_TOTAL_S = 10.0
"""Give up (``database is locked``) after this long, as the threaded driver's ``busy_timeout`` did."""


_COMMITS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-sqlite-commit")
"""Write transactions' COMMITs (one at a time: SQLite has one writer anyway)."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # the extended code: its low byte is the primary one
    if code is None:
        return "locked" in str(exc) or "busy" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _run(fn: Callable[..., T], *args: Any, thread: bool = False) -> T:
    """Call ``fn(*args)`` now (or, with ``thread``, in the commit thread), again while another process holds the
    database's lock."""
    deadline = 0.0
    delay = 0.002
    while True:
        try:
            if thread:
                return await _in_thread(fn, *args)
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            now = time.monotonic()
            deadline = deadline or now + BUSY_TOTAL_S
            if now >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the commit thread. A cancelled caller still waits for it to finish (then re-raises): the
    connection must not be rolled back or closed on the loop while the thread is still committing on it."""
    future = asyncio.get_running_loop().run_in_executor(_COMMITS, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([future])
        raise


class _Immediate:
    """Stands in for aiosqlite's request queue, which the dialect uses once to set ``isolation_level``."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._cursor = conn.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await _run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        await _run(self._cursor.executemany, sql, list(seq_of_parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._tx = _Immediate()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._live())

    async def commit(self) -> None:
        conn = self._live()
        if not conn.in_transaction:
            return
        # The COMMIT of a write transaction waits for the disk (synchronous=FULL: an fsync of the WAL). That
        # runs in a thread, so the loop keeps serving sockets and requests meanwhile: sqlite3 releases the GIL
        # while SQLite works, and this connection is not used by anyone else until commit returns (the write
        # lock in judging/db/engine.py is held until then). Statements stay on the loop: they take microseconds.
        await _run(conn.commit, thread=True)

    async def rollback(self) -> None:
        await _run(self._live().rollback)

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._live().create_function(*args, **kw)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def stop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def creator(path: str) -> Callable[[], Any]:
    """``async_creator`` for ``create_async_engine``: a new inline connection to the database file ``path``."""

    async def connect() -> Connection:
        return Connection(sqlite3.connect(path, timeout=BUSY_SLICE_MS / 1000, check_same_thread=False))

    return connect
