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
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NamedTuple, Protocol, TypeAlias, TypeVar, cast

import msgspec
from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

import scoring
from judging.audit import record
from judging.auth import Principal, load_principal
from judging.db.base import utcnow
from judging.db.engine import Database
from judging.db.models import (
    Account,
    Conflict,
    Contest,
    Entry,
    GradeRun,
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
from judging.venue_control import open_help_calls
from live.protocol import Beat

T = TypeVar("T")
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
StageKind = Literal["onsite", "initial"]
NOT_SCORABLE = ("absent", "withdrawn")
RELEASED = ("released", "official")
PRESENCE_EVENT_EVERY = timedelta(seconds=60)
PRESENCE_TOUCH_EVERY = timedelta(seconds=25)
"""An unchanged heartbeat (the tablet sends one every 20 s) writes ``last_seen_at`` only when the stored one is
older than this: every other heartbeat is a read, not a write transaction (on SQLite each write waits for the
single writer, like the judges' submissions). ``last_seen_at`` is then at most ~40 s old for a live tablet."""
PRESENCE_OFFLINE_AFTER = timedelta(seconds=60)
"""A tablet is offline when its last heartbeat said so or is older than this (the venue console, the staff monitor,
the status page); :func:`announce_silent` announces a tablet that stays silent this long."""
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
    resolved_at: datetime | None = None
    """When the chief judge, the host or staff marked the call handled (``null`` while it is open)."""


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
    """A judge's open "需要帮助" call (the chief judge's progress, the venue console's state)."""

    id: int
    account_id: int
    name: str
    message: str
    """What the tablet sent: the code of the entry the judge had open, if any."""
    created_at: datetime


def help_calls_out(calls: Iterable[tuple[HelpCall, str]]) -> list[HelpCallOut]:
    """Open help calls with their callers' names (``venue_control.open_help_calls``) as the API shows them."""
    return [HelpCallOut(c.id, c.account_id, name, c.message, _utc(c.created_at)) for c, name in calls]


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


class ItemLike(Protocol):
    """A rubric item as the validator reads it: a :class:`RubricItem` or a :class:`RubricLine` row."""

    @property
    def key(self) -> str: ...
    @property
    def label_zh(self) -> str: ...
    @property
    def label_en(self) -> str: ...
    @property
    def max_points(self) -> Decimal: ...
    @property
    def step(self) -> Decimal: ...
    @property
    def position(self) -> int: ...


class RubricLine(NamedTuple):
    """One rubric item read as a plain row (the hot paths load no ORM instances)."""

    key: str
    label_zh: str
    label_en: str
    max_points: Decimal
    step: Decimal
    position: int


class SheetRubric:
    """A rubric's items with exact decimal validation, checked again by ``scoring.Rubric``.

    The decimal pass gives each refusal a code and the item it concerns (the tablet shows it next to the
    item); ``scoring.Rubric`` is the engine's own validator, so a sheet accepted here is one the scoring
    engine accepts too.
    """

    def __init__(self, items: Iterable[ItemLike]) -> None:
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


def rubric_out(rubric_id: int, name: str, frozen: bool, items: Iterable[ItemLike]) -> RubricOut:
    ordered = sorted(items, key=lambda i: i.position)
    return RubricOut(
        rubric_id, name, frozen, fmt(sum((i.max_points for i in ordered), Decimal(0))),
        [RubricItemOut(i.key, i.label_zh, i.label_en, fmt(i.max_points), fmt(i.step)) for i in ordered],
    )


# --------------------------------------------------------------------------------------------------
# Transactions with retry (a racing duplicate loses on a unique index and is re-read as a replay)
# --------------------------------------------------------------------------------------------------
async def write_with_retry(db: Database, fn: Callable[[AsyncSession], Awaitable[T]], attempts: int = 6) -> T:
    return await db.transaction(fn, attempts)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# Statements of the hot paths (submit, heartbeat, judge state)
#
# Core statements on the tables, built once here with bound parameters: no ORM instances are loaded, and
# SQLAlchemy computes each statement's cache key once (statements are immutable and memoize it) instead of
# building and hashing a new select() per call. Each one does in one round trip what took several.
# --------------------------------------------------------------------------------------------------
def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


t_entry, t_stage, t_sheet, t_version = _table(Entry), _table(Stage), _table(ScoreSheet), _table(SheetVersion)
t_rubric, t_item, t_topic = _table(Rubric), _table(RubricItem), _table(TopicType)
t_panel, t_review, t_conflict = _table(PanelMember), _table(ReviewerAssignment), _table(Conflict)
t_person, t_contest, t_venue, t_presence = _table(Person), _table(Contest), _table(Venue), _table(Presence)
t_run, t_account = _table(GradeRun), _table(Account)

_person_id = bindparam("person_id", type_=Integer)
_account_id = bindparam("account_id", type_=Integer)
_entry_id = bindparam("entry_id", type_=Integer)
_sheet_id = bindparam("sheet_id", type_=Integer)
_cid = bindparam("cid", type_=String)
_kind = bindparam("kind", type_=String)

# The receipt of a stored submission, by its client submission id.
_RECEIPT = (
    select(t_version.c.version, t_version.c["values"].label("vals"), t_version.c.created_at,
           t_sheet.c.id.label("sheet_id"), t_sheet.c.entry_id, t_sheet.c.person_id, t_stage.c.kind)
    .select_from(t_version.join(t_sheet, t_sheet.c.id == t_version.c.sheet_id)
                 .join(t_stage, t_stage.c.id == t_sheet.c.stage_id))
    .where(t_version.c.client_submission_id == _cid)
)

# Everything a submission is checked against, in one statement: the entry; whether the id was stored already;
# the person's panel seat, review assignment and conflict (回避); the stage; the person's sheet with its current
# and highest version; the sheet's rubric (or, without a sheet, the rubric of the entry's topic type in this
# stage) with its items, one row per item; and whether the contest has a final grade list. No row: no such entry.
_topic_rubric = t_rubric.alias("topic_rubric")
_NEW_SHEET_RUBRIC = (
    select(_topic_rubric.c.id)
    .where(_topic_rubric.c.topic_type_id == t_entry.c.topic_type_id, _topic_rubric.c.stage_id == t_stage.c.id)
    .scalar_subquery()
)
_SUBMIT_CONTEXT = (
    select(
        t_entry.c.id, t_entry.c.code, t_entry.c.contest_id, t_entry.c.venue_id, t_entry.c.status,
        select(t_version.c.id).where(t_version.c.client_submission_id == _cid).scalar_subquery().label("stored"),
        exists().where(t_panel.c.person_id == _person_id, t_panel.c.venue_id == t_entry.c.venue_id)
        .label("member"),
        exists().where(t_review.c.person_id == _person_id, t_review.c.entry_id == t_entry.c.id).label("assigned"),
        select(t_conflict.c.reason)
        .where(t_conflict.c.person_id == _person_id,
               or_(t_conflict.c.entry_id == t_entry.c.id, t_conflict.c.organization == t_entry.c.organization))
        .order_by(t_conflict.c.id).limit(1).scalar_subquery().label("conflict_reason"),
        t_stage.c.id.label("stage_id"),
        t_sheet.c.id.label("sheet_id"), t_sheet.c.locked,
        select(t_version.c.version).where(t_version.c.sheet_id == t_sheet.c.id, t_version.c.is_current)
        .scalar_subquery().label("current_version"),
        select(func.max(t_version.c.version)).where(t_version.c.sheet_id == t_sheet.c.id)
        .scalar_subquery().label("latest_version"),
        t_rubric.c.id.label("rubric_id"), t_rubric.c.frozen_at,
        exists().where(t_run.c.contest_id == t_entry.c.contest_id, t_run.c.status == "final").label("finals"),
        t_item.c.key, t_item.c.label_zh, t_item.c.label_en, t_item.c.max_points, t_item.c.step, t_item.c.position,
    )
    .select_from(
        t_entry
        .outerjoin(t_stage, and_(t_stage.c.contest_id == t_entry.c.contest_id, t_stage.c.kind == _kind))
        .outerjoin(t_sheet, and_(t_sheet.c.stage_id == t_stage.c.id, t_sheet.c.entry_id == t_entry.c.id,
                                 t_sheet.c.person_id == _person_id))
        .outerjoin(t_rubric, t_rubric.c.id == func.coalesce(t_sheet.c.rubric_id, _NEW_SHEET_RUBRIC))
        .outerjoin(t_item, t_item.c.rubric_id == t_rubric.c.id)
    )
    .where(t_entry.c.id == _entry_id)
    .order_by(t_item.c.position, t_item.c.id)
)

# PostgreSQL: lock the sheet against a concurrent submission or lock, and read its flag after the lock.
_LOCK_SHEET = select(t_sheet.c.locked).where(t_sheet.c.id == _sheet_id).with_for_update(key_share=True)

# A sheet's versions as three numbers: the current one, the highest one, and whether this id is among them.
_SHEET_VERSIONS = select(
    func.max(case((t_version.c.is_current, t_version.c.version))),
    func.max(t_version.c.version),
    func.max(case((t_version.c.client_submission_id == _cid, 1), else_=0)),
).where(t_version.c.sheet_id == _sheet_id)

_INSERT_SHEET = insert(t_sheet).returning(t_sheet.c.id)
_INSERT_VERSION = insert(t_version)
_UNSET_CURRENT = (
    update(t_version).where(t_version.c.sheet_id == bindparam("of_sheet", type_=Integer), t_version.c.is_current)
    .values(is_current=False)
)
_FREEZE_RUBRIC = (  # only the first transaction to freeze it does (and audits it): two first scores may race
    update(t_rubric).where(t_rubric.c.id == bindparam("rubric_id", type_=Integer), t_rubric.c.frozen_at.is_(None))
    .values(frozen_at=bindparam("now", type_=t_rubric.c.frozen_at.type)).returning(t_rubric.c.id)
)

# The device's presence row (if any) with the person's first panel venue and contest, in one row always: the
# presence table is outer-joined to a one-row source, so the device's first heartbeat gets the row too.
_FIRST_PANEL_VENUE = (
    select(t_panel.c.venue_id).where(t_panel.c.person_id == _person_id).order_by(t_panel.c.id).limit(1)
)
_one_row = select(literal_column("1").label("one")).subquery("one_row")
_HEARTBEAT_CONTEXT = (
    select(
        _FIRST_PANEL_VENUE.scalar_subquery().label("venue_id"),
        select(t_person.c.contest_id).where(t_person.c.id == _person_id).scalar_subquery().label("contest_id"),
        t_presence.c.id, t_presence.c.online, t_presence.c.queued, t_presence.c.last_seen_at,
        t_presence.c.app_version, t_presence.c.venue_id.label("seen_venue_id"),
    )
    .select_from(_one_row.outerjoin(t_presence, and_(t_presence.c.account_id == _account_id,
                                                     t_presence.c.device_id == bindparam("device_id", type_=String))))
)
_INSERT_PRESENCE = insert(t_presence)
_UPDATE_PRESENCE = update(t_presence).where(t_presence.c.id == bindparam("presence_id", type_=Integer))

# The judge's state: the person's contest, whether they have initial-review assignments, and their panel seats
# (one row per seat; one row with a NULL seat without any).
_STATE_SEATS = (
    select(t_contest.c.id.label("contest_id"), t_contest.c.name.label("contest_name"),
           exists().where(t_review.c.person_id == _person_id).label("reviews"), t_panel.c.is_chief,
           t_venue.c.id.label("venue_id"), t_venue.c.code, t_venue.c.name, t_venue.c.current_entry_id)
    .select_from(t_person.outerjoin(t_contest, t_contest.c.id == t_person.c.contest_id)
                 .outerjoin(t_panel, t_panel.c.person_id == t_person.c.id)
                 .outerjoin(t_venue, t_venue.c.id == t_panel.c.venue_id))
    .where(t_person.c.id == _person_id)
    .order_by(t_venue.c.position)
)


def _state_entries(kind: StageKind) -> Select[*tuple[Any, ...]]:
    """The entries a person scores in one stage, each with its topic type, conflict flag, the person's own sheet
    and its current version, and the rubric it is scored against (the sheet's, else the topic type's).

    Only this person's sheets are joined: other judges' values never leave the database here."""
    entries = (
        select(
            t_entry.c.id, t_entry.c.code, t_entry.c.title, t_entry.c.team, t_entry.c.organization,
            t_entry.c.circle_type, t_entry.c.venue_id, t_entry.c.running_order, t_entry.c.status,
            t_entry.c.report_url, t_topic.c.name_zh, t_topic.c.name_en,
            exists().where(t_conflict.c.person_id == _person_id,
                           or_(t_conflict.c.entry_id == t_entry.c.id,
                               and_(t_conflict.c.organization == t_entry.c.organization,
                                    t_conflict.c.organization != ""))).label("conflicted"),
            t_sheet.c.id.label("sheet_id"), t_sheet.c.locked,
            func.coalesce(t_sheet.c.rubric_id, _NEW_SHEET_RUBRIC).label("rubric_id"),
            t_version.c.version, t_version.c["values"].label("vals"), t_version.c.comment,
            t_version.c.created_at, t_version.c.client_submission_id,
        )
        .select_from(
            t_entry
            .outerjoin(t_topic, and_(t_topic.c.id == t_entry.c.topic_type_id,
                                     t_topic.c.contest_id == t_entry.c.contest_id))
            .outerjoin(t_stage, and_(t_stage.c.contest_id == t_entry.c.contest_id, t_stage.c.kind == kind))
            .outerjoin(t_sheet, and_(t_sheet.c.stage_id == t_stage.c.id, t_sheet.c.entry_id == t_entry.c.id,
                                     t_sheet.c.person_id == _person_id))
            .outerjoin(t_version, and_(t_version.c.sheet_id == t_sheet.c.id, t_version.c.is_current))
        )
    )
    if kind == "onsite":
        return (entries.where(t_entry.c.venue_id.in_(select(t_panel.c.venue_id)
                                                     .where(t_panel.c.person_id == _person_id)))
                .order_by(t_entry.c.venue_id, t_entry.c.running_order, t_entry.c.id))
    return (entries.join(t_review, t_review.c.entry_id == t_entry.c.id).where(t_review.c.person_id == _person_id)
            .order_by(t_entry.c.code))


_STATE_PANEL_ENTRIES = _state_entries("onsite")
_STATE_REVIEW_ENTRIES = _state_entries("initial")
_STATE_RUBRICS = (
    select(t_rubric.c.id.label("rubric_id"), t_rubric.c.name, t_rubric.c.frozen_at, t_item.c.key,
           t_item.c.label_zh, t_item.c.label_en, t_item.c.max_points, t_item.c.step, t_item.c.position)
    .select_from(t_rubric.outerjoin(t_item, t_item.c.rubric_id == t_rubric.c.id))
    .where(t_rubric.c.id.in_(bindparam("rubric_ids", expanding=True)))
    .order_by(t_rubric.c.id, t_item.c.position, t_item.c.id)
)


def _lines(rows: Iterable[AnyRow]) -> list[RubricLine]:
    """The rubric items of rows that carry them (an outer join gives one item-less row for an empty rubric)."""
    return [RubricLine(r.key, r.label_zh, r.label_en, r.max_points, r.step, r.position)
            for r in rows if r.key is not None]


def _points_total(values: Mapping[str, Any]) -> str:
    return fmt(sum((Decimal(v) for v in values.values()), Decimal(0)))


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


def check_may_score(ctx: AnyRow, stage: str) -> None:
    """Refuse unless the person may score the entry in this stage (``ctx``: a row of ``_SUBMIT_CONTEXT``)."""
    if stage == "onsite":
        if ctx.venue_id is None or not ctx.member:
            raise refuse("not_your_venue", f"Entry {ctx.code} is not presented in your venue; you can only score "
                         "entries of the panel you sit on.", 403, entry_id=ctx.id, venue_id=ctx.venue_id)
    elif not ctx.assigned:
        raise refuse("not_assigned", f"Entry {ctx.code} is not assigned to you for initial review.", 403,
                     entry_id=ctx.id)
    if ctx.conflict_reason is not None:
        raise refuse("conflicted", f"You are recused (回避) from entry {ctx.code}: {ctx.conflict_reason}. "
                     "Your score would not count; please do not score it.", 403, entry_id=ctx.id)
    if ctx.status in NOT_SCORABLE:
        raise refuse("entry_not_scorable", f"Entry {ctx.code} is marked {ctx.status}; it is not scored.", 409,
                     entry_id=ctx.id, status=ctx.status)


async def _stage(session: AsyncSession, contest_id: int, kind: str) -> Stage:
    stage = (await session.execute(
        select(Stage).where(Stage.contest_id == contest_id, Stage.kind == kind))).scalar_one_or_none()
    if stage is None:
        raise refuse("no_stage", f"This contest has no {kind} stage.", 404)
    return stage


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
    row = (await session.execute(_RECEIPT, {"cid": cid})).first()
    if row is None:
        return None
    receipt = Receipt(cid, row.sheet_id, row.entry_id, row.kind, row.version, _points_total(row.vals),
                      _utc(row.created_at))
    return receipt, row.person_id


async def submit(db: Database, app: Any, p: Principal, data: SubmitIn, *, ip: str) -> tuple[Receipt, bool]:
    """Store a submission exactly once. Returns (receipt, created); ``created`` is False for a replay."""
    from judging.events import after_commit, append_event

    if p.person_id is None:
        raise refuse("not_a_judge", "This account is not a judge or reviewer; open your own login link.", 403)
    person_id = p.person_id
    cid = data.client_submission_id.lower()
    # On SQLite write transactions are serialized (BEGIN IMMEDIATE, across processes too): what the first read of
    # the transaction sees cannot change before commit. On PostgreSQL the sheet row is locked (FOR UPDATE) and
    # re-read after the lock, as two devices may submit to the same sheet at once.
    serialized = db.is_sqlite

    def replay(existing: tuple[Receipt, int]) -> tuple[Receipt, bool]:
        receipt, owner = existing
        if owner != person_id or receipt.entry_id != data.entry_id:
            raise refuse("client_id_reused", "This submission id was already used for another sheet; "
                         "the tablet must make a new id for every submission.", 409)
        return receipt, False

    async def stored_receipt(session: AsyncSession) -> tuple[Receipt, bool]:
        existing = await _existing_receipt(session, cid)
        assert existing is not None
        return replay(existing)

    if serialized:
        # SQLite: most replays (a tablet retrying after a lost answer) are answered from a read, without taking
        # the single writer's lock. PostgreSQL has no such lock, and the read would be one more round trip on
        # every submission: the transaction's first statement finds a stored copy anyway (``ctx.stored``).
        async with db.read() as session:
            existing = await _existing_receipt(session, cid)
        if existing is not None:
            return replay(existing)

    async def tx(session: AsyncSession) -> tuple[Receipt, bool]:
        rows = (await session.execute(_SUBMIT_CONTEXT, {
            "entry_id": data.entry_id, "person_id": person_id, "kind": data.stage, "cid": cid})).all()
        if not rows:
            if await _existing_receipt(session, cid) is not None:
                return await stored_receipt(session)
            raise refuse("entry_not_found", f"There is no entry {data.entry_id}.", 404)
        ctx = rows[0]
        if ctx.stored is not None:  # it landed meanwhile (a racing copy of the same submission)
            return await stored_receipt(session)
        check_may_score(ctx, data.stage)
        if ctx.stage_id is None:
            raise refuse("no_stage", f"This contest has no {data.stage} stage.", 404)
        items = _lines(rows)
        sheet_id: int | None = ctx.sheet_id
        current_version = latest_version = 0
        if sheet_id is None:
            if ctx.rubric_id is None or not items:
                raise refuse("no_rubric", f"No score sheet is set up for entry {ctx.code} in this stage; tell the "
                             "staff.", 409, entry_id=ctx.id)
            sheet_id = (await session.execute(_INSERT_SHEET, {
                "stage_id": ctx.stage_id, "entry_id": ctx.id, "person_id": person_id,
                "rubric_id": ctx.rubric_id})).scalar_one()
            locked = False
        else:
            locked, current, latest = ctx.locked, ctx.current_version, ctx.latest_version
            if not serialized:
                # PostgreSQL: lock the sheet, then read its flag and versions again after the lock (a concurrent
                # submission to this sheet may have committed a version meanwhile).
                locked = (await session.execute(_LOCK_SHEET, {"sheet_id": sheet_id})).scalar_one()
                current, latest, stored = (await session.execute(
                    _SHEET_VERSIONS, {"sheet_id": sheet_id, "cid": cid})).one()
                if stored:
                    # A racing copy of this submission committed between the check above and the sheet lock.
                    return await stored_receipt(session)
            current_version, latest_version = current or 0, latest or 0
        if locked:
            raise refuse("sheet_locked", f"Your sheet for entry {ctx.code} is locked by the chief judge; ask the "
                         "chief judge to reopen it if it needs a correction.", 423, sheet_id=sheet_id)
        if (data.base_version or 0) != current_version:
            raise refuse("stale_version", f"Your sheet for entry {ctx.code} was changed on another device or "
                         f"submission (now version {current_version}); reload it, check the scores and submit "
                         "again.", 409, sheet_id=sheet_id, current_version=current_version,
                         base_version=data.base_version or 0)
        values, total = SheetRubric(items).check(data.values)
        now = utcnow()
        if current_version:
            # the partial unique index allows one current version at a time
            await session.execute(_UNSET_CURRENT, {"of_sheet": sheet_id})
        version = latest_version + 1
        await session.execute(_INSERT_VERSION, {
            "sheet_id": sheet_id, "version": version, "client_submission_id": cid, "base_version": data.base_version,
            "values": values, "total": total, "comment": data.comment.strip(), "device_id": data.device_id,
            "ip": ip, "account_id": p.account_id, "created_at": now, "is_current": True, "source": "tablet",
        })
        if ctx.frozen_at is None and (await session.execute(
                _FREEZE_RUBRIC, {"rubric_id": ctx.rubric_id, "now": now})).first() is not None:
            record(session, p, "rubric.freeze", contest_id=ctx.contest_id, entry_id=ctx.id,
                   target=f"rubric:{ctx.rubric_id}", reason="first accepted score", ip=ip)
        if ctx.finals:
            from judging.staff.grading import outdate_finals  # loaded at start-up (judging.app.WARM_MODULES)

            # Only after finalization (rare): then the UPDATE marks the final lists outdated in this transaction. A
            # list finalized while this submission was in flight is caught by its input digest before it is shown
            # or exported (judging.staff.web._outdate), as any change the UPDATE did not see would be.
            await outdate_finals(session, ctx.contest_id, ctx.id,
                                 f"sheet {sheet_id} version {version} submitted after finalization")
        await append_event(session, "sheet.submitted",
                           {"entry_id": ctx.id, "venue_id": ctx.venue_id, "person_id": person_id,
                            "version": version, "stage": data.stage},
                           contest_id=ctx.contest_id, venue_id=ctx.venue_id if data.stage == "onsite" else None)
        return Receipt(cid, sheet_id, ctx.id, data.stage, version, fmt(total), _utc(now)), True

    result = await write_with_retry(db, tx)
    if result[1]:
        after_commit(app)
    return result


# --------------------------------------------------------------------------------------------------
# The judge's state (what the tablet polls)
# --------------------------------------------------------------------------------------------------
def _own_sheet(row: AnyRow) -> OwnSheet:
    """The person's sheet from a row of ``_state_entries`` (the sheet and its current version, if any)."""
    if row.version is None:
        return OwnSheet(row.sheet_id, 0, row.locked, {}, None, "", None, None)
    return OwnSheet(row.sheet_id, row.version, row.locked, dict(row.vals), _points_total(row.vals), row.comment,
                    _utc(row.created_at), row.client_submission_id)


async def judge_state(session: AsyncSession, p: Principal) -> JudgeState:
    venues: list[VenueState] = []
    pairs: list[tuple[AnyRow, str]] = []
    contest_id: int | None = None
    contest_name = ""
    if p.person_id is not None:
        params = {"person_id": p.person_id}
        seats = (await session.execute(_STATE_SEATS, params)).all()
        if seats:
            contest_id, contest_name = seats[0].contest_id, seats[0].contest_name or ""
        venues = [VenueState(s.venue_id, s.code, s.name, s.is_chief, s.current_entry_id)
                  for s in seats if s.venue_id is not None]
        if venues:
            pairs += [(e, "onsite") for e in (await session.execute(_STATE_PANEL_ENTRIES, params))]
        if seats and seats[0].reviews:
            pairs += [(e, "initial") for e in (await session.execute(_STATE_REVIEW_ENTRIES, params))]
    if not pairs:
        return JudgeState(p.account_id, p.display_name, p.person_id, contest_id, contest_name, venues, [], [],
                          _utc(utcnow()))
    entries: list[EntryState] = []
    used: list[int] = []  # rubric ids in the order the entries first use them
    for e, kind in pairs:
        rubric_id = None if e.conflicted else e.rubric_id
        if rubric_id is not None and rubric_id not in used:
            used.append(rubric_id)
        entries.append(EntryState(
            e.id, e.code, e.title, e.team, e.organization, e.circle_type, e.name_zh or "", e.name_en or "", kind,
            e.venue_id, e.running_order, e.status, e.conflicted, rubric_id, e.report_url if kind == "initial" else "",
            _own_sheet(e) if e.sheet_id is not None and not e.conflicted else None,
        ))
    rubrics: list[RubricOut] = []
    if used:
        by_rubric: dict[int, list[AnyRow]] = {}
        for row in (await session.execute(_STATE_RUBRICS, {"rubric_ids": used})):
            by_rubric.setdefault(row.rubric_id, []).append(row)
        rubrics = [rubric_out(rid, rows[0].name, rows[0].frozen_at is not None, _lines(rows))
                   for rid in used if (rows := by_rubric.get(rid))]
    return JudgeState(p.account_id, p.display_name, p.person_id, contest_id, contest_name, venues, entries, rubrics,
                      _utc(utcnow()))


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
    row = (await session.execute(_FIRST_PANEL_VENUE, {"person_id": person_id})).first()
    return int(row[0]) if row else None


async def heartbeat(db: Database, app: Any, p: Principal, data: HeartbeatIn) -> HeartbeatOut:
    """Upsert the device's presence; an event only when its state changes (or once a minute)."""
    params = {"person_id": p.person_id, "account_id": p.account_id, "device_id": data.device_id}
    seen = (await db.select_rows(_HEARTBEAT_CONTEXT, params))[0]
    if seen.id is not None and seen.online == data.online and seen.queued == data.queued and \
            seen.app_version == data.app_version and seen.seen_venue_id == seen.venue_id and \
            _utc(seen.last_seen_at) >= utcnow() - PRESENCE_TOUCH_EVERY:
        return HeartbeatOut(_utc(utcnow()))  # nothing to record yet
    await record_presence(db, app, p, data)
    return HeartbeatOut(_utc(utcnow()))


class FeedBeats:
    """The presence beats of one judge's tablet arriving over its venue feed (``live.server.BeatHandler``).

    The tablet sends its heartbeat over the socket it already holds while that feed is live (``tablet.js``), instead
    of an HTTP request every 20 s: no request, no authentication query, and a beat that repeats the last one this
    socket recorded less than :data:`PRESENCE_TOUCH_EVERY` ago costs no database access at all (over HTTP that check
    is a read). A beat that has to be written first re-reads the socket's login (one query), so a revoked link's
    socket is closed (4401) by its next write instead of keeping its presence fresh."""

    def __init__(self, db: Database, app: Any, secret: str, raw_token: str) -> None:
        self.db = db
        self.app = app
        self.secret = secret
        self.raw_token = raw_token
        self.last: tuple[str, str, int, bool] | None = None
        self.written_at = 0.0

    async def __call__(self, beat: Beat) -> bool:
        key = (beat.device_id, beat.app_version, beat.queued, beat.online)
        now = time.monotonic()
        if key == self.last and now - self.written_at < PRESENCE_TOUCH_EVERY.total_seconds():
            return True
        p = await load_principal(self.db, self.secret, self.raw_token)
        if p is None:
            return False
        await record_presence(self.db, self.app, p, HeartbeatIn(*key))
        self.last, self.written_at = key, now
        return True


async def record_presence(db: Database, app: Any, p: Principal, data: HeartbeatIn) -> None:
    """Write the device's presence row (its first beat inserts it) and, when its state changed or once a minute, a
    ``presence`` event for the staff feed."""
    from judging.events import after_commit, append_event

    params = {"person_id": p.person_id, "account_id": p.account_id, "device_id": data.device_id}

    async def tx(session: AsyncSession) -> bool:
        now = utcnow()
        row = (await session.execute(_HEARTBEAT_CONTEXT, params)).one()
        changed = row.id is None or row.online != data.online or row.queued != data.queued or \
            _utc(row.last_seen_at) < now - PRESENCE_EVENT_EVERY
        values = {"venue_id": row.venue_id, "app_version": data.app_version, "queued": data.queued,
                  "online": data.online, "last_seen_at": now}
        if row.id is None:
            await session.execute(_INSERT_PRESENCE, {"account_id": p.account_id, "device_id": data.device_id,
                                                     **values})
        else:
            await session.execute(_UPDATE_PRESENCE, {"presence_id": row.id, **values})
        if changed:
            await append_event(session, "presence",
                               {"account_id": p.account_id, "person_id": p.person_id, "device_id": data.device_id,
                                "venue_id": row.venue_id, "online": data.online, "queued": data.queued},
                               contest_id=row.contest_id, venue_id=row.venue_id)
        return changed

    if await write_with_retry(db, tx):
        after_commit(app)


# A tablet the rows still call online whose last heartbeat is older than the cutoff, with what its event needs
_SILENT = (
    select(t_presence.c.id, t_presence.c.account_id, t_presence.c.device_id, t_presence.c.venue_id,
           t_presence.c.queued, t_presence.c.app_version, t_presence.c.last_seen_at, t_account.c.person_id,
           t_venue.c.contest_id)
    .join(t_account, t_account.c.id == t_presence.c.account_id)
    .outerjoin(t_venue, t_venue.c.id == t_presence.c.venue_id)
    .where(t_presence.c.online.is_(True), t_presence.c.last_seen_at < bindparam("cutoff"))
    .order_by(t_presence.c.id)
)
_MARK_SILENT = (
    update(t_presence)
    .where(t_presence.c.id == bindparam("presence_id", type_=Integer), t_presence.c.online.is_(True),
           t_presence.c.last_seen_at < bindparam("cutoff"))
    .values(online=False)
)


async def announce_silent(db: Database, app: Any) -> int:
    """Mark tablets silent for :data:`PRESENCE_OFFLINE_AFTER` offline and log a ``presence`` event for each (online
    false), so the venue console and the staff monitor learn it from their feeds instead of polling for it. Run
    periodically by the live publisher (one process). A tablet that beats again is online again: its beat differs
    from the row and is logged as a change. Returns how many were announced; a read only when none is due."""
    from judging.events import after_commit, append_event

    cutoff = utcnow() - PRESENCE_OFFLINE_AFTER
    rows = await db.select_rows(_SILENT, {"cutoff": cutoff})
    if not rows:
        return 0

    async def tx(session: AsyncSession) -> int:
        announced = 0
        for row in rows:
            # only if no beat came since the read: a tablet back meanwhile stays online
            if (await session.execute(_MARK_SILENT, {"presence_id": row.id, "cutoff": cutoff})).rowcount:
                await append_event(session, "presence",
                                   {"account_id": row.account_id, "person_id": row.person_id,
                                    "device_id": row.device_id, "venue_id": row.venue_id, "online": False,
                                    "queued": row.queued, "app_version": row.app_version,
                                    "last_seen_ms": int(_utc(row.last_seen_at).timestamp() * 1000)},
                                   contest_id=row.contest_id, venue_id=row.venue_id)
                announced += 1
        return announced

    announced = await write_with_retry(db, tx)
    if announced:
        after_commit(app)
    return announced


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


async def help_status(session: AsyncSession, p: Principal, help_call_id: int) -> HelpOut:
    """One of the caller's own help calls, with ``resolved_at`` once it was handled (the tablet asks while its
    call is open). Anyone else's call is ``not_found``, as if it did not exist."""
    call = await session.get(HelpCall, help_call_id)
    if call is None or call.account_id != p.account_id:
        raise refuse("not_found", f"You have no help call {help_call_id}.", 404)
    return HelpOut(call.id, call.venue_id, _utc(call.created_at),
                   _utc(call.resolved_at) if call.resolved_at is not None else None)


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
    return PanelProgress(venue.id, venue.name, venue.current_entry_id, out_entries, devices,
                         help_calls_out(await open_help_calls(session, venue.id)))


async def lock_panel_sheets(session: AsyncSession, entry: Entry, account_id: int) -> int:
    """Lock every panel judge's on-site sheet of an entry, creating an empty locked sheet for a judge who has not
    submitted (recused judges excepted): after this no sheet of the entry can arrive or change until the chief
    judge reopens one. Returns how many sheets were locked now."""
    stage = await _stage(session, entry.contest_id, "onsite")
    members = (await session.execute(
        select(PanelMember.person_id).where(PanelMember.venue_id == entry.venue_id))).scalars().all()
    sheets = {s.person_id: s for s in (await session.execute(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage.id, ScoreSheet.entry_id == entry.id)
        .with_for_update(key_share=True))).scalars()}
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
            sheet.locked, sheet.locked_at, sheet.locked_by = True, now, account_id
            count += 1
    # Sheets of people no longer on the panel (moved after scoring) are locked too.
    for person_id, sheet in sheets.items():
        if person_id not in members and not sheet.locked:
            sheet.locked, sheet.locked_at, sheet.locked_by = True, now, account_id
            count += 1
    await session.flush()
    return count


async def lock_entry(db: Database, app: Any, p: Principal, entry_id: int, reason: str, *, ip: str) -> LockOut:
    """Lock every panel judge's on-site sheet of an entry, including judges who have not submitted yet
    (an empty locked sheet), so no sheet can arrive or change after the lock."""
    from judging.events import after_commit, append_event

    async def tx(session: AsyncSession) -> LockOut:
        entry = await session.get(Entry, entry_id)
        if entry is None:
            raise refuse("entry_not_found", f"There is no entry {entry_id}.", 404)
        check_chief(p, entry.venue_id)
        count = await lock_panel_sheets(session, entry, p.account_id)
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
            select(ScoreSheet).where(ScoreSheet.id == sheet_id).with_for_update(key_share=True))
        ).scalar_one_or_none()
        if sheet is None:
            raise refuse("sheet_not_found", f"There is no sheet {sheet_id}.", 404)
        entry = await session.get(Entry, sheet.entry_id)
        assert entry is not None
        check_chief(p, entry.venue_id)
        if not p.is_staff and await session.scalar(select(Stage.kind).where(Stage.id == sheet.stage_id)) != "onsite":
            # An initial-review sheet (an expert's, or imported and locked by staff) is not the venue's business.
            raise refuse("not_chief", "Only staff may reopen an initial-review sheet; a chief judge reopens the "
                         "on-site sheets of the venue's panel.", 403, sheet_id=sheet.id)
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

