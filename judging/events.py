"""Writing to the event log (the outbox) inside the caller's transaction.

``append_event`` queues the event on the session; just before the transaction commits (a ``before_commit``
hook) the queued events are inserted. Seqs come from the single ``event_counter`` row, whose lock is held until
commit, so they are gap-free and become visible in order:

* SQLite (one writer at a time anyway): the hook numbers them itself (``UPDATE ... RETURNING``, one statement
  for all of them) and inserts them.
* PostgreSQL: the hook inserts them with temporary negative seqs, in one statement and without any lock; a
  deferred constraint trigger (migration 0002) numbers them *during* COMMIT, inside the server, and sends
  ``NOTIFY podium_events`` (the publisher may run in another worker process; it listens). The counter's lock is
  thus held for no client round trip at all: when it was taken by the hook, every event-writing transaction of
  both workers queued behind four round trips of whichever busy event loop held it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from judging.db.base import utcnow
from judging.db.models import Event, EventCounter

NOTIFY_CHANNEL = "podium_events"
"""Sent by the commit trigger (migration 0002 names it literally); the publisher LISTENs on it."""
_PENDING = "podium_pending_events"

_counter = EventCounter.__table__
_ADVANCE = (
    update(_counter).where(_counter.c.id == 1)
    .values(last_seq=_counter.c.last_seq + bindparam("n")).returning(_counter.c.last_seq)
)
_INSERT_EVENT = insert(Event.__table__)
"""Built once: every submission, heartbeat change and stage move writes an event."""
_INSERT_PENDING = insert(Event.__table__).values(seq=-func.nextval("event_pending_seq"))
"""PostgreSQL: a temporary (negative, unique) seq; the commit trigger replaces it with the next counter value."""


async def ensure_counter(session: AsyncSession) -> None:
    if (await session.execute(select(EventCounter.id))).first() is None:
        await session.execute(insert(EventCounter).values(id=1, last_seq=0))


async def append_event(
    session: AsyncSession, kind: str, payload: dict[str, Any], *,
    contest_id: int | None = None, venue_id: int | None = None,
) -> None:
    """Add one event to the log in the caller's transaction (numbered and written when it commits)."""
    session.sync_session.info.setdefault(_PENDING, []).append(
        {"kind": kind, "payload": payload, "contest_id": contest_id, "venue_id": venue_id, "created_at": utcnow()})


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending: list[dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_INSERT_PENDING, pending)
        return
    n = len(pending)
    last = session.execute(_ADVANCE, {"n": n}).scalar_one_or_none()
    if last is None:  # a database without its counter row yet
        session.execute(insert(EventCounter).values(id=1, last_seq=0))
        last = session.execute(_ADVANCE, {"n": n}).scalar_one()
    first = int(last) - n + 1
    session.execute(_INSERT_EVENT, [{**e, "seq": first + i} for i, e in enumerate(pending)])


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def after_commit(app: Any) -> None:
    """Tell the app's event publisher that new events were committed (call after ``db.write()`` exits)."""
    waker = getattr(app.state, "events_committed", None)
    if waker is not None:
        waker.set()
