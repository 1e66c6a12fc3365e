"""Alembic environment: async engine from Podium's settings, batch mode so SQLite ALTERs work."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import judging.db.models  # noqa: F401  (registers every table on Base.metadata)
from judging.db.base import Base
from judging.db.engine import make_engine
from judging.settings import Settings

config = context.config
target_metadata = Base.metadata


def _settings() -> Settings:
    settings = config.attributes.get("settings")
    return settings if settings is not None else Settings.from_env()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_settings().db_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(_settings(), null_pool=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_async())
