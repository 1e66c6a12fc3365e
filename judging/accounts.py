"""Account services: owner setup, staff invitations, personal login links, revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from judging.auth import issue_token
from judging.db.base import utcnow
from judging.db.models import Account, AuthToken, RoleGrant
from judging.errors import Refusal

SETUP_LINK_TTL = timedelta(days=3)


async def roles_of(session: AsyncSession, account_id: int) -> set[str]:
    """The roles an account holds (any contest or venue)."""
    return set((await session.execute(select(RoleGrant.role).where(RoleGrant.account_id == account_id))).scalars())


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


async def replace_sheet_link(session: AsyncSession, secret: str, account_id: int, label: str) -> str:
    """A new login link printed on the QR sheet ``label``: it replaces the account's card of that sheet and any
    unlabelled link (with their sessions), not a card of another sheet (a judge on two panels, an expert who also
    sits on a panel keeps the other card and stays logged in with it)."""
    await session.execute(
        update(AuthToken).where(AuthToken.account_id == account_id, AuthToken.kind == "login_link",
                                AuthToken.revoked_at.is_(None),
                                or_(AuthToken.label == label, AuthToken.label.is_(None)))
        .values(revoked_at=utcnow()))
    raw, token = await issue_token(session, secret, "login_link", account_id)
    token.label = label
    return raw


async def add_login_link(session: AsyncSession, secret: str, account_id: int) -> str:
    """Issue one more login link without revoking earlier ones (used by ``make run`` to print a demo link)."""
    raw, _ = await issue_token(session, secret, "login_link", account_id)
    return raw


class StaffAccount(msgspec.Struct, frozen=True):
    """A staff or owner account as the owner's account list shows it (the page and ``GET /api/staff/accounts``)."""

    id: int
    display_name: str
    username: str | None
    role: str
    """``owner`` or ``staff``."""
    state: str
    """``active`` (has a password), ``pending`` (invited, no password chosen yet) or ``disabled``."""
    setup_link_until: datetime | None
    """When the newest unused setup link expires (null: none open)."""
    last_login_at: datetime | None
    created_at: datetime


class AccountRefusal(Refusal):
    """A staff account change the owner may not make: a catalog template and its parameters, with the API's error
    code and status."""

    def __init__(self, code: str, status_code: int, template: str, /, **params: object) -> None:
        super().__init__(template, **params)
        self.code = code
        self.status_code = status_code


async def staff_accounts(session: AsyncSession) -> list[StaffAccount]:
    """Every owner and staff account, owner first, then by creation."""
    now = utcnow()
    roles: dict[int, str] = dict((await session.execute(
        select(RoleGrant.account_id, func.min(RoleGrant.role)).where(RoleGrant.role.in_(("owner", "staff")))
        .group_by(RoleGrant.account_id))).all())  # "owner" < "staff": an owner with both is the owner
    if not roles:
        return []
    ids = list(roles)
    logins: dict[int, datetime] = dict((await session.execute(
        select(AuthToken.account_id, func.max(AuthToken.created_at))
        .where(AuthToken.account_id.in_(ids), AuthToken.kind == "session").group_by(AuthToken.account_id)
    )).all())
    links: dict[int, datetime] = dict((await session.execute(
        select(AuthToken.account_id, func.max(AuthToken.expires_at))
        .where(AuthToken.account_id.in_(ids), AuthToken.kind == "setup", AuthToken.revoked_at.is_(None),
               AuthToken.expires_at > now).group_by(AuthToken.account_id)
    )).all())
    accounts = (await session.execute(select(Account).where(Account.id.in_(ids)))).scalars().all()
    out = [StaffAccount(a.id, a.display_name, a.username, roles[a.id],
                        "disabled" if a.disabled else "active" if a.password_hash else "pending",
                        links.get(a.id), logins.get(a.id), a.created_at) for a in accounts]
    return sorted(out, key=lambda a: (a.role != "owner", a.created_at, a.id))


async def _staff_account(session: AsyncSession, account_id: int, acting_id: int) -> Account:
    """The staff account the owner acts on (locked for the change), or a refusal."""
    account = (await session.execute(
        select(Account).where(Account.id == account_id).with_for_update(key_share=True))).scalar_one_or_none()
    if account is None:
        raise AccountRefusal("not_found", 404, "There is no account {id}.", id=account_id)
    roles = await roles_of(session, account_id)
    if account_id == acting_id or "owner" in roles:
        raise AccountRefusal("not_allowed", 409, "The owner's account is not changed here; on the server, "
                             "'podium users setup-link --account {id}' gives the owner a new setup link.",
                             id=account_id)
    if "staff" not in roles:
        raise AccountRefusal("not_staff", 409, "Account {id} is not a staff account; judges, reviewers, hosts and "
                             "screens get a new login link on their contest's people page.", id=account_id)
    return account


async def new_setup_link(session: AsyncSession, secret: str, account_id: int, acting_id: int) -> tuple[Account, str]:
    """A new one-time setup link for a staff account: a lost invitation, or a forgotten password. Earlier setup
    links stop working; the account's password (if any) keeps working until the new link is used, which ends
    the account's other sessions."""
    account = await _staff_account(session, account_id, acting_id)
    if account.disabled:
        raise AccountRefusal("disabled", 409, "The account of {name} is disabled; enable it first.",
                             name=account.display_name)
    return account, await replace_setup_link(session, secret, account_id)


async def replace_setup_link(session: AsyncSession, secret: str, account_id: int) -> str:
    """Revoke the account's open setup links and issue a new one (valid once, for SETUP_LINK_TTL)."""
    await revoke_tokens(session, account_id, ("setup",))
    raw, _ = await issue_token(session, secret, "setup", account_id, ttl=SETUP_LINK_TTL)
    return raw


async def set_disabled(session: AsyncSession, account_id: int, acting_id: int, disabled: bool) -> tuple[Account, int]:
    """Disable a staff account (its password stops working; every session and open setup link ends at once) or
    enable it again (its password works again; a pending account needs a new setup link). Returns the account
    and how many tokens were revoked."""
    account = await _staff_account(session, account_id, acting_id)
    revoked = 0
    if disabled:
        revoked = await revoke_tokens(session, account_id, ("setup", "login_link", "session"))
    account.disabled = disabled
    return account, revoked


def link_url(base_url: str, raw: str) -> str:
    return f"{base_url}/j/{raw}"


def setup_url(base_url: str, raw: str) -> str:
    return f"{base_url}/setup/{raw}"
