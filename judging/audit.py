"""The audit log: every change made by staff (and every privileged action) is recorded with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from judging.auth import Principal
from judging.db.models import AuditLog


def record(
    session: AsyncSession, who: Principal | None, action: str, *, contest_id: int | None = None,
    entry_id: int | None = None, target: str = "", reason: str = "", ip: str = "", **detail: Any,
) -> AuditLog:
    """Add an audit row to the caller's transaction (it commits or rolls back with the change)."""
    row = AuditLog(
        account_id=who.account_id if who else None, action=action, contest_id=contest_id,
        entry_id=entry_id, target=target, reason=reason, ip=ip, detail=detail,
    )
    session.add(row)
    return row
