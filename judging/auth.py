"""Accounts, tokens, the authentication middleware and the guards.

* Staff and the owner log in with a password (argon2id). There is no default password: the owner sets one
  through a one-time setup link printed on first run.
* Judges, reviewers, hosts and screens log in with a per-person random login link (a QR code). Opening it
  creates a session whose parent is the link; revoking the link revokes its sessions.
* Every request re-reads its token from the database, so a revocation takes effect on the next request.
* Tokens are stored only as HMAC-SHA256(secret, token); a database dump does not reveal them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, WebSocketException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.stores.base import Store
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from judging.db.base import utcnow
from judging.db.engine import Database, unavailable
from judging.db.models import Account, AuthToken, RoleGrant
from judging.errors import PodiumError
from live.protocol import CLOSE_TRY_AGAIN

SESSION_COOKIE = "podium_session"
SESSION_DAYS = 7
STAFF_ROLES = frozenset({"owner", "staff"})
JUDGE_ROLES = frozenset({"judge", "chief_judge", "reviewer"})
VENUE_CONTROL_ROLES = frozenset({"host", "chief_judge"})

_hasher = PasswordHasher()


# --------------------------------------------------------------------------------------------------
# Tokens and passwords
# --------------------------------------------------------------------------------------------------
def new_token() -> str:
    """A fresh random token: 24 bytes (192 bits) from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(24)


def hash_token(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str, username: str = "") -> str | None:
    """Return a reason the password is refused, or None."""
    if len(password) < 10:
        return "The password must be at least 10 characters long."
    if username and password.lower() == username.lower():
        return "The password must differ from the user name."
    if len(set(password)) < 4:
        return "The password is too repetitive."
    return None


async def issue_token(
    session: AsyncSession, secret: str, kind: str, account_id: int | None, *,
    parent_id: int | None = None, ttl: timedelta | None = None,
) -> tuple[str, AuthToken]:
    raw = new_token()
    row = AuthToken(
        token_hash=hash_token(secret, raw), kind=kind, account_id=account_id, parent_id=parent_id,
        expires_at=(utcnow() + ttl) if ttl else None,
    )
    session.add(row)
    await session.flush()
    return raw, row


async def find_token(session: AsyncSession, secret: str, raw: str, kinds: tuple[str, ...]) -> AuthToken | None:
    """A valid (not revoked, not expired, parent not revoked) token of one of ``kinds``."""
    if not raw or len(raw) > 200:
        return None
    parent = aliased(AuthToken)
    stmt = (
        select(AuthToken)
        .outerjoin(parent, AuthToken.parent_id == parent.id)
        .where(AuthToken.token_hash == hash_token(secret, raw), AuthToken.kind.in_(kinds),
               AuthToken.revoked_at.is_(None), parent.revoked_at.is_(None))
    )
    token = (await session.execute(stmt)).scalar_one_or_none()
    if token is None:
        return None
    if token.expires_at is not None and token.expires_at < datetime.now(UTC):
        return None
    return token


# --------------------------------------------------------------------------------------------------
# Principal
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    role: str
    contest_id: int | None
    venue_id: int | None


@dataclass(frozen=True)
class Principal:
    """Who is making the request, and in which roles."""

    account_id: int
    display_name: str
    person_id: int | None
    token_id: int
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    locale: str | None = None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_owner(self) -> bool:
        return "owner" in self.roles

    def venues(self, *roles: str) -> frozenset[int]:
        return frozenset(g.venue_id for g in self.grants if g.role in roles and g.venue_id is not None)

    def contests(self) -> frozenset[int]:
        return frozenset(g.contest_id for g in self.grants if g.contest_id is not None)


_parent = aliased(AuthToken)
_PRINCIPAL = (
    select(AuthToken.id, AuthToken.expires_at, Account.id, Account.display_name, Account.person_id,
           Account.locale, RoleGrant.role, RoleGrant.contest_id, RoleGrant.venue_id)
    .join(Account, Account.id == AuthToken.account_id)
    .outerjoin(_parent, AuthToken.parent_id == _parent.id)
    .outerjoin(RoleGrant, RoleGrant.account_id == Account.id)
    .where(AuthToken.token_hash == bindparam("token_hash"), AuthToken.kind == "session",
           AuthToken.revoked_at.is_(None), _parent.revoked_at.is_(None), Account.disabled.is_(False))
)
"""The session's token, account and roles. Built once: this runs on every request, and building the statement
cost three times as much as running it."""


async def load_principal(db: Database, secret: str, raw: str) -> Principal | None:
    """The session's account and roles in one round trip, read from the database on every request (so a revoked
    link or a disabled account is refused on the next request, in every process)."""
    if not raw or len(raw) > 200:
        return None
    rows = await db.select_rows(_PRINCIPAL, {"token_hash": hash_token(secret, raw)})
    if not rows:
        return None
    token_id, expires_at, account_id, name, person_id, locale = rows[0][:6]
    if expires_at is not None and expires_at < datetime.now(UTC):
        return None
    grants = tuple(Grant(r[6], r[7], r[8]) for r in rows if r[6] is not None)
    return Principal(account_id, name, person_id, token_id, grants, locale)


def token_from_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return connection.cookies.get(SESSION_COOKIE, "")


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to a :class:`Principal` or None (anonymous). Guards decide what is allowed."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        raw = token_from_connection(connection)
        if not raw:
            return AuthenticationResult(user=None, auth=None)
        app = connection.app
        try:
            principal = await load_principal(app.state.db, app.state.settings.secret, raw)
        except Exception as exc:
            if not unavailable(exc) or connection.scope["type"] != "websocket":
                raise  # HTTP: 503 + Retry-After (judging/errors.py)
            raise WebSocketException(detail="The server is busy; reconnecting shortly.", code=CLOSE_TRY_AGAIN) \
                from exc
        return AuthenticationResult(user=principal, auth=raw if principal else None)


# --------------------------------------------------------------------------------------------------
# Guards (one per audience, set on the routers)
#
# Guards are coroutine functions on purpose: Litestar runs a *sync* guard in its thread pool
# (``ensure_async_callable`` -> ``sync_to_thread``), a thread hand-off on every request for a check that
# takes a microsecond (tests/test_authz_matrix.py checks every route's guards).
# --------------------------------------------------------------------------------------------------
def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Log in first: open your personal login link or sign in as staff.")
    return user


async def requires_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _principal(connection)


async def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not _principal(connection).is_staff:
        raise PermissionDeniedException("This page is for association staff only.")


async def requires_owner(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not _principal(connection).is_owner:
        raise PermissionDeniedException("Only the owner may do this.")


async def requires_judge(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not _principal(connection).roles & JUDGE_ROLES:
        raise PermissionDeniedException("This page is for judges and reviewers; open your own login link.")


def may_control_venue(p: Principal | None, venue_id: int) -> bool:
    """Staff, and the venue's host and chief judge: its control page, its actions and its console feed."""
    return p is not None and (p.is_staff or venue_id in p.venues("host", "chief_judge"))


async def requires_venue_control(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    p = _principal(connection)
    if not (p.is_staff or p.roles & VENUE_CONTROL_ROLES):
        raise PermissionDeniedException("This page is for hosts and chief judges.")


async def requires_display(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    p = _principal(connection)
    if not (p.is_staff or p.roles & ({"display"} | VENUE_CONTROL_ROLES)):
        raise PermissionDeniedException("This page is for venue screens; open the screen's login link.")


# --------------------------------------------------------------------------------------------------
# Password login with a per-account rate limit
# --------------------------------------------------------------------------------------------------
class LoginLimiter:
    """Counts failed logins per account (not per IP: a venue's tablets share one NAT address)."""

    def __init__(self, store: Store, max_failures: int, window_seconds: int) -> None:
        self.store = store
        self.max_failures = max_failures
        self.window = window_seconds

    @staticmethod
    def _key(username: str) -> str:
        return "login:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()

    async def check(self, username: str) -> None:
        raw = await self.store.get(self._key(username))
        count = int(raw or 0)
        if count >= self.max_failures:
            expires = await self.store.expires_in(self._key(username))
            retry = max(1, int(expires or self.window))
            raise PodiumError(
                f"Too many failed logins for this account. Try again in {retry} seconds.",
                code="rate_limited", status_code=429, headers={"Retry-After": str(retry)},
                detail={"retry_after": retry},
            )

    async def failed(self, username: str) -> None:
        key = self._key(username)
        raw = await self.store.get(key)
        count = int(raw or 0) + 1
        expires = await self.store.expires_in(key) if raw else None
        await self.store.set(key, str(count).encode(), expires_in=expires or self.window)

    async def succeeded(self, username: str) -> None:
        await self.store.delete(self._key(username))


async def password_login(session: AsyncSession, limiter: LoginLimiter, secret: str,
                         username: str, password: str) -> tuple[str, Account]:
    """Check the rate limit and the password; on success create a session token and return it."""
    await limiter.check(username)
    account = (
        await session.execute(select(Account).where(Account.username == username.strip()))
    ).scalar_one_or_none()
    if account is None or account.disabled or not verify_password(account.password_hash, password):
        await limiter.failed(username)
        raise PodiumError("Wrong user name or password.", code="bad_credentials", status_code=401)
    await limiter.succeeded(username)
    raw, _ = await issue_token(session, secret, "session", account.id, ttl=timedelta(days=SESSION_DAYS))
    return raw, account


async def grants_of(session: AsyncSession, account_id: int) -> list[RoleGrant]:
    return list((await session.execute(select(RoleGrant).where(RoleGrant.account_id == account_id))).scalars())
