"""Engine and transactions.

SQLite is configured on every connection the app opens (WAL, busy_timeout, foreign keys, synchronous) and
write transactions start with ``BEGIN IMMEDIATE`` behind one in-process lock: one writer, FIFO, no
``SQLITE_BUSY`` from lock upgrades. PostgreSQL needs none of that. Services use ``db.read()`` or
``db.write()``; ``write()`` commits before it returns, so a caller acknowledges only committed data.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Executable, Row, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from judging.db import sqlite_inline
from judging.settings import Settings

WRITE_OPTION = "podium_write"
SINGLE_READ_OPTION = "podium_single_read"
"""A connection that runs one SELECT: on SQLite it needs no explicit BEGIN (a statement is its own snapshot)."""
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
"""PostgreSQL reads: no BEGIN/ROLLBACK (two round trips fewer); each statement is its own snapshot."""
_SNAPSHOT = {"isolation_level": "REPEATABLE READ"}
RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock (PostgreSQL)
T = TypeVar("T")


def retryable(exc: DBAPIError) -> bool:
    """A conflict between concurrent transactions (a lost race or a PostgreSQL deadlock), or a pooled connection
    that turned out dead (the database restarted; SQLAlchemy has already replaced the pool): run it again."""
    if isinstance(exc, IntegrityError) or exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in RETRY_SQLSTATES or getattr(orig, "pgcode", None) in RETRY_SQLSTATES


def unavailable(exc: BaseException) -> bool:
    """The database could not serve the request right now, and a retry will: no pooled connection came free in
    time, or the one handed out was dead (the database restarted). HTTP answers 503 + Retry-After, feeds 1013."""
    return isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def sqlite_pragmas(settings: Settings, *, busy_timeout_ms: int = 10000) -> tuple[str, ...]:
    return (
        "journal_mode=WAL",
        f"busy_timeout={busy_timeout_ms}",
        "foreign_keys=ON",
        f"synchronous={settings.sqlite_synchronous.upper()}",
    )


def make_engine(settings: Settings, *, null_pool: bool = False) -> AsyncEngine:
    url = settings.db_url
    kwargs: dict[str, Any] = {}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        # Statements run on the event loop's thread (judging/db/sqlite_inline.py says why and how a lock held by
        # another process is waited for without blocking the loop).
        path = make_url(url).database or ""
        engine = create_async_engine(url, async_creator=sqlite_inline.creator(path), **kwargs)
        pragmas = sqlite_pragmas(settings, busy_timeout_ms=sqlite_inline.BUSY_SLICE_MS)

        # No isinstance() check on the connection: under aiosqlite it is an adapter, not sqlite3.Connection,
        # and such a check would silently skip the pragmas (tests/db/test_sqlite.py proves they apply).
        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver stops issuing its own BEGIN; we do it below
            cursor = dbapi_conn.cursor()
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            options = conn.get_execution_options()
            if options.get(SINGLE_READ_OPTION, False):
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN")

        return engine
    # No pool_pre_ping: it costs a round trip per checkout (two per request: authentication and the handler).
    # A connection found dead on use (PostgreSQL restarted) invalidates the pool; Database.transaction and
    # select_rows run again on a fresh connection, and any other request gets 503 + Retry-After (judging/errors.py).
    if not null_pool:
        # A fixed pool per process (PODIUM_DB_POOL_SIZE), opened lazily and kept: no overflow connections. With
        # 20 + 20 overflow, a busy contest day opened and closed ~50 connections a second per run (PostgreSQL's
        # log_connections): each a TCP connect, SCRAM authentication and codec set-up on the worker's loop, and an
        # empty prepared-statement cache, so every statement was prepared again (an extra round trip). A request
        # that finds no free connection waits in the pool's queue; after pool_timeout it gets 503 + Retry-After
        # (judging/errors.py), never a 500.
        kwargs.update(pool_size=settings.db_pool_size, max_overflow=0, pool_timeout=20)
    return create_async_engine(url, **kwargs)


class Database:
    """The app's engine, session factory and (on SQLite) its single-writer lock."""

    def __init__(self, settings: Settings, *, null_pool: bool = False) -> None:
        self.settings = settings
        self.engine = make_engine(settings, null_pool=null_pool)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.is_sqlite = settings.is_sqlite
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads; nothing it does is committed.

        SQLite: one deferred transaction (one WAL snapshot for all its statements), rolled back at the end.
        PostgreSQL: autocommit — at READ COMMITTED a transaction gives its statements no common snapshot anyway, and
        its BEGIN and ROLLBACK are two round trips each waiting for a busy worker's event loop. ``snapshot=True``
        (feed snapshots and replays, stamped with the log's head) reads in one REPEATABLE READ transaction."""
        async with self.sessionmaker() as session:
            if not self.is_sqlite:
                await session.connection(execution_options=_SNAPSHOT if snapshot else _AUTOCOMMIT)
            yield session

    async def select_rows(self, stmt: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        """Run one SELECT on a pooled connection, outside any session: the cheapest read there is (the hot path
        of every request's authentication). It needs no BEGIN: one statement is its own snapshot."""
        for attempt in (1, 2):
            try:
                async with self.engine.connect() as conn:
                    options = {SINGLE_READ_OPTION: True} if self.is_sqlite else _AUTOCOMMIT
                    conn = await conn.execution_options(**options)
                    return (await conn.execute(stmt, params)).all()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time), committed on exit.

        An exception inside the block rolls everything back and propagates.
        """
        if self._write_lock is not None:
            async with self._write_lock, self._write_session() as session:
                yield session
        else:
            async with self._write_session() as session:
                yield session

    @asynccontextmanager
    async def _write_session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            await session.connection(execution_options={WRITE_OPTION: True})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def transaction(self, fn: Callable[[AsyncSession], Awaitable[T]], attempts: int = 6) -> T:
        """Run ``fn(session)`` in a write transaction, again (with jittered backoff) when it lost a race with a
        concurrent transaction. ``fn`` must be safe to re-run: everything it did is rolled back first."""
        for attempt in range(attempts):
            try:
                async with self.write() as session:
                    return await fn(session)
            except DBAPIError as exc:
                if attempt == attempts - 1 or not retryable(exc):
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()
