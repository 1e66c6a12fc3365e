"""podium backup / restore round trip on the selected backend (SQLite, or PostgreSQL with pg_dump)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from judging.backup import BackupError, backup, restore
from judging.db.models import Entry
from judging.settings import Settings
from tests.conftest import run_db


def _entries(settings: Settings) -> int:
    async def go(session: Any) -> int:
        return int(await session.scalar(select(func.count(Entry.id))) or 0)

    return int(run_db(settings, go))


def test_backup_then_restore(settings: Settings, demo: int, tmp_path: Path) -> None:
    before = _entries(settings)
    assert before == 30
    path = backup(settings, tmp_path / "b.dump")
    assert path.stat().st_size > 0

    async def wipe(session: Any) -> None:
        from sqlalchemy import delete

        from judging.db.models import Conflict, ReviewerAssignment, ScoreSheet, SheetVersion, Venue

        await session.execute(Venue.__table__.update().values(current_entry_id=None))
        for model in (SheetVersion, ScoreSheet, ReviewerAssignment, Conflict, Entry):
            await session.execute(delete(model))

    run_db(settings, wipe)
    assert _entries(settings) == 0
    restore(settings, path)
    assert _entries(settings) == before


def test_restore_refuses_garbage(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a backup at all" * 100)
    with pytest.raises(BackupError):
        restore(settings, junk)
    with pytest.raises(BackupError, match="no backup file"):
        restore(settings, tmp_path / "missing")


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+asyncpg://podium:p%40ss@db.example:6543/podium",
     ["-h", "db.example", "-p", "6543", "-U", "podium", "-d", "podium"]),
    ("postgresql+asyncpg://podium:p%40ss@/podium?host=/var/run/postgresql",
     ["-h", "/var/run/postgresql", "-p", "5432", "-U", "podium", "-d", "podium"]),
])
def test_pg_tools_reach_the_apps_server(url: str, expected: list[str], tmp_path: Path) -> None:
    """pg_dump/pg_restore go where the app goes: its host, or the Unix socket directory of ``?host=``."""
    from judging.backup import _pg_args

    args, env = _pg_args(Settings(var_dir=str(tmp_path), database_url=url, secret="s" * 40))
    assert args == expected
    assert env == {"PGPASSWORD": "p@ss"}
