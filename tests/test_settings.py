import os
import stat
from pathlib import Path

import pytest

from judging.settings import Settings, SettingsError


def test_defaults_are_documented_values(tmp_path: Path) -> None:
    s = Settings.from_env({})
    assert s.var_dir == "var"
    assert s.db_url.startswith("sqlite+aiosqlite:///") and s.db_url.endswith("var/podium.db")
    assert s.is_sqlite and s.redis_url == "" and s.workers == 1
    assert s.host == "127.0.0.1" and s.port == 8000 and s.base_url == "http://127.0.0.1:8000"
    assert s.default_locale == "zh_Hans" and s.sqlite_synchronous == "FULL"


def test_reads_prefixed_environment() -> None:
    s = Settings.from_env({"PODIUM_PORT": "9001", "PODIUM_DEFAULT_LOCALE": "en", "PODIUM_DEBUG": "true",
                           "PODIUM_PUBLIC_URL": "http://10.0.0.5:9001/", "OTHER": "x"})
    assert s.port == 9001 and s.default_locale == "en" and s.debug is True
    assert s.base_url == "http://10.0.0.5:9001"
    assert s.board_base_url == s.base_url  # the leaderboard on the login links' base unless told otherwise
    board = Settings.from_env({"PODIUM_PUBLIC_URL": "http://10.0.0.5:9001", "PODIUM_BOARD_URL": "https://qc.example.org/"})
    assert (board.base_url, board.board_base_url) == ("http://10.0.0.5:9001", "https://qc.example.org")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PODIUM_PORT": "abc"}, "PODIUM_PORT"),
        ({"PODIUM_PORT": "70000"}, "PODIUM_PORT must be between"),
        ({"PODIUM_WORKERS": "0"}, "PODIUM_WORKERS must be at least 1"),
        ({"PODIUM_WORKERS": "2"}, "needs PostgreSQL"),
        ({"PODIUM_DATABASE_URL": "mysql://x"}, "PODIUM_DATABASE_URL must start with"),
        ({"PODIUM_REDIS_URL": "http://x"}, "PODIUM_REDIS_URL must start with"),
        ({"PODIUM_SECRET": "short"}, "at least 32 characters"),
        ({"PODIUM_DEFAULT_LOCALE": "fr"}, "PODIUM_DEFAULT_LOCALE"),
        ({"PODIUM_SQLITE_SYNCHRONOUS": "OFF"}, "PODIUM_SQLITE_SYNCHRONOUS"),
        ({"PODIUM_DB_POOL_SIZE": "0"}, "PODIUM_DB_POOL_SIZE must be between"),
        ({"PODIUM_PUBLIC_URL": "192.168.1.10:8000"}, "PODIUM_PUBLIC_URL must start with http:// or https://"),
        ({"PODIUM_BOARD_URL": "podium.example.org"}, "PODIUM_BOARD_URL must start with http:// or https://"),
        ({"PODIUM_TIMEZONE": "Beijing"}, "PODIUM_TIMEZONE must be an IANA time zone"),
    ],
)
def test_bad_values_say_which_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env)


def test_postgres_pool_is_fixed_size_without_overflow() -> None:
    """Overflow connections were opened and closed ~50 times a second on a busy day: the pool keeps its own."""
    from judging.db.engine import make_engine

    s = Settings.from_env({"PODIUM_DATABASE_URL": "postgresql+asyncpg://u:p@127.0.0.1/db", "PODIUM_DB_POOL_SIZE": "7"})
    pool = make_engine(s).sync_engine.pool
    assert pool.size() == 7 and pool._max_overflow == 0  # type: ignore[attr-defined]


def test_several_workers_allowed_with_postgres_and_redis() -> None:
    s = Settings.from_env({"PODIUM_WORKERS": "2", "PODIUM_DATABASE_URL": "postgresql+asyncpg://u:p@h/db",
                           "PODIUM_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert s.workers == 2 and not s.is_sqlite


def test_missing_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(var_dir=str(tmp_path / "v"))
    first = s.with_secret()
    path = tmp_path / "v" / "secret"
    assert len(first.secret) >= 32 and path.read_text().strip() == first.secret
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Settings(var_dir=str(tmp_path / "v")).with_secret().secret == first.secret
    assert Settings(var_dir=str(tmp_path / "w")).with_secret().secret != first.secret


def test_cli_reports_bad_configuration_without_traceback(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from judging.cli import main

    monkeypatch.setenv("PODIUM_PORT", "not-a-port")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "PODIUM_PORT" in err and "Traceback" not in err
