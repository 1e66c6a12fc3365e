"""Account services: owner setup, staff invitations, personal login links, revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from judging.auth import issue_token
from judging.db.base import utcnow
from judging.db.models import Account, AuthToken, RoleGrant

SETUP_LINK_TTL = timedelta(days=3)


async def owner_exists(session: AsyncSession) -> bool:
    row = await session.execute(select(RoleGrant.id).where(RoleGrant.role == "owner").limit(1))
    return row.first() is not None


async def new_owner_setup_token(session: AsyncSession, secret: str) -> str | None:
    """A fresh one-time owner setup token while no owner exists (older unused ones are revoked), else None."""
    if await owner_exists(session):
        return None
    await session.execute(
        update(AuthToken).where(AuthToken.kind == "setup", AuthToken.account_id.is_(None),
                                AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    raw, _ = await issue_token(session, secret, "setup", None, ttl=SETUP_LINK_TTL)
    return raw


async def invite_staff(session: AsyncSession, secret: str, display_name: str) -> tuple[Account, str]:
    """Create a staff account without a password and a one-time setup token for its owner."""
    account = Account(display_name=display_name)
    session.add(account)
    await session.flush()
    session.add(RoleGrant(account_id=account.id, role="staff"))
    raw, _ = await issue_token(session, secret, "setup", account.id, ttl=SETUP_LINK_TTL)
    return account, raw


async def revoke_tokens(session: AsyncSession, account_id: int, kinds: tuple[str, ...] = ("login_link", "session")
                        ) -> int:
    result = await session.execute(
        update(AuthToken).where(AuthToken.account_id == account_id, AuthToken.kind.in_(kinds),
                                AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def reissue_login_link(session: AsyncSession, secret: str, account_id: int) -> str:
    """Revoke the account's login links and sessions, then issue a new link token (one click for staff)."""
    await revoke_tokens(session, account_id)
    raw, _ = await issue_token(session, secret, "login_link", account_id)
    return raw


async def add_login_link(session: AsyncSession, secret: str, account_id: int) -> str:
    """Issue one more login link without revoking earlier ones (used by ``make run`` to print a demo link)."""
    raw, _ = await issue_token(session, secret, "login_link", account_id)
    return raw


def link_url(base_url: str, raw: str) -> str:
    return f"{base_url}/j/{raw}"


def setup_url(base_url: str, raw: str) -> str:
    return f"{base_url}/setup/{raw}"
