"""Venue control: the host's and the chief judge's page and API (put on stage, attendance, timer, release).

Hosts, chief judges (of that venue) and staff may drive a venue; only the chief judge of the venue or staff
may release a result, and only they see the pre-release outlier warnings (the host never sees values).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Template
from sqlalchemy import and_, exists, select

from judging.auth import Principal, may_control_venue, requires_venue_control
from judging.db.models import (
    Account,
    Contest,
    Entry,
    HelpCall,
    Presence,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.events import after_commit
from judging.feed import HEAD_SEQ, head_seq, timer_of
from judging.sheets import PRESENCE_OFFLINE_AFTER, HelpCallOut, help_calls_out
from judging.venue_control import (
    HelpResolvedOut,
    end_presentation,
    load_venue,
    may_release,
    open_help_calls,
    panel_marks,
    preview_of,
    put_on_stage,
    release,
    released_results,
    resolve_help,
    set_attendance,
    timer,
    venue_recusals,
)
from judging.web import client_ip, principal_of, render
from live.projection import competition_ranks
from live.protocol import TimerState, now_ms


class DeviceStatus(msgspec.Struct):
    device_id: str
    online: bool
    queued: int
    seconds_since_seen: int
    app_version: str


class PanelStatus(msgspec.Struct):
    person_id: int
    name: str
    is_chief: bool
    recused: bool
    submitted: bool
    online: bool | None
    """None: no tablet has reported yet."""
    queued: int
    devices: list[DeviceStatus]


class EntryRow(msgspec.Struct):
    id: int
    code: str
    title: str
    team: str
    organization: str
    topic_type: str
    running_order: int | None
    status: str
    submitted: int
    expected: int
    display: str | None
    """Panel score, only once released."""
    rank: int | None
    recused: list[int] = msgspec.field(default_factory=list)
    """Panel members (person ids) who sit out this entry: the page builds the panel of an entry it moves its focus
    to (the next one on stage) from these instead of re-reading."""


class Warning(msgspec.Struct):
    """A judge far from the rest of the panel. Direction and size only: the chief judge is a judge too, and
    judges never see other judges' values before release."""

    person_id: int
    name: str
    deviation: float
    """Points above (+) or below (-) the median of the other judges."""


class Preview(msgspec.Struct):
    entry_id: int
    missing: list[int]
    recused: list[int]
    outliers: list[Warning]


class ControlState(msgspec.Struct):
    venue_id: int
    venue_name: str
    contest_id: int
    contest_name: str
    server_ms: int
    timer: TimerState
    current_entry_id: int | None
    focus_entry_id: int | None
    entries: list[EntryRow]
    panel: list[PanelStatus]
    can_release: bool
    preview: Preview | None
    help: list[HelpCallOut] = msgspec.field(default_factory=list)
    """Open help calls of the venue's judges, oldest first (the feed's ``help.called`` and ``help.resolved``
    add and remove them on the page)."""
    seq: int = 0
    """The event log's head when this was read: it reflects every event up to this seq (the console skips the
    feed's events at or below it instead of re-reading)."""


class StageIn(msgspec.Struct, forbid_unknown_fields=True):
    entry_id: int | None = None
    """None: the next scheduled entry in running order."""


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["absent", "withdrawn", "scheduled"]
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class TimerIn(msgspec.Struct, forbid_unknown_fields=True):
    action: Literal["start", "pause", "reset"]


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""
    force: bool = False
    """Release although sheets are missing (needs a reason)."""


class ReleaseOut(msgspec.Struct):
    entry_id: int
    display: str
    rank: int | None
    version: int
    corrected: bool


HELP_OPEN = exists().where(HelpCall.venue_id == Venue.id, HelpCall.resolved_at.is_(None)).label("help_open")
"""Whether the venue (of the enclosing statement) has a help call nobody has handled yet."""


def _controller(request: Request[Any, Any, Any], venue_id: int) -> Principal:
    p = principal_of(request)
    if not may_control_venue(p, venue_id):
        raise PermissionDeniedException("You do not control this venue.")
    return p


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def control_state(request: Request[Any, Any, Any], p: Principal, venue_id: int,
                        focus: int | None = None) -> ControlState:
    async with request.app.state.db.read() as session:
        # One statement per part: the console re-reads this after every action and on every feed event.
        # The event log's head in the same statement (one snapshot): every event up to it is committed, so what
        # the statements below read reflects at least those events.
        # Whether the venue has an open help call, too: the list is read only then (rarely).
        found = (await session.execute(select(Venue, Contest.name, HEAD_SEQ.scalar_subquery(), HELP_OPEN)
                                       .outerjoin(Contest, Contest.id == Venue.contest_id)
                                       .where(Venue.id == venue_id))).first()
        if found is None:  # no such venue: load_venue raises its 404 (unless the venue appeared meanwhile)
            venue = await load_venue(session, venue_id)
            contest_name = await session.scalar(select(Contest.name).where(Contest.id == venue.contest_id))
            seq = await head_seq(session)
            calling = True
        else:
            venue, contest_name, seq, calling = found
        listed = (await session.execute(
            select(Entry, TopicType.key).outerjoin(TopicType, TopicType.id == Entry.topic_type_id)
            .where(Entry.venue_id == venue.id).order_by(Entry.running_order, Entry.id))).all()
        entries = [e for e, _ in listed]
        keys = {e.id: key or "" for e, key in listed}
        submitted: dict[int, set[int]] = {}
        for entry_id, person_id in (await session.execute(
                select(ScoreSheet.entry_id, ScoreSheet.person_id).join(Stage, Stage.id == ScoreSheet.stage_id)
                .join(SheetVersion, and_(SheetVersion.sheet_id == ScoreSheet.id, SheetVersion.is_current.is_(True)))
                .where(ScoreSheet.entry_id.in_([e.id for e in entries]), Stage.kind == "onsite"))).all():
            submitted.setdefault(entry_id, set()).add(person_id)
        released = await released_results(session, venue.id, {e.id: e.status for e in entries})
        recusals = await venue_recusals(session, venue.id)
        helps = help_calls_out(await open_help_calls(session, venue.id)) if calling else []
        ranks = competition_ranks(released)
        if focus is None:
            pending = [e for e in entries if e.status in ("scoring", "unofficial")]
            focus = pending[0].id if pending else venue.current_entry_id
        focus_entry = next((e for e in entries if e.id == focus), None)
        panel: list[PanelStatus] = []
        marks = await panel_marks(session, focus_entry) if focus_entry is not None else []
        expected = len([m for m in marks if not m.recused]) if marks else None
        people = [m.person_id for m in marks]
        devices: dict[int, list[DeviceStatus]] = {}
        now = datetime.now(UTC)
        for row, person_id in (await session.execute(
                select(Presence, Account.person_id).join(Account, Account.id == Presence.account_id)
                .where(Account.person_id.in_(people)))).all():
            age = now - _aware(row.last_seen_at)
            devices.setdefault(person_id, []).append(DeviceStatus(
                device_id=row.device_id, online=row.online and age < PRESENCE_OFFLINE_AFTER, queued=row.queued,
                seconds_since_seen=int(age.total_seconds()), app_version=row.app_version))
        for m in marks:
            devs = devices.get(m.person_id, [])
            panel.append(PanelStatus(
                person_id=m.person_id, name=m.name, is_chief=m.is_chief, recused=m.recused,
                submitted=m.total is not None,
                online=any(d.online for d in devs) if devs else None, queued=sum(d.queued for d in devs),
                devices=devs))
        can_release = may_release(p, venue.id)
        pre = None
        if can_release and focus_entry is not None and focus_entry.status in (
                "presenting", "scoring", "unofficial", "released", "official"):
            raw = preview_of(focus_entry.id, marks)  # the marks read above
            pre = Preview(entry_id=raw["entry_id"], missing=raw["missing"], recused=raw["recused"],
                          outliers=[Warning(person_id=o.person_id, name=o.name, deviation=round(o.deviation, 1))
                                    for o in raw["outliers"]])
        rows = [
            EntryRow(id=e.id, code=e.code, title=e.title, team=e.team, organization=e.organization,
                     topic_type=keys[e.id], running_order=e.running_order, status=e.status,
                     submitted=len(submitted.get(e.id, ())),
                     expected=expected if (expected is not None and e.id == focus) else 0,
                     display=released[e.id].display if e.id in released else None, rank=ranks.get(e.id),
                     recused=recusals.get(e.id, []))
            for e in entries
        ]
        return ControlState(
            venue_id=venue.id, venue_name=venue.name, contest_id=venue.contest_id,
            contest_name=contest_name or "", server_ms=now_ms(), timer=timer_of(venue),
            current_entry_id=venue.current_entry_id, focus_entry_id=focus, entries=rows, panel=panel,
            can_release=can_release, preview=pre, help=helps, seq=int(seq or 0),
        )


@get("/venue/{venue_id:int}", include_in_schema=False)
async def control_page(request: Request[Any, Any, Any], venue_id: FromPath[int]) -> Template:
    p = _controller(request, venue_id)
    async with request.app.state.db.read() as session:
        venue = await load_venue(session, venue_id)
    return render(request, "venue/control.html", venue=venue, can_release=may_release(p, venue_id))


@get("/api/venue/{venue_id:int}/control", summary="Venue control state (progress, tablets, warnings)")
async def control_api(request: Request[Any, Any, Any], venue_id: FromPath[int],
                      entry_id: FromQuery[int | None] = None) -> ControlState:
    p = _controller(request, venue_id)
    return await control_state(request, p, venue_id, entry_id)


@post("/api/venue/{venue_id:int}/stage", summary="Put an entry (or the next one) on stage", status_code=200)
async def stage_api(request: Request[Any, Any, Any], venue_id: FromPath[int], data: JSONBody[StageIn]) -> ControlState:
    p = _controller(request, venue_id)
    await request.app.state.db.transaction(
        lambda session: put_on_stage(session, p, venue_id, data.entry_id, ip=client_ip(request)))
    after_commit(request.app)
    return await control_state(request, p, venue_id)


@post("/api/venue/{venue_id:int}/entries/{entry_id:int}/end", summary="End the presentation (scoring starts)",
      status_code=200)
async def end_api(request: Request[Any, Any, Any], venue_id: FromPath[int], entry_id: FromPath[int]) -> ControlState:
    p = _controller(request, venue_id)
    await request.app.state.db.transaction(
        lambda session: end_presentation(session, p, venue_id, entry_id, ip=client_ip(request)))
    after_commit(request.app)
    return await control_state(request, p, venue_id, entry_id)


@post("/api/venue/{venue_id:int}/entries/{entry_id:int}/attendance", summary="Mark absent / withdrawn / undo",
      status_code=200)
async def attendance_api(request: Request[Any, Any, Any], venue_id: FromPath[int], entry_id: FromPath[int],
                         data: JSONBody[AttendanceIn]) -> ControlState:
    p = _controller(request, venue_id)
    await request.app.state.db.transaction(
        lambda session: set_attendance(session, p, venue_id, entry_id, data.status, data.reason,
                                       ip=client_ip(request)))
    after_commit(request.app)
    return await control_state(request, p, venue_id)


@post("/api/venue/{venue_id:int}/timer", summary="Start, pause or reset the presentation timer", status_code=200)
async def timer_api(request: Request[Any, Any, Any], venue_id: FromPath[int], data: JSONBody[TimerIn]) -> TimerState:
    p = _controller(request, venue_id)
    async with request.app.state.db.write() as session:
        venue = await timer(session, p, venue_id, data.action, ip=client_ip(request))
        state = timer_of(venue)
    after_commit(request.app)
    return state


@post("/api/venue/{venue_id:int}/entries/{entry_id:int}/release",
      summary="Release (or correct) an entry's panel result (chief judge of the venue or staff)", status_code=200)
async def release_api(request: Request[Any, Any, Any], venue_id: FromPath[int], entry_id: FromPath[int],
                      data: JSONBody[ReleaseIn]) -> ReleaseOut:
    p = _controller(request, venue_id)
    payload = await request.app.state.db.transaction(
        lambda session: release(session, p, venue_id, entry_id, reason=data.reason, force=data.force,
                                ip=client_ip(request)))
    after_commit(request.app)
    return ReleaseOut(entry_id=entry_id, display=payload["display"], rank=payload.get("rank"),
                      version=payload["version"], corrected=payload["version"] > 1)


@post("/api/venue/{venue_id:int}/help/{help_call_id:int}/resolve",
      summary="Mark a judge's help call as handled (host, chief judge of the venue, staff)", status_code=200)
async def resolve_help_api(request: Request[Any, Any, Any], venue_id: FromPath[int],
                           help_call_id: FromPath[int]) -> HelpResolvedOut:
    p = _controller(request, venue_id)
    out = await request.app.state.db.transaction(
        lambda session: resolve_help(session, p, help_call_id, venue_id=venue_id, ip=client_ip(request)))
    after_commit(request.app)
    return out


router = Router(
    path="/",
    route_handlers=[control_page, control_api, stage_api, end_api, attendance_api, timer_api, release_api,
                    resolve_help_api],
    guards=[requires_venue_control], tags=["venue"],
)
