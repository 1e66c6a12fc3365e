"""``podium backup`` / ``podium restore``.

SQLite: the online backup API (a consistent copy while the server keeps running). PostgreSQL: ``pg_dump``
custom format and ``pg_restore --clean``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from judging.settings import Settings


class BackupError(RuntimeError):
    pass


def default_path(settings: Settings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if settings.is_sqlite else "pgdump"
    return Path(settings.var_dir) / "backups" / f"podium-{stamp}.{suffix}"


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.db_url.split(":///", 1)[1])


def _pg_args(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore arguments for the app's database URL: its host, or the Unix socket directory given as
    ``?host=/var/run/postgresql`` (as asyncpg takes it), port, user and database; the password in the environment."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db_url)
    socket_dir = url.query.get("host")
    host = (socket_dir if isinstance(socket_dir, str) else None) or url.host or "127.0.0.1"
    args = ["-h", host, "-p", str(url.port or 5432), "-U", url.username or ""]
    return [*args, "-d", url.database or ""], {"PGPASSWORD": url.password or ""}


def _run(cmd: list[str], env: dict[str, str]) -> None:
    import os

    exe = shutil.which(cmd[0])
    if exe is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run([exe, *cmd[1:]], env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {result.stderr.strip()}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while the server writes."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def backup(settings: Settings, target: Path | None = None) -> Path:
    target = target or default_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        source = _sqlite_path(settings)
        if not source.exists():
            raise BackupError(f"there is no database at {source}")
        _sqlite_copy(source, target)
    else:
        args, env = _pg_args(settings)
        _run(["pg_dump", "--format=custom", "--no-owner", "-f", str(target), *args], env)
    return target


def restore(settings: Settings, source: Path) -> None:
    """Replace the configured database's contents with a backup. Stop the server first."""
    if not source.exists():
        raise BackupError(f"there is no backup file at {source}")
    if settings.is_sqlite:
        check = sqlite3.connect(source)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not an intact SQLite database")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite database: {exc}") from None
        finally:
            check.close()
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target)
    else:
        args, env = _pg_args(settings)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(source)], env)
