"""Migrations: one head; an empty database upgraded to head matches the models; every revision walks down
and up again; downgrading to base leaves nothing but the version table. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

import judging.db.models  # noqa: F401
from judging import migrate
from judging.db.base import Base
from judging.settings import Settings
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "pg":
        url = create_pg_database()
        yield Settings(var_dir=str(tmp_path), database_url=url, secret="s" * 40)
        drop_pg_database(url)
    else:
        yield Settings(var_dir=str(tmp_path), secret="s" * 40)


def _run(settings: Settings, fn):  # type: ignore[no-untyped-def]
    import asyncio

    async def main():  # type: ignore[no-untyped-def]
        engine = create_async_engine(settings.db_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_single_head(blank: Settings) -> None:
    assert len(ScriptDirectory.from_config(migrate.alembic_config(blank)).get_heads()) == 1


def test_upgrade_to_head_matches_models(blank: Settings) -> None:
    migrate.upgrade(blank)
    diff = _run(blank, lambda c: compare_metadata(
        MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata))
    assert diff == []
    assert migrate.current_revision(blank) == migrate.head_revision(blank)


def test_stairway_down_and_up(blank: Settings) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(blank))
    revisions = list(reversed(list(script.walk_revisions())))
    for rev in revisions:
        migrate.upgrade(blank, rev.revision)
        migrate.downgrade(blank, rev.down_revision or "base")
        migrate.upgrade(blank, rev.revision)
    migrate.downgrade(blank, "base")
    tables = _run(blank, lambda c: inspect(c).get_table_names())
    assert set(tables) == {"alembic_version"}
