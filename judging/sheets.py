"""Score sheets: exactly-once submission, versioned edits, the frozen rubric, locking, history, judge state.

* A submission carries a client submission id (128 random bits made on the tablet). Replaying it returns the
  original receipt (same sheet, version and server time); the database's unique index on the id is the
  last word, so two racing copies of one submission can never both land.
* An edit names the version it was made from (``base_version``); if the sheet moved on meanwhile (another
  device, a lost acknowledgement) it is refused with 409 and the current version, never merged silently.
* Values are decimal strings validated against the sheet's rubric, which the first accepted score freezes;
  totals are exact (``Decimal``). ``scoring.Rubric`` is the shared validator; :class:`SheetRubric` wraps it
  with exact decimal checks and refusal codes a tablet can show.
* Every submission is a new :class:`SheetVersion`; nothing is updated in place but the current flag.
* A judge only ever receives their own values. Other judges' sheets appear only as who/when/version, and
  only on the chief judge's progress view.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

import scoring
from judging.audit import record
from judging.auth import Principal
from judging.db.base import utcnow
from judging.db.engine import Database
from judging.db.models import (
    Account,
    Conflict,
    Contest,
    Entry,
    HelpCall,
    PanelMember,
    Person,
    Presence,
    ReviewerAssignment,
    Rubric,
    RubricItem,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import PodiumError

T = TypeVar("T")
StageKind = Literal["onsite", "initial"]
NOT_SCORABLE = ("absent", "withdrawn")
RELEASED = ("released", "official")
PRESENCE_EVENT_EVERY = timedelta(seconds=60)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


# --------------------------------------------------------------------------------------------------
# Request and response bodies
# --------------------------------------------------------------------------------------------------
class SubmitIn(msgspec.Struct, forbid_unknown_fields=True):
    client_submission_id: Annotated[str, msgspec.Meta(
        pattern=r"^[0-9a-fA-F]{32}$",
        description="128 random bits as 32 hex digits, made once per submission on the device "
                    "(crypto.getRandomValues). Replays return the original receipt.")]
    entry_id: int
    values: Annotated[dict[str, str | int | float], msgspec.Meta(
        description="Item key -> points, preferably as a decimal string (\"12.5\"). Every item is required.")]
    stage: StageKind = "onsite"
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    base_version: Annotated[int | None, msgspec.Meta(
        description="The version this edit was made from; omit (or 0) for the first submission.")] = None
    device_id: Annotated[str, msgspec.Meta(max_length=64)] = ""


class Receipt(msgspec.Struct):
    """What the server acknowledged: the tablet shows 已提交 with ``server_time``."""

    client_submission_id: str
    sheet_id: int
    entry_id: int
    stage: str
    version: int
    total: str
    server_time: datetime


class RubricItemOut(msgspec.Struct):
    key: str
    label_zh: str
    label_en: str
    max: str
    step: str


class RubricOut(msgspec.Struct):
    id: int
    name: str
    frozen: bool
    max_total: str
    items: list[RubricItemOut]


class OwnSheet(msgspec.Struct):
    """The judge's own sheet (never anyone else's)."""

    sheet_id: int
    version: int
    locked: bool
    values: dict[str, str]
    total: str | None
    comment: str
    submitted_at: datetime | None
    client_submission_id: str | None


class EntryState(msgspec.Struct):
    id: int
    code: str
    title: str
    team: str
    organization: str
    circle_type: str
    topic_type_zh: str
    topic_type_en: str
    stage: str
    venue_id: int | None
    running_order: int | None
    status: str
    conflicted: bool
    rubric_id: int | None
    report_url: str
    sheet: OwnSheet | None


class VenueState(msgspec.Struct):
    id: int
    code: str
    name: str
    is_chief: bool
    current_entry_id: int | None


class JudgeState(msgspec.Struct):
    account_id: int
    name: str
    person_id: int | None
    contest_id: int | None
    contest_name: str
    venues: list[VenueState]
    entries: list[EntryState]
    rubrics: list[RubricOut]
    server_time: datetime


class VersionOut(msgspec.Struct):
    version: int
    values: dict[str, str]
    total: str
    comment: str
    client_submission_id: str
    base_version: int | None
    account_id: int | None
    account_name: str
    device_id: str
    ip: str
    created_at: datetime
    is_current: bool
    discarded: bool
    source: str


class SheetHistory(msgspec.Struct):
    sheet_id: int
    entry_id: int
    person_id: int
    person_name: str
    stage: str
    locked: bool
    locked_at: datetime | None
    versions: list[VersionOut]


class HeartbeatIn(msgspec.Struct, forbid_unknown_fields=True):
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    app_version: Annotated[str, msgspec.Meta(max_length=40)] = ""
    queued: Annotated[int, msgspec.Meta(ge=0, le=100000)] = 0
    online: bool = True


class HeartbeatOut(msgspec.Struct):
    server_time: datetime


class HelpIn(msgspec.Struct, forbid_unknown_fields=True):
    message: Annotated[str, msgspec.Meta(max_length=300)] = ""
    device_id: Annotated[str, msgspec.Meta(max_length=64)] = ""


class HelpOut(msgspec.Struct):
    help_call_id: int
    venue_id: int | None
    created_at: datetime


class LockIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ReopenIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=500,
                                        description="Why the sheet is reopened (kept in the audit log).")]


class LockOut(msgspec.Struct):
    entry_id: int
    locked_sheets: int


class ReopenOut(msgspec.Struct):
    sheet_id: int
    entry_id: int
    person_id: int
    locked: bool


class SheetStatus(msgspec.Struct):
    """One judge's progress on one entry: no values, no total."""

    person_id: int
    name: str
    conflicted: bool
    sheet_id: int | None
    version: int
    submitted_at: datetime | None
    locked: bool


class EntryProgress(msgspec.Struct):
    entry_id: int
    code: str
    title: str
    status: str
    running_order: int | None
    sheets: list[SheetStatus]


class DeviceStatus(msgspec.Struct):
    account_id: int
    name: str
    device_id: str
    online: bool
    queued: int
    last_seen_at: datetime


class HelpCallOut(msgspec.Struct):
    id: int
    account_id: int
    name: str
    message: str
    created_at: datetime


class PanelProgress(msgspec.Struct):
    venue_id: int
    name: str
    current_entry_id: int | None
    entries: list[EntryProgress]
    devices: list[DeviceStatus]
    help_calls: list[HelpCallOut]


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------
def refuse(code: str, message: str, status_code: int = 403, **detail: Any) -> PodiumError:
    return PodiumError(message, code=code, status_code=status_code, detail=detail or None)


# --------------------------------------------------------------------------------------------------
# Exact values and the rubric
# --------------------------------------------------------------------------------------------------
def fmt(value: Decimal) -> str:
    """A decimal as a plain string without trailing zeros: 12.50 -> "12.5", 1E+2 -> "100"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_points(raw: object) -> Decimal | None:
    """Points as an exact decimal, or None when ``raw`` is not a plain finite number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        raw = repr(raw)
    if not isinstance(raw, str) or not _NUMBER.match(raw.strip()):
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class SheetRubric:
    """A rubric's items with exact decimal validation, checked again by ``scoring.Rubric``.

    The decimal pass gives each refusal a code and the item it concerns (the tablet shows it next to the
    item); ``scoring.Rubric`` is the engine's own validator, so a sheet accepted here is one the scoring
    engine accepts too.
    """

    def __init__(self, items: list[RubricItem]) -> None:
        self.items = sorted(items, key=lambda i: i.position)
        self.engine = scoring.Rubric([(i.key, float(i.max_points), float(i.step)) for i in self.items])

    def check(self, raw: Mapping[str, object]) -> tuple[dict[str, str], Decimal]:
        known = {i.key for i in self.items}
        unknown = [k for k in raw if k not in known]
        if unknown:
            raise refuse("item_unknown", f"The sheet has no item {unknown[0]!r}; reload the page to get the "
                         "current score sheet.", 422, item=unknown[0], items=[i.key for i in self.items])
        missing = [i for i in self.items if i.key not in raw or raw[i.key] in (None, "")]
        if missing:
            names = "、".join(i.label_zh for i in missing)
            raise refuse("items_missing", f"Score every item before submitting; missing: {names}.", 422,
                         items=[i.key for i in missing])
        values: dict[str, str] = {}
        total = Decimal(0)
        for item in self.items:
            value = parse_points(raw[item.key])
            label = f"{item.label_zh} ({item.label_en})"
            if value is None:
                raise refuse("item_not_number", f"{label}: {raw[item.key]!r} is not a number.", 422, item=item.key)
            if value < 0 or value > item.max_points:
                raise refuse("item_out_of_range", f"{label}: {fmt(value)} is outside 0 to {fmt(item.max_points)}.",
                             422, item=item.key, max=fmt(item.max_points), value=fmt(value))
            if value % item.step != 0:
                raise refuse("item_off_step", f"{label}: {fmt(value)} is not a multiple of {fmt(item.step)}; "
                             f"use steps of {fmt(item.step)}.", 422, item=item.key, step=fmt(item.step),
                             value=fmt(value))
            values[item.key] = fmt(value)
            total += value
        try:
            self.engine.total({k: float(v) for k, v in values.items()})
        except ValueError as exc:  # the engine disagrees: refuse rather than store what it cannot use
            raise refuse("invalid_scores", f"The scores do not fit the rubric: {exc}.", 422) from None
        return values, total


def rubric_out(rubric: Rubric) -> RubricOut:
    items = sorted(rubric.items, key=lambda i: i.position)
    return RubricOut(
        rubric.id, rubric.name, rubric.frozen_at is not None, fmt(sum((i.max_points for i in items), Decimal(0))),
        [RubricItemOut(i.key, i.label_zh, i.label_en, fmt(i.max_points), fmt(i.step)) for i in items],
    )


# --------------------------------------------------------------------------------------------------
# Transactions with retry (a racing duplicate loses on a unique index and is re-read as a replay)
# --------------------------------------------------------------------------------------------------
async def write_with_retry(db: Database, fn: Callable[[AsyncSession], Awaitable[T]], attempts: int = 6) -> T:
    return await db.transaction(fn, attempts)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# Who may score what
# --------------------------------------------------------------------------------------------------
async def conflict_for(session: AsyncSession, person_id: int, entry: Entry) -> Conflict | None:
    """The person's conflict (回避) with the entry: on the entry itself or on its organization."""
    return (await session.execute(
        select(Conflict).where(Conflict.person_id == person_id,
                               or_(Conflict.entry_id == entry.id, Conflict.organization == entry.organization))
        .limit(1)
    )).scalar_one_or_none()


async def check_may_score(session: AsyncSession, person_id: int, entry: Entry, stage: str) -> None:
    if stage == "onsite":
        member = (await session.execute(select(PanelMember.id).where(
            PanelMember.person_id == person_id, PanelMember.venue_id == entry.venue_id))).first()
        if entry.venue_id is None or member is None:
            raise refuse("not_your_venue", f"Entry {entry.code} is not presented in your venue; you can only score "
                         "entries of the panel you sit on.", 403, entry_id=entry.id, venue_id=entry.venue_id)
    else:
        assigned = (await session.execute(select(ReviewerAssignment.id).where(
            ReviewerAssignment.person_id == person_id, ReviewerAssignment.entry_id == entry.id))).first()
        if assigned is None:
            raise refuse("not_assigned", f"Entry {entry.code} is not assigned to you for initial review.", 403,
                         entry_id=entry.id)
    conflict = await conflict_for(session, person_id, entry)
    if conflict is not None:
        raise refuse("conflicted", f"You are recused (回避) from entry {entry.code}: {conflict.reason}. "
                     "Your score would not count; please do not score it.", 403, entry_id=entry.id)
    if entry.status in NOT_SCORABLE:
        raise refuse("entry_not_scorable", f"Entry {entry.code} is marked {entry.status}; it is not scored.", 409,
                     entry_id=entry.id, status=entry.status)


async def _stage(session: AsyncSession, contest_id: int, kind: str) -> Stage:
    stage = (await session.execute(
        select(Stage).where(Stage.contest_id == contest_id, Stage.kind == kind))).scalar_one_or_none()
    if stage is None:
        raise refuse("no_stage", f"This contest has no {kind} stage.", 404)
    return stage


async def _rubric(session: AsyncSession, rubric_id: int) -> Rubric:
    return (await session.execute(
        select(Rubric).options(selectinload(Rubric.items)).where(Rubric.id == rubric_id))).scalar_one()


async def _rubric_for(session: AsyncSession, entry: Entry, stage: Stage) -> Rubric:
    rubric = (await session.execute(
        select(Rubric).options(selectinload(Rubric.items))
        .where(Rubric.topic_type_id == entry.topic_type_id, Rubric.stage_id == stage.id))).scalar_one_or_none()
    if rubric is None or not rubric.items:
        raise refuse("no_rubric", f"No score sheet is set up for entry {entry.code} in this stage; tell the staff.",
                     409, entry_id=entry.id)
    return rubric


# --------------------------------------------------------------------------------------------------
# Submit
# --------------------------------------------------------------------------------------------------
async def _existing_receipt(session: AsyncSession, cid: str) -> tuple[Receipt, int] | None:
    row = (await session.execute(
        select(SheetVersion, ScoreSheet, Stage.kind)
        .join(ScoreSheet, ScoreSheet.id == SheetVersion.sheet_id).join(Stage, Stage.id == ScoreSheet.stage_id)
        .where(SheetVersion.client_submission_id == cid))).first()
    if row is None:
        return None
    version, sheet, kind = row
    receipt = Receipt(cid, sheet.id, sheet.entry_id, kind, version.version,
                      fmt(sum((Decimal(v) for v in version.values.values()), Decimal(0))), _utc(version.created_at))
    return receipt, sheet.person_id


async def submit(db: Database, app: Any, p: Principal, data: SubmitIn, *, ip: str) -> tuple[Receipt, bool]:
    """Store a submission exactly once. Returns (receipt, created); ``created`` is False for a replay."""
    from judging.events import after_commit, append_event
    from judging.staff.grading import outdate_finals

    if p.person_id is None:
        raise refuse("not_a_judge", "This account is not a judge or reviewer; open your own login link.", 403)
    person_id = p.person_id
    cid = data.client_submission_id.lower()

    def replay(existing: tuple[Receipt, int]) -> tuple[Receipt, bool]:
        receipt, owner = existing
        if owner != person_id or receipt.entry_id != data.entry_id:
            raise refuse("client_id_reused", "This submission id was already used for another sheet; "
                         "the tablet must make a new id for every submission.", 409)
        return receipt, False

    # Most replays (a tablet retrying after a lost answer) are answered from a read, without the writer lock.
    async with db.read() as session:
        existing = await _existing_receipt(session, cid)
    if existing is not None:
        return replay(existing)

    async def tx(session: AsyncSession) -> tuple[Receipt, bool]:
        existing = await _existing_receipt(session, cid)
        if existing is not None:  # it landed meanwhile (a racing copy of the same submission)
            return replay(existing)
        entry = await session.get(Entry, data.entry_id)
        if entry is None:
            raise refuse("entry_not_found", f"There is no entry {data.entry_id}.", 404)
        await check_may_score(session, person_id, entry, data.stage)
        stage = await _stage(session, entry.contest_id, data.stage)
        sheet = (await session.execute(
            select(ScoreSheet).where(ScoreSheet.stage_id == stage.id, ScoreSheet.entry_id == entry.id,
                                     ScoreSheet.person_id == person_id).with_for_update())).scalar_one_or_none()
        if sheet is None:
            rubric = await _rubric_for(session, entry, stage)
            sheet = ScoreSheet(stage_id=stage.id, entry_id=entry.id, person_id=person_id, rubric_id=rubric.id)
            session.add(sheet)
            await session.flush()
        else:
            rubric = await _rubric(session, sheet.rubric_id)
        versions = list((await session.execute(
            select(SheetVersion).where(SheetVersion.sheet_id == sheet.id))).scalars())
        if any(v.client_submission_id == cid for v in versions):
            # A racing copy of this submission committed between the check above and the sheet lock.
            existing = await _existing_receipt(session, cid)
            assert existing is not None
            return replay(existing)
        if sheet.locked:
            raise refuse("sheet_locked", f"Your sheet for entry {entry.code} is locked by the chief judge; ask the "
                         "chief judge to reopen it if it needs a correction.", 423, sheet_id=sheet.id)
        current = next((v for v in versions if v.is_current), None)
        current_version = current.version if current else 0
        if (data.base_version or 0) != current_version:
            raise refuse("stale_version", f"Your sheet for entry {entry.code} was changed on another device or "
                         f"submission (now version {current_version}); reload it, check the scores and submit "
                         "again.", 409, sheet_id=sheet.id, current_version=current_version,
                         base_version=data.base_version or 0)
        values, total = SheetRubric(list(rubric.items)).check(data.values)
        now = utcnow()
        if current is not None:
            current.is_current = False
            await session.flush()  # the partial unique index allows one current version at a time
        version = max((v.version for v in versions), default=0) + 1
        session.add(SheetVersion(
            sheet_id=sheet.id, version=version, client_submission_id=cid, base_version=data.base_version,
            values=values, total=total, comment=data.comment.strip(), device_id=data.device_id, ip=ip,
            account_id=p.account_id, created_at=now, is_current=True, source="tablet",
        ))
        if rubric.frozen_at is None:
            rubric.frozen_at = now
            record(session, p, "rubric.freeze", contest_id=entry.contest_id, entry_id=entry.id,
                   target=f"rubric:{rubric.id}", reason="first accepted score", ip=ip)
        await session.flush()
        await outdate_finals(session, entry.contest_id, entry.id,
                             f"sheet {sheet.id} version {version} submitted after finalization")
        await append_event(session, "sheet.submitted",
                           {"entry_id": entry.id, "venue_id": entry.venue_id, "person_id": person_id,
                            "version": version, "stage": data.stage},
                           contest_id=entry.contest_id, venue_id=entry.venue_id if data.stage == "onsite" else None)
        return Receipt(cid, sheet.id, entry.id, data.stage, version, fmt(total), _utc(now)), True

    result = await write_with_retry(db, tx)
    if result[1]:
        after_commit(app)
    return result


# --------------------------------------------------------------------------------------------------
# The judge's state (what the tablet polls)
# --------------------------------------------------------------------------------------------------
def _own_sheet(sheet: ScoreSheet, current: SheetVersion | None) -> OwnSheet:
    if current is None:
        return OwnSheet(sheet.id, 0, sheet.locked, {}, None, "", None, None)
    return OwnSheet(sheet.id, current.version, sheet.locked, dict(current.values),
                    fmt(sum((Decimal(v) for v in current.values.values()), Decimal(0))), current.comment,
                    _utc(current.created_at), current.client_submission_id)


async def judge_state(session: AsyncSession, p: Principal) -> JudgeState:
    venues: list[VenueState] = []
    pairs: list[tuple[Entry, str]] = []
    contest: Contest | None = None
    if p.person_id is not None:
        person = await session.get(Person, p.person_id)
        contest = await session.get(Contest, person.contest_id) if person else None
        members = (await session.execute(
            select(PanelMember, Venue).join(Venue, Venue.id == PanelMember.venue_id)
            .where(PanelMember.person_id == p.person_id).order_by(Venue.position))).all()
        venues = [VenueState(v.id, v.code, v.name, m.is_chief, v.current_entry_id) for m, v in members]
        if venues:
            panel = (await session.execute(
                select(Entry).where(Entry.venue_id.in_([v.id for v in venues]))
                .order_by(Entry.venue_id, Entry.running_order, Entry.id))).scalars()
            pairs += [(e, "onsite") for e in panel]
        review = (await session.execute(
            select(Entry).join(ReviewerAssignment, ReviewerAssignment.entry_id == Entry.id)
            .where(ReviewerAssignment.person_id == p.person_id).order_by(Entry.code))).scalars()
        pairs += [(e, "initial") for e in review]
    if not pairs:
        return JudgeState(p.account_id, p.display_name, p.person_id, contest.id if contest else None,
                          contest.name if contest else "", venues, [], [], _utc(utcnow()))
    contest_ids = {e.contest_id for e, _ in pairs}
    conflicts = (await session.execute(select(Conflict).where(Conflict.person_id == p.person_id))).scalars().all()
    by_entry = {c.entry_id for c in conflicts if c.entry_id is not None}
    by_org = {c.organization for c in conflicts if c.organization}
    stages = {(s.contest_id, s.kind): s for s in (await session.execute(
        select(Stage).where(Stage.contest_id.in_(contest_ids)))).scalars()}
    topic_types = {t.id: t for t in (await session.execute(
        select(TopicType).where(TopicType.contest_id.in_(contest_ids)))).scalars()}
    rubrics = {(r.topic_type_id, r.stage_id): r for r in (await session.execute(
        select(Rubric).options(selectinload(Rubric.items))
        .where(Rubric.topic_type_id.in_(list(topic_types))))).scalars()}
    # Only this person's sheets are read: other judges' values never leave the database here.
    sheets = {(s.stage_id, s.entry_id): s for s in (await session.execute(
        select(ScoreSheet).where(ScoreSheet.person_id == p.person_id))).scalars()}
    currents = {v.sheet_id: v for v in (await session.execute(
        select(SheetVersion).where(SheetVersion.sheet_id.in_([s.id for s in sheets.values()]),
                                   SheetVersion.is_current))).scalars()} if sheets else {}
    entries: list[EntryState] = []
    used_rubrics: dict[int, Rubric] = {}
    for entry, kind in pairs:
        conflicted = entry.id in by_entry or entry.organization in by_org
        stage = stages.get((entry.contest_id, kind))
        sheet = sheets.get((stage.id, entry.id)) if stage else None
        rubric = None
        if sheet is not None:
            rubric = next((r for r in rubrics.values() if r.id == sheet.rubric_id), None)
        elif stage is not None:
            rubric = rubrics.get((entry.topic_type_id, stage.id))
        if rubric is not None and not conflicted:
            used_rubrics[rubric.id] = rubric
        tt = topic_types.get(entry.topic_type_id)
        entries.append(EntryState(
            entry.id, entry.code, entry.title, entry.team, entry.organization, entry.circle_type,
            tt.name_zh if tt else "", tt.name_en if tt else "", kind, entry.venue_id, entry.running_order,
            entry.status, conflicted, rubric.id if rubric is not None and not conflicted else None,
            entry.report_url if kind == "initial" else "",
            _own_sheet(sheet, currents.get(sheet.id)) if sheet is not None and not conflicted else None,
        ))
    return JudgeState(p.account_id, p.display_name, p.person_id, contest.id if contest else None,
                      contest.name if contest else "", venues, entries,
                      [rubric_out(r) for r in used_rubrics.values()], _utc(utcnow()))


# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------
async def sheet_history(session: AsyncSession, p: Principal, sheet_id: int) -> SheetHistory:
    """Every version of a sheet with who, when, device and address.

    Readable by the sheet's judge, by staff, and by the venue's chief judge once the entry is released
    (before release a chief judge sees progress, not values).
    """
    sheet = await session.get(ScoreSheet, sheet_id)
    if sheet is None:
        raise refuse("sheet_not_found", f"There is no sheet {sheet_id}.", 404)
    entry = await session.get(Entry, sheet.entry_id)
    assert entry is not None
    own = p.person_id is not None and sheet.person_id == p.person_id
    chief_after_release = entry.venue_id in p.venues("chief_judge") and entry.status in RELEASED
    if not (own or p.is_staff or chief_after_release):
        raise refuse("not_your_sheet", "This is another judge's sheet; its scores are not shown before the "
                     "result is released.", 403)
    person = await session.get(Person, sheet.person_id)
    stage = await session.get(Stage, sheet.stage_id)
    rows = (await session.execute(
        select(SheetVersion, Account.display_name).outerjoin(Account, Account.id == SheetVersion.account_id)
        .where(SheetVersion.sheet_id == sheet.id).order_by(SheetVersion.version))).all()
    versions = [VersionOut(
        v.version, dict(v.values), fmt(sum((Decimal(x) for x in v.values.values()), Decimal(0))), v.comment,
        v.client_submission_id, v.base_version, v.account_id, name or "", v.device_id, v.ip, _utc(v.created_at),
        v.is_current, v.discarded, v.source) for v, name in rows]
    return SheetHistory(sheet.id, sheet.entry_id, sheet.person_id, person.name if person else "",
                        stage.kind if stage else "", sheet.locked,
                        _utc(sheet.locked_at) if sheet.locked_at else None, versions)


# --------------------------------------------------------------------------------------------------
# Presence and help
# --------------------------------------------------------------------------------------------------
async def _panel_venue(session: AsyncSession, person_id: int | None) -> int | None:
    if person_id is None:
        return None
    row = (await session.execute(
        select(PanelMember.venue_id).where(PanelMember.person_id == person_id).order_by(PanelMember.id).limit(1)
    )).first()
    return int(row[0]) if row else None


async def heartbeat(db: Database, app: Any, p: Principal, data: HeartbeatIn) -> HeartbeatOut:
    """Upsert the device's presence; an event only when its state changes (or once a minute)."""
    from judging.events import after_commit, append_event

    async def tx(session: AsyncSession) -> bool:
        now = utcnow()
        venue_id = await _panel_venue(session, p.person_id)
        row = (await session.execute(select(Presence).where(
            Presence.account_id == p.account_id, Presence.device_id == data.device_id))).scalar_one_or_none()
        changed = row is None or row.online != data.online or row.queued != data.queued or \
            _utc(row.last_seen_at) < now - PRESENCE_EVENT_EVERY
        if row is None:
            row = Presence(account_id=p.account_id, device_id=data.device_id)
            session.add(row)
        row.venue_id, row.app_version, row.queued, row.online, row.last_seen_at = (
            venue_id, data.app_version, data.queued, data.online, now)
        await session.flush()
        if changed:
            person = await session.get(Person, p.person_id) if p.person_id else None
            await append_event(session, "presence",
                               {"account_id": p.account_id, "person_id": p.person_id, "device_id": data.device_id,
                                "venue_id": venue_id, "online": data.online, "queued": data.queued},
                               contest_id=person.contest_id if person else None, venue_id=venue_id)
        return changed

    if await write_with_retry(db, tx):
        after_commit(app)
    return HeartbeatOut(_utc(utcnow()))


async def call_help(db: Database, app: Any, p: Principal, data: HelpIn, *, ip: str) -> HelpOut:
    """Record a "需要帮助" call for the chief judge and staff (a second tap within a minute is the same call)."""
    from judging.events import after_commit, append_event

    async def tx(session: AsyncSession) -> tuple[HelpOut, bool]:
        now = utcnow()
        venue_id = await _panel_venue(session, p.person_id)
        recent = (await session.execute(
            select(HelpCall).where(HelpCall.account_id == p.account_id, HelpCall.resolved_at.is_(None),
                                   HelpCall.created_at > now - timedelta(minutes=1))
            .order_by(HelpCall.id.desc()).limit(1))).scalar_one_or_none()
        if recent is not None:
            return HelpOut(recent.id, recent.venue_id, _utc(recent.created_at)), False
        call = HelpCall(venue_id=venue_id, account_id=p.account_id, message=data.message.strip(), created_at=now)
        session.add(call)
        await session.flush()
        person = await session.get(Person, p.person_id) if p.person_id else None
        await append_event(session, "help.called",
                           {"help_call_id": call.id, "account_id": p.account_id, "name": p.display_name,
                            "venue_id": venue_id, "message": call.message, "device_id": data.device_id},
                           contest_id=person.contest_id if person else None, venue_id=venue_id)
        return HelpOut(call.id, venue_id, _utc(now)), True

    out, created = await write_with_retry(db, tx)
    if created:
        after_commit(app)
    return out


# --------------------------------------------------------------------------------------------------
# Chief judge: progress, lock, reopen
# --------------------------------------------------------------------------------------------------
def check_chief(p: Principal, venue_id: int | None) -> None:
    if p.is_staff:
        return
    if venue_id is None or venue_id not in p.venues("chief_judge"):
        raise refuse("not_chief", "Only the chief judge of this venue (or staff) may do this.", 403)


async def panel_progress(session: AsyncSession, p: Principal, venue_id: int) -> PanelProgress:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise refuse("venue_not_found", f"There is no venue {venue_id}.", 404)
    check_chief(p, venue.id)
    members = (await session.execute(
        select(Person).join(PanelMember, PanelMember.person_id == Person.id)
        .where(PanelMember.venue_id == venue.id).order_by(PanelMember.id))).scalars().all()
    entries = (await session.execute(select(Entry).where(Entry.venue_id == venue.id)
                                     .order_by(Entry.running_order, Entry.id))).scalars().all()
    stage = await _stage(session, venue.contest_id, "onsite")
    person_ids = [m.id for m in members]
    sheets = {(s.entry_id, s.person_id): s for s in (await session.execute(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage.id, ScoreSheet.person_id.in_(person_ids),
                                 ScoreSheet.entry_id.in_([e.id for e in entries])))).scalars()}
    # Only the version number and time of each current version: no values, no totals.
    currents = {sid: (ver, at) for sid, ver, at in (await session.execute(
        select(SheetVersion.sheet_id, SheetVersion.version, SheetVersion.created_at)
        .where(SheetVersion.sheet_id.in_([s.id for s in sheets.values()]), SheetVersion.is_current))).all()}
    conflicts = (await session.execute(select(Conflict).where(Conflict.person_id.in_(person_ids)))).scalars().all()
    out_entries = []
    for e in entries:
        rows = []
        for m in members:
            conflicted = any(c.person_id == m.id and (c.entry_id == e.id or c.organization == e.organization)
                             for c in conflicts)
            s = sheets.get((e.id, m.id))
            ver, at = currents.get(s.id, (0, None)) if s else (0, None)
            rows.append(SheetStatus(m.id, m.name, conflicted, s.id if s else None, ver, _utc(at) if at else None,
                                    bool(s and s.locked)))
        out_entries.append(EntryProgress(e.id, e.code, e.title, e.status, e.running_order, rows))
    accounts = {a.id: a for a in (await session.execute(
        select(Account).where(Account.person_id.in_(person_ids)))).scalars()}
    devices = [DeviceStatus(d.account_id, accounts[d.account_id].display_name, d.device_id, d.online, d.queued,
                            _utc(d.last_seen_at)) for d in (await session.execute(
                select(Presence).where(Presence.account_id.in_(list(accounts)))
                .order_by(Presence.last_seen_at.desc()))).scalars()]
    calls = (await session.execute(
        select(HelpCall, Account.display_name).join(Account, Account.id == HelpCall.account_id)
        .where(HelpCall.venue_id == venue.id, HelpCall.resolved_at.is_(None)).order_by(HelpCall.id))).all()
    return PanelProgress(venue.id, venue.name, venue.current_entry_id, out_entries, devices,
                         [HelpCallOut(c.id, c.account_id, name, c.message, _utc(c.created_at)) for c, name in calls])


async def lock_entry(db: Database, app: Any, p: Principal, entry_id: int, reason: str, *, ip: str) -> LockOut:
    """Lock every panel judge's on-site sheet of an entry, including judges who have not submitted yet
    (an empty locked sheet), so no sheet can arrive or change after the lock."""
    from judging.events import after_commit, append_event

    async def tx(session: AsyncSession) -> LockOut:
        entry = await session.get(Entry, entry_id)
        if entry is None:
            raise refuse("entry_not_found", f"There is no entry {entry_id}.", 404)
        check_chief(p, entry.venue_id)
        stage = await _stage(session, entry.contest_id, "onsite")
        members = (await session.execute(
            select(PanelMember.person_id).where(PanelMember.venue_id == entry.venue_id))).scalars().all()
        sheets = {s.person_id: s for s in (await session.execute(
            select(ScoreSheet).where(ScoreSheet.stage_id == stage.id, ScoreSheet.entry_id == entry.id)
            .with_for_update())).scalars()}
        rubric: Rubric | None = None
        now = utcnow()
        count = 0
        for person_id in members:
            sheet = sheets.get(person_id)
            if sheet is None:
                if await conflict_for(session, person_id, entry) is not None:
                    continue
                rubric = rubric or await _rubric_for(session, entry, stage)
                sheet = ScoreSheet(stage_id=stage.id, entry_id=entry.id, person_id=person_id, rubric_id=rubric.id)
                session.add(sheet)
            if not sheet.locked:
                sheet.locked, sheet.locked_at, sheet.locked_by = True, now, p.account_id
                count += 1
        await session.flush()
        record(session, p, "sheet.lock", contest_id=entry.contest_id, entry_id=entry.id, target=f"entry:{entry.id}",
               reason=reason, ip=ip, locked_sheets=count)
        await append_event(session, "sheets.locked", {"entry_id": entry.id, "venue_id": entry.venue_id,
                                                      "locked_sheets": count},
                           contest_id=entry.contest_id, venue_id=entry.venue_id)
        return LockOut(entry.id, count)

    out = await write_with_retry(db, tx)
    after_commit(app)
    return out


async def reopen_sheet(db: Database, app: Any, p: Principal, sheet_id: int, reason: str, *, ip: str) -> ReopenOut:
    from judging.events import after_commit, append_event

    if not reason.strip():
        raise refuse("reason_required", "Say why the sheet is reopened; the reason is kept in the audit log.", 422)

    async def tx(session: AsyncSession) -> ReopenOut:
        sheet = (await session.execute(
            select(ScoreSheet).where(ScoreSheet.id == sheet_id).with_for_update())).scalar_one_or_none()
        if sheet is None:
            raise refuse("sheet_not_found", f"There is no sheet {sheet_id}.", 404)
        entry = await session.get(Entry, sheet.entry_id)
        assert entry is not None
        check_chief(p, entry.venue_id)
        if not sheet.locked:
            raise refuse("sheet_not_locked", "This sheet is not locked; the judge can already correct it.", 409)
        sheet.locked, sheet.locked_at, sheet.locked_by = False, None, None
        record(session, p, "sheet.reopen", contest_id=entry.contest_id, entry_id=entry.id, target=f"sheet:{sheet.id}",
               reason=reason.strip(), ip=ip, person_id=sheet.person_id)
        await append_event(session, "sheet.reopened", {"entry_id": entry.id, "venue_id": entry.venue_id,
                                                       "person_id": sheet.person_id, "sheet_id": sheet.id},
                           contest_id=entry.contest_id, venue_id=entry.venue_id)
        return ReopenOut(sheet.id, entry.id, sheet.person_id, False)

    out = await write_with_retry(db, tx)
    after_commit(app)
    return out

