"""Writing to the event log (the outbox) inside the caller's transaction.

Sequence numbers come from the single ``event_counter`` row, incremented with ``UPDATE ... RETURNING``: the
row lock is held until commit, so seqs are gap-free and become visible in order on PostgreSQL too.

On PostgreSQL the transaction also sends ``NOTIFY podium_events`` (delivered at commit, once per transaction):
the publisher may run in another worker process, and it listens, instead of finding the event at its next poll.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.base import utcnow
from judging.db.models import Event, EventCounter

NOTIFY_CHANNEL = "podium_events"


async def ensure_counter(session: AsyncSession) -> None:
    if (await session.execute(select(EventCounter.id))).first() is None:
        await session.execute(insert(EventCounter).values(id=1, last_seq=0))


_NEXT_SEQ = (
    update(EventCounter.__table__).where(EventCounter.__table__.c.id == 1)
    .values(last_seq=EventCounter.__table__.c.last_seq + 1).returning(EventCounter.__table__.c.last_seq)
)
_INSERT_EVENT = insert(Event.__table__)
"""Built once: every submission, heartbeat change and stage move writes an event."""


async def append_event(
    session: AsyncSession, kind: str, payload: dict[str, Any], *,
    contest_id: int | None = None, venue_id: int | None = None,
) -> int:
    """Append one event to the log in the caller's transaction; returns its seq."""
    seq = (await session.execute(_NEXT_SEQ)).scalar_one_or_none()
    if seq is None:
        await ensure_counter(session)
        return await append_event(session, kind, payload, contest_id=contest_id, venue_id=venue_id)
    if session.bind.dialect.name == "postgresql":
        tx = id(session.get_transaction())
        if session.info.get("podium_notified") != tx:
            await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
            session.info["podium_notified"] = tx
    await session.execute(_INSERT_EVENT, {"seq": seq, "kind": kind, "payload": payload, "contest_id": contest_id,
                                          "venue_id": venue_id, "created_at": utcnow()})
    return int(seq)


def after_commit(app: Any) -> None:
    """Tell the app's event publisher that new events were committed (call after ``db.write()`` exits)."""
    waker = getattr(app.state, "events_committed", None)
    if waker is not None:
        waker.set()
