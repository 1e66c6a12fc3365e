"""The database side of the live feed: the publisher that tails the event log, and snapshots and replays.

* Writers append events in their own transaction (``judging.events.append_event``) and call
  ``after_commit(app)``, which sets ``app.state.events_committed``. The publisher wakes (or polls every second:
  other processes and the CLI write events too), reads the events after its cursor in seq order, encodes each
  once per channel and publishes the whole round at once (``live.channels.BatchPublisher.publish_many``: one Redis
  round trip): a failing publish is logged and retried from the log (``event.published_at`` stays NULL), and never
  stops later events (Litestar issue #5008 kills the plugin's own publish queue on the first error, so that queue
  is not used).
* Several server processes on PostgreSQL: one publisher at a time holds an advisory lock; the others stand by.
* Snapshots are read in one consistent transaction (REPEATABLE READ on PostgreSQL) stamped with the head seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.base import utcnow
from judging.db.engine import Database
from judging.db.models import (
    Account,
    Contest,
    Entry,
    Event,
    EventCounter,
    HelpCall,
    PanelMember,
    Person,
    Presence,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.events import NOTIFY_CHANNEL
from live.channels import BatchPublisher
from live.fanout import Hub
from live.projection import board_ranks, competition_ranks, result_of
from live.protocol import (
    RELEASED,
    EntryView,
    EventData,
    HelpView,
    Leaderboard,
    PanelJudge,
    PresenceView,
    Result,
    ResultCorrected,
    ResultReleased,
    SheetSubmitted,
    StaffState,
    TimerState,
    TopicTypeView,
    VenueBrief,
    VenueState,
    audience_sees,
    encode,
    parse_data,
    public_entry_status,
    venue_of,
)
from live.protocol import Event as EventMsg
from live.server import FeedConfig

log = logging.getLogger("podium.feed")

ADVISORY_LOCK_KEY = 0x706F6469  # "podi"
RESULT_KINDS = ("result.released", "result.corrected")
BATCH = 500
MARK_EVERY_S = 0.5
SHUTDOWN_WAIT_S = 10.0
"""Published events are marked in the log at most this often (one write transaction per mark, which on SQLite
waits for the single writer like a judge's submission does). A crash between publish and mark re-publishes those
events at the next start; every socket drops a seq it has already seen."""


def epoch_ms(at: datetime | None) -> int | None:
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


# Channel names carry the contest's creation stamp: a Redis stream keeps its last message, and a server pointed at
# another database (a restored backup, the next test) must never take that message for one of its own events.
def venue_channel(venue_id: int, stamp: int) -> str:
    return f"venue:{venue_id}@{stamp}"


def console_channel(venue_id: int, stamp: int) -> str:
    return f"console:{venue_id}@{stamp}"


def public_channel(contest_id: int, stamp: int) -> str:
    return f"public:{contest_id}@{stamp}"


def staff_channel(contest_id: int, stamp: int) -> str:
    return f"staff:{contest_id}@{stamp}"


# ------------------------------------------------------------------------------------------ routing
class Topology:
    """Which venues belong to which contest (cached; venues are set up before a contest day)."""

    def __init__(self) -> None:
        self.contest_of: dict[int, int] = {}
        self.venues_of: dict[int, list[int]] = {}
        self.stamp_of: dict[int, int] = {}

    async def refresh(self, session: AsyncSession) -> None:
        rows = (await session.execute(select(Venue.id, Venue.contest_id).order_by(Venue.id))).all()
        self.contest_of = {v: c for v, c in rows}
        self.venues_of = {}
        for v, c in rows:
            self.venues_of.setdefault(c, []).append(v)
        self.stamp_of = {c: epoch_ms(at) or 0 for c, at in (await session.execute(
            select(Contest.id, Contest.created_at))).all()}

    async def ensure(self, session: AsyncSession, venue_id: int | None, contest_id: int | None) -> None:
        """Refresh on a venue or contest not seen yet, or a venue now in another contest: SQLite gives a deleted
        venue's id to the next venue created (staff may delete one made by mistake, ``judging.staff.setup``)."""
        cached = self.contest_of.get(venue_id) if venue_id is not None else None
        if (venue_id is not None and cached is None) or (contest_id is not None and (
                contest_id not in self.stamp_of or (cached is not None and cached != contest_id))):
            await self.refresh(session)

    def routes(self, contest_id: int | None, venue_id: int | None, data: EventData) -> list[tuple[str, str]]:
        """(channel, audience) pairs an event goes to. Replays use the same rule, so ``prev`` chains agree."""
        venue_id = venue_of(data) or venue_id  # the payload's venue (initial-stage events log none)
        if contest_id is None and venue_id is not None:
            contest_id = self.contest_of.get(venue_id)
        if contest_id is None:
            return []
        stamp = self.stamp_of.get(contest_id, 0)
        out: list[tuple[str, str]] = []
        venues = [venue_id] if venue_id is not None else self.venues_of.get(contest_id, [])
        if audience_sees("display", data):
            out.extend((venue_channel(v, stamp), "display") for v in venues)
        if audience_sees("console", data) and (venue_id is not None or audience_sees("display", data)):
            # a tablet's presence goes to its own venue's console only (one with no venue concerns no console)
            out.extend((console_channel(v, stamp), "console") for v in venues)
        if audience_sees("public", data):
            out.append((public_channel(contest_id, stamp), "public"))
        if audience_sees("staff", data):
            out.append((staff_channel(contest_id, stamp), "staff"))
        return out

    def channel(self, audience: str, contest_id: int, venue_id: int | None) -> str:
        stamp = self.stamp_of.get(contest_id, 0)
        if audience in ("display", "console"):
            assert venue_id is not None
            return (venue_channel if audience == "display" else console_channel)(venue_id, stamp)
        return public_channel(contest_id, stamp) if audience == "public" else staff_channel(contest_id, stamp)


HEAD_SEQ = select(EventCounter.last_seq).where(EventCounter.id == 1)
"""The event log's head: the last seq numbered (every event up to it is committed)."""


async def head_seq(session: AsyncSession) -> int:
    return int((await session.execute(HEAD_SEQ)).scalar() or 0)


# ------------------------------------------------------------------------------------------ publisher
class Publisher:
    def __init__(self, db: Database, broadcaster: BatchPublisher, wake: asyncio.Event, *, poll_s: float = 1.0,
                 on_sheets: Any = None) -> None:
        self.db = db
        self.broadcaster = broadcaster
        self.wake = wake
        self.poll_s = poll_s
        self.topology = Topology()
        self.cursor = 0
        self.prev: dict[str, int] = {}
        self.failures = 0
        self.published = 0
        self.on_sheets = on_sheets
        """Called with the entry ids of new sheet submissions (the lifecycle's "all sheets in" check)."""
        self._lock_conn: Any = None
        self.base_prev = 0
        self._unmarked: list[int] = []
        self._marked_at = 0.0
        self._sheet_entries: set[int] = set()
        self._sheets_waiting = asyncio.Event()
        self.leading = asyncio.Event()
        """Set once this process publishes (on PostgreSQL: holds the advisory lock; SQLite: at once)."""

    async def _acquire_leadership(self) -> None:
        """On PostgreSQL, wait until this process holds the publisher's advisory lock."""
        if self.db.is_sqlite:
            return
        while True:
            conn = await self.db.engine.connect()
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})).scalar()
            if got:
                await conn.commit()
                self._lock_conn = conn
                await self._listen(conn)
                return
            await conn.close()
            await asyncio.sleep(2.0)

    async def _listen(self, conn: Any) -> None:
        """Wake on every committed event of every process (``NOTIFY podium_events``, sent by append_event);
        the poll stays as the fallback should this connection be lost."""
        raw = await conn.get_raw_connection()
        driver = getattr(raw, "driver_connection", None)
        if driver is None or not hasattr(driver, "add_listener"):
            return
        try:
            await driver.add_listener(NOTIFY_CHANNEL, lambda *_args: self.wake.set())
        except Exception:  # not fatal: the poll still finds every event
            log.exception("could not LISTEN for committed events; polling only")

    async def start_cursor(self) -> None:
        async with self.db.read() as session:
            first_unpublished = (await session.execute(
                select(Event.seq).where(Event.published_at.is_(None)).order_by(Event.seq).limit(1))).scalar()
            head = await head_seq(session)
            await self.topology.refresh(session)
        self.cursor = (first_unpublished - 1) if first_unpublished is not None else head
        # Channels' previous events are unknown after a start: claim the cursor, so a client that saw less
        # refills from the log (at worst one needless replay), never skips a real gap.
        self.base_prev = self.cursor

    async def run(self) -> None:
        await self._acquire_leadership()
        await self.start_cursor()
        self.leading.set()
        retry_at = 0.0
        while True:
            timeout = min(self.poll_s, MARK_EVERY_S) if self._unmarked else self.poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()
            try:
                while await self.step():
                    pass
                await self._mark_due()
                loop_time = asyncio.get_running_loop().time()
                if self.failures and loop_time >= retry_at:
                    await self.retry_failed()
                    retry_at = loop_time + 2.0
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may blip; the log is still there on the next round
                log.exception("live publisher round failed; retrying")
                await asyncio.sleep(self.poll_s)

    async def step(self) -> bool:
        """Publish the next batch after the cursor; True if there may be more."""
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Event).where(Event.seq > self.cursor).order_by(Event.seq).limit(BATCH))).scalars().all()
            if rows:
                await self.topology.ensure(session, rows[-1].venue_id, rows[-1].contest_id)
                for row in rows:
                    await self.topology.ensure(session, row.venue_id, row.contest_id)
        if not rows:
            return False
        ok = await self.publish_rows(rows, live=True)
        sheet_entries: list[int] = []
        for row in rows:
            data = parse_data(row.kind, row.payload)
            if isinstance(data, SheetSubmitted):
                sheet_entries.append(data.entry_id)
            self.cursor = row.seq
        self._unmarked.extend(ok)
        if sheet_entries and self.on_sheets is not None:
            self._sheet_entries.update(sheet_entries)
            self._sheets_waiting.set()
        return len(rows) == BATCH

    async def run_lifecycle(self) -> None:
        """Run ``on_sheets`` for the entries of new submissions, in its own task: it reads and may write (and on
        a busy server waits for a pooled connection or SQLite's writer), and publishing must never wait for it.
        Entries that arrive meanwhile are checked together in the next round."""
        while True:
            await self._sheets_waiting.wait()
            self._sheets_waiting.clear()
            entries, self._sheet_entries = sorted(self._sheet_entries), set()
            if not entries or self.on_sheets is None:
                continue
            try:
                await self.on_sheets(entries)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next submission of these entries checks them again
                log.exception("lifecycle check after sheet submissions failed")

    async def run_every(self, every_s: float, job: Callable[[], Awaitable[Any]], what: str) -> None:
        """Run ``job`` every ``every_s`` seconds in the publishing process only (one process of several), in its own
        task: publishing never waits for it."""
        await self.leading.wait()
        while True:
            await asyncio.sleep(every_s)
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may blip: the next round tries again
                log.exception("%s failed; retrying in %.0f s", what, every_s)

    async def publish_rows(self, rows: Sequence[Event], *, live: bool) -> list[int]:
        """Publish a batch (one ``publish_many``: one Redis round trip); returns the seqs that reached every
        channel they go to. Each channel gets its messages in seq order."""
        seqs: list[int] = []
        messages: list[tuple[str, bytes]] = []
        for row in rows:
            data = parse_data(row.kind, row.payload)
            if data is None:
                continue  # not a feed event (or malformed): nothing to publish
            at = epoch_ms(row.created_at) or 0
            for channel, _audience in self.topology.routes(row.contest_id, row.venue_id, data):
                prev = self.prev.get(channel, self.base_prev)
                if live:
                    self.prev[channel] = row.seq
                message = encode(EventMsg(seq=row.seq, prev=min(prev, row.seq - 1), at_ms=at, data=data))
                seqs.append(row.seq)
                messages.append((channel, message))
        failed: set[int] = set()
        try:
            published = await self.broadcaster.publish_many(messages)
        except Exception:  # log, keep going; retried from the log, and sockets refill gaps from the log
            log.exception("publishing events %s..%s failed", rows[0].seq if rows else 0, rows[-1].seq if rows else 0)
            published = [False] * len(messages)
        for seq, (channel, _message), ok in zip(seqs, messages, published, strict=True):
            if ok:
                self.published += 1
            else:
                log.error("publishing event %s on %s failed", seq, channel)
                failed.add(seq)
        if failed:
            self.failures += 1
        return [row.seq for row in rows if row.seq not in failed]

    async def retry_failed(self) -> None:
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Event).where(Event.published_at.is_(None), Event.seq <= self.cursor)
                .order_by(Event.seq).limit(BATCH))).scalars().all()
        self.failures = 0
        await self._mark(await self.publish_rows(rows, live=False))

    async def _mark_due(self, *, now: bool = False) -> None:
        """Mark what was published, if the last mark is old enough (or ``now``)."""
        loop_time = asyncio.get_running_loop().time()
        if self._unmarked and (now or len(self._unmarked) >= BATCH or loop_time - self._marked_at >= MARK_EVERY_S):
            seqs, self._unmarked = self._unmarked, []
            try:
                await self._mark(seqs)
            except BaseException:
                self._unmarked = seqs + self._unmarked
                raise
            self._marked_at = loop_time

    async def _mark(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        async with self.db.write() as session:
            await session.execute(update(Event).where(Event.seq.in_(list(seqs))).values(published_at=utcnow()))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._mark_due(now=True)
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                await self._lock_conn.close()
            self._lock_conn = None


# ------------------------------------------------------------------------------------------ snapshots
def _entry_view(e: Entry, topic_key: str) -> EntryView:
    return EntryView(id=e.id, code=e.code, title=e.title, team=e.team, organization=e.organization,
                     topic_type=topic_key, venue_id=e.venue_id, running_order=e.running_order,
                     status=e.status)  # type: ignore[arg-type]


async def _released_results(session: AsyncSession, entries: dict[int, EntryView],
                            where: Any) -> dict[int, Result]:
    rows = (await session.execute(
        select(Event.seq, Event.kind, Event.payload).where(Event.kind.in_(RESULT_KINDS), where)
        .order_by(Event.seq))).all()
    out: dict[int, Result] = {}
    for seq, kind, payload in rows:
        data = parse_data(kind, payload)
        if isinstance(data, ResultReleased | ResultCorrected):
            out[data.entry_id] = result_of(data, seq)
    return {k: v for k, v in out.items() if k in entries and entries[k].status in RELEASED}


def timer_of(venue: Venue) -> TimerState:
    return TimerState(
        venue_id=venue.id, running=venue.timer_started_at is not None,
        started_at_ms=epoch_ms(venue.timer_started_at), elapsed_ms=venue.timer_elapsed_ms,
        duration_ms=venue.presentation_minutes * 60_000, qa_ms=venue.qa_minutes * 60_000,
    )


async def _topic_keys(session: AsyncSession, contest_id: int) -> dict[int, str]:
    rows = (await session.execute(select(TopicType.id, TopicType.key).where(TopicType.contest_id == contest_id))).all()
    return {i: k for i, k in rows}


async def venue_state(session: AsyncSession, venue: Venue) -> VenueState:
    keys = await _topic_keys(session, venue.contest_id)
    entries = (await session.execute(
        select(Entry).where(Entry.venue_id == venue.id).order_by(Entry.running_order, Entry.id))).scalars().all()
    views = {e.id: _entry_view(e, keys.get(e.topic_type_id, "")) for e in entries}
    panel = (await session.execute(
        select(PanelMember.person_id, Person.name, PanelMember.is_chief)
        .join(Person, Person.id == PanelMember.person_id)
        .where(PanelMember.venue_id == venue.id).order_by(PanelMember.is_chief.desc(), PanelMember.id))).all()
    panel_ids = {p for p, _, _ in panel}
    progress: dict[int, list[int]] = {}
    if views:
        rows = (await session.execute(
            select(ScoreSheet.entry_id, ScoreSheet.person_id)
            .join(Stage, Stage.id == ScoreSheet.stage_id)
            .join(SheetVersion, and_(SheetVersion.sheet_id == ScoreSheet.id, SheetVersion.is_current.is_(True)))
            .where(ScoreSheet.entry_id.in_(list(views)), Stage.kind == "onsite"))).all()
        for entry_id, person_id in rows:
            if person_id in panel_ids:
                progress.setdefault(entry_id, []).append(person_id)
        progress = {k: sorted(set(v)) for k, v in progress.items()}
    results = await _released_results(session, views, Event.venue_id == venue.id)
    current_seq = (await session.execute(
        select(Event.seq).where(Event.venue_id == venue.id, Event.kind == "venue.current")
        .order_by(Event.seq.desc()).limit(1))).scalar() or 0
    return VenueState(
        venue_id=venue.id, contest_id=venue.contest_id, code=venue.code, name=venue.name,
        current_entry_id=venue.current_entry_id, current_seq=current_seq, timer=timer_of(venue),
        panel=[PanelJudge(person_id=p, name=n, is_chief=c) for p, n, c in panel],
        entries=views, progress=progress, results=results, ranks=competition_ranks(results),
    )


async def leaderboard(session: AsyncSession, contest: Contest) -> Leaderboard:
    tts = (await session.execute(
        select(TopicType).where(TopicType.contest_id == contest.id).order_by(TopicType.id))).scalars().all()
    keys = {t.id: t.key for t in tts}
    venues = (await session.execute(
        select(Venue).where(Venue.contest_id == contest.id).order_by(Venue.position, Venue.id))).scalars().all()
    entries = (await session.execute(
        select(Entry).where(Entry.contest_id == contest.id).order_by(Entry.code))).scalars().all()
    views = {e.id: _entry_view(e, keys.get(e.topic_type_id, "")) for e in entries}
    for view in views.values():  # the public sees no status before a release (live.protocol.PUBLIC_KINDS)
        view.status = public_entry_status(view.status)
    results = await _released_results(session, views, Event.contest_id == contest.id)
    board = Leaderboard(
        contest_id=contest.id, name=contest.name,
        topic_types=[TopicTypeView(key=t.key, name_zh=t.name_zh, name_en=t.name_en) for t in tts],
        venues={v.id: VenueBrief(id=v.id, code=v.code, name=v.name) for v in venues},
        entries=views, results=results,
    )
    board.ranks = board_ranks(board)
    return board


async def staff_state(session: AsyncSession, contest: Contest) -> StaffState:
    venues = (await session.execute(
        select(Venue).where(Venue.contest_id == contest.id).order_by(Venue.position, Venue.id))).scalars().all()
    state = StaffState(contest_id=contest.id)
    for v in venues:
        state.venues[v.id] = await venue_state(session, v)
    rows = (await session.execute(
        select(Presence).where(or_(Presence.venue_id.in_([v.id for v in venues]), Presence.venue_id.is_(None)))
    )).scalars().all()
    persons = dict((await session.execute(select(Account.id, Account.person_id))).all())
    for p in rows:
        state.presence[f"{p.account_id}:{p.device_id}"] = PresenceView(
            account_id=p.account_id, device_id=p.device_id, venue_id=p.venue_id, person_id=persons.get(p.account_id),
            online=p.online, queued=p.queued, app_version=p.app_version, last_seen_ms=epoch_ms(p.last_seen_at) or 0,
        )
    calls = (await session.execute(
        select(HelpCall, Account.display_name).join(Account, Account.id == HelpCall.account_id)
        .where(HelpCall.venue_id.in_([v.id for v in venues]), HelpCall.resolved_at.is_(None)))).all()
    for call, name in calls:
        state.help_calls[call.id] = HelpView(id=call.id, account_id=call.account_id, name=name,
                                             venue_id=call.venue_id, message=call.message)
    return state


# ------------------------------------------------------------------------------------------ feed sources


class SnapshotCache:
    """One snapshot per feed and log head, shared by every socket that connects while the log stands still.

    When the host tells the audience the board's address, hundreds of phones connect within seconds; each would
    otherwise read and build the same leaderboard. A connecting socket reads the log's head (one cheap query);
    if the cached snapshot of its feed is at that head it is reused (states are only encoded, never mutated),
    else one build runs and every socket that asked meanwhile awaits it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._states: dict[str, tuple[int, Any]] = {}
        self._building: dict[str, asyncio.Task[tuple[int, Any]]] = {}
        self.builds = 0
        self.hits = 0

    async def head(self) -> int:
        rows = await self.db.select_rows(HEAD_SEQ)
        return int(rows[0][0] or 0) if rows else 0

    async def get(self, name: str, build: Callable[[], Awaitable[tuple[int, Any]]]) -> tuple[int, Any]:
        head = await self.head()
        for _ in range(3):
            cached = self._states.get(name)
            if cached is not None and cached[0] == head:
                self.hits += 1
                return cached
            task = self._building.get(name)
            if task is None:
                task = self._building[name] = asyncio.ensure_future(build())
                task.add_done_callback(lambda t, name=name: self._built(name, t))
            result = await asyncio.shield(task)
            if result[0] >= head:  # a build that started before this socket's head was read may be older
                return result
        return await build()

    def _built(self, name: str, task: asyncio.Task[tuple[int, Any]]) -> None:
        self._building.pop(name, None)
        if not task.cancelled() and task.exception() is None:
            self.builds += 1
            seq, state = task.result()
            cached = self._states.get(name)
            if cached is None or cached[0] <= seq:
                self._states[name] = (seq, state)


class DbFeedSource:
    """Snapshots and replays of one feed from the database (implements ``live.server.FeedSource``)."""

    def __init__(self, db: Database, audience: str, *, contest_id: int, venue_id: int | None = None,
                 topology: Topology | None = None, snapshots: SnapshotCache | None = None) -> None:
        self.db = db
        self.snapshots = snapshots
        self.audience = audience
        self.contest_id = contest_id
        self.venue_id = venue_id
        self.topology = topology or Topology()
        self.channel = ""
        # the console's state is the venue screen's (its extra kinds, presence, change nothing a screen shows)
        names = {"display": f"venue/{venue_id}", "console": f"venue/{venue_id}", "public": f"board/{contest_id}"}
        self.name = names.get(audience, f"staff/{contest_id}")

    async def open(self) -> DbFeedSource:
        """Resolve the channel name (it needs the contest's stamp from the database)."""
        async with self.db.read() as session:
            await self.topology.ensure(session, self.venue_id, self.contest_id)
        self.channel = self.topology.channel(self.audience, self.contest_id, self.venue_id)
        return self

    async def snapshot(self) -> tuple[int, Any]:
        if self.snapshots is not None:
            return await self.snapshots.get(self.name, self._snapshot)
        return await self._snapshot()

    async def _snapshot(self) -> tuple[int, Any]:
        async with self.db.read(snapshot=True) as session:
            seq = await head_seq(session)
            if self.audience in ("display", "console"):
                venue = await session.get(Venue, self.venue_id)
                assert venue is not None
                return seq, await venue_state(session, venue)
            contest = await session.get(Contest, self.contest_id)
            assert contest is not None
            if self.audience == "public":
                return seq, await leaderboard(session, contest)
            return seq, await staff_state(session, contest)

    async def replay(self, since: int, window: int) -> tuple[list[bytes], int] | None:
        async with self.db.read(snapshot=True) as session:
            head = await head_seq(session)
            if since > head or head - since > window:
                return None
            await self.topology.ensure(session, self.venue_id, self.contest_id)
            venues = self.topology.venues_of.get(self.contest_id, [])
            if self.venue_id is not None:
                scope = or_(Event.venue_id == self.venue_id,
                            and_(Event.venue_id.is_(None), Event.contest_id == self.contest_id))
            else:
                scope = or_(Event.contest_id == self.contest_id, Event.venue_id.in_(venues))
            rows = (await session.execute(
                select(Event).where(Event.seq > since, Event.seq <= head, scope).order_by(Event.seq))).scalars().all()
        out: list[bytes] = []
        prev = since
        for row in rows:
            data = parse_data(row.kind, row.payload)
            if data is None:
                continue
            if (self.channel, self.audience) not in self.topology.routes(row.contest_id, row.venue_id, data):
                continue
            out.append(encode(EventMsg(seq=row.seq, prev=prev, at_ms=epoch_ms(row.created_at) or 0, data=data)))
            prev = row.seq
        return out, head


# ------------------------------------------------------------------------------------------ app wiring
@asynccontextmanager
async def feed_lifespan(app: Litestar) -> AsyncIterator[None]:
    from judging.sheets import announce_silent
    from judging.venue_control import complete_entries

    db: Database = app.state.db
    channels = app.plugins.get(ChannelsPlugin)
    broadcaster: BatchPublisher = app.state.broadcaster
    wake = asyncio.Event()
    config = app.state.get("feed_config") or FeedConfig()
    hub = Hub(channels, max_queue=config.max_queue, coalesce_s=config.coalesce_s,
              coalesce_per_listener_s=config.coalesce_per_listener_s, coalesce_max_s=config.coalesce_max_s,
              busy_lag_s=config.busy_lag_s, busy_stretch=config.busy_stretch, busy_max_s=config.busy_max_s,
              urgent_s=config.urgent_s)

    async def on_sheets(entry_ids: list[int]) -> None:
        if await complete_entries(db, entry_ids):
            wake.set()

    publisher = Publisher(db, broadcaster, wake, on_sheets=on_sheets, poll_s=config.poll_s)
    app.state.events_committed = wake
    app.state.hub = hub
    app.state.publisher = publisher
    app.state.feed_config = config
    app.state.topology = publisher.topology
    app.state.snapshots = SnapshotCache(db)
    tasks = [asyncio.create_task(publisher.run(), name="podium-live-publisher"),
             asyncio.create_task(publisher.run_lifecycle(), name="podium-lifecycle"),
             asyncio.create_task(publisher.run_every(config.silent_sweep_s, lambda: announce_silent(db, app),
                                                     "announcing silent tablets"), name="podium-silent-tablets")]
    try:
        yield
    finally:
        # Bounded: a shutdown must end even if a database call under a cancelled task never returns (seen once
        # in CI as a test client that waited forever for the app's shutdown; not reproduced).
        for task in tasks:
            task.cancel()
        done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_S)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved (logged by the task itself): no "never retrieved" warning
        for task in pending:
            log.error("%s did not stop within %.0f s of shutdown", task.get_name(), SHUTDOWN_WAIT_S)
        try:
            await asyncio.wait_for(publisher.close(), SHUTDOWN_WAIT_S)
        except TimeoutError:
            log.error("marking published events did not finish within %.0f s of shutdown", SHUTDOWN_WAIT_S)
        await hub.close()


class LiveFeedPlugin(InitPluginProtocol):
    """Registers :func:`feed_lifespan` *after* the Channels plugin's, so the backend is up before the publisher
    starts and still up while it stops (list this plugin after the Channels plugin)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(feed_lifespan)
        return app_config
