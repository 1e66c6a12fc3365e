"""Test helpers: accounts, login links and sessions created through the real services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from judging import accounts
from judging.auth import hash_password
from judging.db.models import Account, RoleGrant
from judging.settings import Settings
from tests.conftest import run_db

PASSWORD = "correct horse battery"


def make_staff(settings: Settings, username: str = "owner", role: str = "owner") -> int:
    async def go(session: Any) -> int:
        account = Account(username=username, display_name=username, password_hash=hash_password(PASSWORD))
        session.add(account)
        await session.flush()
        session.add(RoleGrant(account_id=account.id, role=role))
        return account.id

    return int(run_db(settings, go))


def login_link(settings: Settings, account_id: int) -> str:
    """A new login link token (path ``/j/<token>``) for an account."""

    async def go(session: Any) -> str:
        return await accounts.add_login_link(session, settings.secret, account_id)

    return str(run_db(settings, go))


def account_with_role(settings: Settings, role: str, venue_id: int | None = None) -> int:
    async def go(session: Any) -> int:
        stmt = select(RoleGrant.account_id).where(RoleGrant.role == role)
        if venue_id is not None:
            stmt = stmt.where(RoleGrant.venue_id == venue_id)
        return int((await session.execute(stmt.order_by(RoleGrant.account_id).limit(1))).scalar_one())

    return int(run_db(settings, go))


def staff_login(client: Any, username: str = "owner", password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})
