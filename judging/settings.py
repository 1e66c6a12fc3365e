"""Podium settings: one msgspec Struct read from ``PODIUM_*`` environment variables.

Every field has a documented default (see README "Configuration"). A bad value raises
:class:`SettingsError` with a message naming the variable, never a traceback from deep inside.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

ENV_PREFIX = "PODIUM_"


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message says which and how to fix it."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Runtime configuration. Field ``x`` is read from ``PODIUM_X``."""

    var_dir: str = "var"
    """Directory for the SQLite database, the generated secret, screenshots and backups."""
    database_url: str = ""
    """SQLAlchemy async URL. Empty means ``sqlite+aiosqlite:///<var_dir>/podium.db``."""
    redis_url: str = ""
    """Redis URL for channels, sessions and rate limits when scaled out. Empty: in-process memory."""
    secret: str = ""
    """Signing secret (at least 32 characters). Empty: generated once and stored in ``<var_dir>/secret``."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    """Server processes. More than one requires PostgreSQL and Redis."""
    public_url: str = ""
    """Base URL printed in login links and QR codes (e.g. ``http://192.168.1.10:8000``). Empty: host:port."""
    board_url: str = ""
    """Base URL of the public leaderboard in the audience's QR codes and links, when the phones reach the server
    by another address than the judges' tablets (e.g. ``https://podium.example.org`` through a reverse proxy, while
    the login links stay on the venue's LAN address). Empty: the same base as the login links."""
    timezone: str = "Asia/Shanghai"
    """The contest's local time (an IANA zone): pages show times in it, and a venue's start time is entered in it.
    Stored times are UTC."""
    default_locale: str = "zh_Hans"
    """Locale of pages when the visitor has not chosen one: ``zh_Hans`` or ``en``."""
    login_max_failures: int = 5
    """Failed password logins allowed per account within ``login_window_seconds``."""
    login_window_seconds: int = 900
    db_pool_size: int = 20
    """PostgreSQL connections each server process keeps open (all of them: no overflow connections). A request
    that finds none free waits for one (up to 20 s, then 503 + Retry-After). Keep workers x this (+2 per process)
    under the server's ``max_connections``."""
    sqlite_synchronous: str = "FULL"
    """SQLite ``synchronous`` pragma for the app's connections: FULL (default) or NORMAL."""
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.port < 1 or self.port > 65535:
            raise SettingsError(f"PODIUM_PORT must be between 1 and 65535, got {self.port}")
        if self.workers < 1:
            raise SettingsError(f"PODIUM_WORKERS must be at least 1, got {self.workers}")
        if not 1 <= self.db_pool_size <= 500:
            raise SettingsError(f"PODIUM_DB_POOL_SIZE must be between 1 and 500, got {self.db_pool_size}")
        if self.default_locale not in ("zh_Hans", "en"):
            raise SettingsError(f"PODIUM_DEFAULT_LOCALE must be 'zh_Hans' or 'en', got {self.default_locale!r}")
        if self.sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise SettingsError(
                f"PODIUM_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA, got {self.sqlite_synchronous!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"PODIUM_TIMEZONE must be an IANA time zone such as Asia/Shanghai, got "
                                f"{self.timezone!r}") from None
        if self.secret and len(self.secret) < 32:
            raise SettingsError("PODIUM_SECRET must be at least 32 characters (or unset to generate one)")
        url = self.database_url
        if url and not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
            raise SettingsError(
                "PODIUM_DATABASE_URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://', "
                f"got {url.split('://')[0]!r}"
            )
        for name in ("public_url", "board_url"):
            value = getattr(self, name)
            if value and not value.startswith(("http://", "https://")):
                raise SettingsError(f"{ENV_PREFIX}{name.upper()} must start with http:// or https://, got {value!r}")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("PODIUM_REDIS_URL must start with redis://, rediss:// or unix://")
        if self.workers > 1 and (self.is_sqlite or not self.redis_url):
            raise SettingsError(
                "PODIUM_WORKERS > 1 needs PostgreSQL (PODIUM_DATABASE_URL=postgresql+asyncpg://...) and Redis "
                "(PODIUM_REDIS_URL): SQLite has one writer and in-memory channels do not cross processes."
            )

    # -- derived values -------------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.var_dir).resolve() / 'podium.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def board_base_url(self) -> str:
        """Base of the public leaderboard's address: ``board_url`` when configured, else :attr:`base_url`."""
        return self.board_url.rstrip("/") if self.board_url else self.base_url

    def with_secret(self) -> Settings:
        """Return settings whose secret is set: from the environment, else ``<var_dir>/secret``.

        A missing secret file is created with 48 random bytes (urlsafe) and mode 0600.
        """
        if self.secret:
            return self
        path = Path(self.var_dir) / "secret"
        if path.exists():
            value = path.read_text().strip()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            value = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(value + "\n")
        return msgspec.structs.replace(self, secret=value)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``PODIUM_*`` variables (plus keyword overrides)."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            key = ENV_PREFIX + field.name.upper()
            if key in env:
                raw[field.name] = env[key]
        raw.update(overrides)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except SettingsError:
            raise
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc))) from None


def _explain(message: str) -> str:
    # msgspec says e.g. "Expected `int`, got `str` - at `$.port`"; name the variable instead.
    if "$." in message:
        name = message.rsplit("$.", 1)[1].strip("`")
        return f"{ENV_PREFIX}{name.upper()}: {message.split(' - at ')[0]}"
    return message
