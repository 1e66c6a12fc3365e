"""Shared fixtures.

Backends: tests run on SQLite by default; with ``PODIUM_TEST_DB=pg`` (and ``PODIUM_TEST_PG_URL``) the whole
suite runs on PostgreSQL, and with ``PODIUM_TEST_REDIS_URL`` the app uses Redis for channels and stores.
Suites that need PostgreSQL, Redis or Chromium skip when those are missing — unless
``PODIUM_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing service fails the run instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from judging.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("PODIUM_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("PODIUM_TEST_PG_URL", "")
REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "")
BACKEND = os.environ.get("PODIUM_TEST_DB", "sqlite")


def missing(what: str) -> None:
    """Skip (developer machine) or fail (CI) when a required service is absent."""
    if REQUIRE:
        pytest.fail(f"{what} is required in this run (PODIUM_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ------------------------------------------------------------------------------------------ databases
def _pg_admin(url: str) -> tuple[str, str]:
    """Split a PostgreSQL URL into (server part, database name)."""
    base, _, name = url.rpartition("/")
    return base, name


async def _pg_exec_async(url: str, sql: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_exec(url: str, sql: str) -> None:
    """Run one statement on a fresh connection, in a worker thread: callers may sit inside a running event loop
    (Playwright's sync API runs one), where ``asyncio.run`` is not allowed."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _pg_exec_async(url, sql)).result()


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database for one test (dropped by the caller)."""
    if not PG_URL:
        missing("PostgreSQL (PODIUM_TEST_PG_URL)")
    base, _ = _pg_admin(PG_URL)
    name = "podium_t_" + uuid.uuid4().hex[:12]
    _pg_exec(PG_URL, f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a test database; a server process that is still closing its connections gets a few retries."""
    import time

    _, name = _pg_admin(url)
    for attempt in range(5):
        try:
            _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


_TEMPLATES: dict[str, Path] = {}


@pytest.fixture
def empty_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a new, empty (unmigrated) database on the selected backend."""
    if BACKEND == "pg":
        url = create_pg_database()
        yield Settings(var_dir=str(tmp_path / "var"), database_url=url, secret="t" * 40, redis_url=REDIS_URL)
        drop_pg_database(url)
    else:
        yield Settings(var_dir=str(tmp_path / "var"), secret="t" * 40, redis_url=REDIS_URL)


@pytest.fixture
def settings(empty_settings: Settings, tmp_path: Path) -> Settings:
    """Settings for a migrated database (SQLite: a copy of a migrated template file, fast)."""
    from concurrent.futures import ThreadPoolExecutor

    from judging import migrate

    def upgrade(target: Settings) -> None:
        # In a worker thread: alembic's env calls asyncio.run, refused while Playwright's loop (left running by
        # the session-scoped browser after the browser tests) runs in the main thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(migrate.upgrade, target).result()

    if empty_settings.is_sqlite:
        if "sqlite" not in _TEMPLATES:
            template = Settings(var_dir=str(tmp_path.parent / "template-var"), secret="t" * 40)
            upgrade(template)
            _TEMPLATES["sqlite"] = Path(template.db_url.split(":///", 1)[1])
        target = Path(empty_settings.db_url.split(":///", 1)[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_TEMPLATES["sqlite"], target)
    else:
        upgrade(empty_settings)
    return empty_settings


@pytest.fixture
def app(settings: Settings) -> Any:
    from judging.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient[Any]]:
    with TestClient(app, base_url="http://podium.test") as c:
        yield c


def run_db(settings: Settings, fn: Any) -> Any:
    """Run ``await fn(session)`` in a write transaction of a short-lived engine (test set-up and checks)."""
    from judging.db.engine import Database

    async def main() -> Any:
        db = Database(settings, null_pool=True)
        try:
            async with db.write() as session:
                return await fn(session)
        finally:
            await db.dispose()

    from concurrent.futures import ThreadPoolExecutor

    # In a worker thread: browser tests call this while Playwright's event loop runs in the main thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture
def demo(settings: Settings) -> int:
    """Load the demo contest; returns its id."""
    from judging.demo import seed_demo

    async def seed(session: Any) -> int:
        return (await seed_demo(session)).id

    return int(run_db(settings, seed))
