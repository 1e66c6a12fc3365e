"""Operations status for staff: ``GET /api/staff/status``.

What someone watching the contest-day server needs at a glance: live-feed connections of this process per feed,
event lag (how far the publisher is behind the event log), tablets online and the sheets queued on them, socket
send queues, open help calls. Connection counts and queues are per server process (each process holds its own
sockets); the database figures are global.
"""

from __future__ import annotations

import gc
import os
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Router, get
from sqlalchemy import func, select

from judging import __version__
from judging.auth import requires_staff
from judging.db.models import Event, HelpCall, Presence, Venue
from judging.feed import head_seq
from judging.observability import gc_pauses
from judging.sheets import PRESENCE_OFFLINE_AFTER

STARTED = time.time()


class FeedConnections(msgspec.Struct):
    feed: str
    """``venue/<id>``, ``board/<contest>`` or ``staff/<contest>``."""
    connections: int


class EventLag(msgspec.Struct):
    head_seq: int
    """The last seq written to the event log."""
    published_seq: int
    """The highest seq the publisher has marked published (``event.published_at``)."""
    lag: int
    """``head_seq - published_seq``: events written but not yet on the feeds."""
    unpublished: int
    """Events with ``published_at`` still empty (not yet published, or a failed publish waiting for a retry)."""
    oldest_unpublished_s: float | None
    """Age of the oldest unpublished event, seconds."""


class Publisher(msgspec.Struct):
    leader: bool
    """This process publishes (on PostgreSQL one process holds the advisory lock; the others stand by)."""
    cursor: int
    published: int
    """Messages this process published since it started."""
    failures: int


class Tablets(msgspec.Struct):
    devices: int
    online: int
    offline: int
    queued_sheets: int
    """Sheets waiting in tablets' outboxes, as their last heartbeats reported."""
    devices_with_queue: int


class Queues(msgspec.Struct):
    socket_messages: int
    """Messages waiting in this process's per-socket send queues."""
    socket_max: int
    """The longest single socket queue (a socket over the limit is closed as too slow)."""
    received_from_channels: int
    """Messages this process received from the channels backend."""
    wire_writes: int = 0
    """Live events this process wrote straight to a socket's transport (one pre-built frame per event)."""
    asgi_writes: int = 0
    """Live events written through the ASGI send instead (another server, or a socket that was busy)."""
    flush_lag_ms: float = 0.0
    """How late this process's fan-out flush timers fire (a smoothed mean): its event loop's backlog. Above
    ``FeedConfig.busy_lag_s`` (20 ms) the big feeds gather events longer (docs/live.md)."""
    control_writes: int = 0
    """Heartbeat pings and pongs this process wrote straight to a socket's transport (the rest went through ASGI)."""


class GcStatus(msgspec.Struct):
    collections: list[int]
    """Collections per generation (young, middle, full)."""
    seconds: list[float]
    """Time spent in them per generation: the process's event loop stood still meanwhile."""
    max_pause_ms: list[float]
    """The longest single pause per generation."""


class OpsStatus(msgspec.Struct):
    server_ms: int
    version: str
    pid: int
    uptime_s: float
    database: str
    """``sqlite`` or ``postgresql``."""
    channels: str
    """``memory`` (one process) or ``redis`` (scaled out)."""
    workers: int
    connections: int
    """Live-feed sockets held by this process."""
    feeds: list[FeedConnections]
    events: EventLag
    publisher: Publisher
    tablets: Tablets
    queues: Queues
    help_calls_open: int
    gc_frozen_objects: int = 0
    """Objects moved out of the cyclic collector's reach at start-up (``podium serve``; see judging/app.py)."""
    gc: GcStatus | None = None
    """This process's garbage-collector pauses since it started."""


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _feeds(app: Any) -> tuple[int, list[FeedConnections]]:
    hub = getattr(app.state, "hub", None)
    topology = getattr(app.state, "topology", None)
    if hub is None:
        return 0, []
    feeds: list[FeedConnections] = []
    if topology is not None:
        for contest_id, venues in sorted(topology.venues_of.items()):
            for venue_id in venues:
                feeds.append(FeedConnections(f"venue/{venue_id}",
                                             hub.count(topology.channel("display", contest_id, venue_id))))
            for audience, name in (("public", "board"), ("staff", "staff")):
                feeds.append(FeedConnections(f"{name}/{contest_id}",
                                             hub.count(topology.channel(audience, contest_id, None))))
    return int(hub.count()), [f for f in feeds if f.connections]


def _queues(app: Any) -> Queues:
    hub = getattr(app.state, "hub", None)
    if hub is None:
        return Queues(0, 0, 0)
    sizes = [len(listener) for group in dict(getattr(hub, "_listeners", {})).values() for listener in tuple(group)]
    return Queues(sum(sizes), max(sizes, default=0), int(getattr(hub, "received", 0)),
                  int(getattr(hub, "wire_writes", 0)), int(getattr(hub, "asgi_writes", 0)),
                  round(float(getattr(hub, "lag", 0.0)) * 1000, 1), int(getattr(hub, "control_writes", 0)))


@get("/api/staff/status", summary="Operations status: connections, event lag, tablets, queues", tags=["staff"])
async def status_api(request: Request[Any, Any, Any]) -> OpsStatus:
    """Per-process live connections and queues plus the database's event lag and tablet presence.
    Poll it from a staff page or ``curl`` during the contest day."""
    app = request.app
    now = datetime.now(UTC)
    async with app.state.db.read() as session:
        head = await head_seq(session)
        published = int((await session.execute(
            select(func.max(Event.seq)).where(Event.published_at.is_not(None)))).scalar() or 0)
        unpublished, oldest = (await session.execute(
            select(func.count(Event.seq), func.min(Event.created_at)).where(Event.published_at.is_(None)))).one()
        presence = (await session.execute(select(Presence.online, Presence.last_seen_at, Presence.queued))).all()
        help_open = int((await session.execute(
            select(func.count(HelpCall.id)).where(HelpCall.resolved_at.is_(None)))).scalar() or 0)
        topology = getattr(app.state, "topology", None)
        if topology is not None and not topology.venues_of and (
                await session.execute(select(Venue.id).limit(1))).first() is not None:
            await topology.refresh(session)  # a standby process (no publisher yet) learns the venues here
    online = sum(1 for on, seen, _ in presence if on and now - _aware(seen) < PRESENCE_OFFLINE_AFTER)
    total, feeds = _feeds(app)
    pub = getattr(app.state, "publisher", None)
    settings = app.state.settings
    return OpsStatus(
        gc_frozen_objects=gc.get_freeze_count(),
        gc=GcStatus(collections=list(gc_pauses.collections), seconds=[round(t, 3) for t in gc_pauses.seconds],
                    max_pause_ms=[round(t, 1) for t in gc_pauses.max_ms]),
        server_ms=int(now.timestamp() * 1000), version=__version__, pid=os.getpid(),
        uptime_s=round(time.time() - STARTED, 1), database="sqlite" if settings.is_sqlite else "postgresql",
        channels="redis" if settings.redis_url else "memory", workers=settings.workers,
        connections=total, feeds=feeds,
        events=EventLag(head_seq=head, published_seq=published, lag=max(0, head - published),
                        unpublished=int(unpublished or 0),
                        oldest_unpublished_s=round((now - _aware(oldest)).total_seconds(), 1) if oldest else None),
        publisher=Publisher(
            leader=bool(pub is not None and (settings.is_sqlite or getattr(pub, "_lock_conn", None) is not None)),
            cursor=int(getattr(pub, "cursor", 0)), published=int(getattr(pub, "published", 0)),
            failures=int(getattr(pub, "failures", 0))),
        tablets=Tablets(devices=len(presence), online=online, offline=len(presence) - online,
                        queued_sheets=sum(q for _, _, q in presence),
                        devices_with_queue=sum(1 for _, _, q in presence if q)),
        queues=_queues(app), help_calls_open=help_open,
    )


router = Router(path="/", route_handlers=[status_api], guards=[requires_staff], tags=["staff"])
