"""Run Alembic programmatically with Podium's settings (``podium db upgrade|downgrade|current``)."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from judging.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"
    )
    cfg.attributes["settings"] = settings
    return cfg


def prepare(settings: Settings) -> None:
    if settings.is_sqlite:
        db_path = settings.db_url.split(":///", 1)[1]
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(settings: Settings, revision: str = "head") -> None:
    prepare(settings)
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def current_revision(settings: Settings) -> str | None:
    """The database's revision, read with a short synchronous connection."""
    url = settings.db_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    if not settings.is_sqlite:
        # No sync PostgreSQL driver is installed: ask Alembic's own command and parse its output.
        buf = io.StringIO()
        cfg = alembic_config(settings)
        cfg.stdout = buf
        command.current(cfg)
        text = buf.getvalue().strip().split(" ")
        return text[0] if text and text[0] else None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
