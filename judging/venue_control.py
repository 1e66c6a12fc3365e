"""Venue control: what hosts and chief judges do, and the result lifecycle of an entry.

Lifecycle: scheduled -> presenting (host puts it on stage) -> scoring (the next entry goes on stage, or the host
ends the presentation) -> unofficial (every valid panel sheet is in; set by the publisher when the last sheet
arrives) -> released (the chief judge or staff releases: the panel result is computed with ``scoring``) ->
official (the grade list is finalized). Absent and withdrawn are side exits the host can undo. A correction after
release is a new ``result.corrected`` event with a reason, never an edit.

Every function runs inside the caller's write transaction, writes its events with ``append_event`` and its audit
row with ``audit.record``; the caller calls ``after_commit(app)`` once the transaction has committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.audit import record
from judging.auth import Principal
from judging.db.base import utcnow
from judging.db.engine import Database
from judging.db.models import (
    Account,
    Conflict,
    Entry,
    Event,
    HelpCall,
    PanelMember,
    Person,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.errors import PodiumError
from judging.events import append_event
from live.projection import competition_ranks, result_of
from live.protocol import RELEASED, ResultCorrected, ResultReleased, parse_data
from live.results import PanelMark, outliers, panel_outcome


def _now() -> datetime:
    return utcnow()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def load_venue(session: AsyncSession, venue_id: int, *, lock: bool = False) -> Venue:
    # Row locks here and in judging/sheets.py are FOR NO KEY UPDATE (``key_share=True``; SQLite ignores them): no
    # transaction changes these rows' keys, and plain FOR UPDATE also blocks the KEY SHARE lock that a foreign-key
    # check takes. A release (venue, then entry) and the lifecycle check (entry, then an event naming the venue)
    # deadlocked that way until PostgreSQL broke the cycle after deadlock_timeout (1 s).
    stmt = select(Venue).where(Venue.id == venue_id)
    if lock:
        stmt = stmt.with_for_update(key_share=True)
    venue = (await session.execute(stmt)).scalar_one_or_none()
    if venue is None:
        raise PodiumError(f"There is no venue {venue_id}.", code="not_found", status_code=404)
    return venue


async def load_entry(session: AsyncSession, venue: Venue, entry_id: int, *, lock: bool = False) -> Entry:
    stmt = select(Entry).where(Entry.id == entry_id)
    if lock:
        stmt = stmt.with_for_update(key_share=True)
    entry = (await session.execute(stmt)).scalar_one_or_none()
    if entry is None or entry.venue_id != venue.id:
        raise PodiumError(f"Entry {entry_id} is not presented in {venue.name}.", code="not_found", status_code=404)
    return entry


async def _status(session: AsyncSession, entry: Entry, status: str, reason: str = "") -> None:
    entry.status = status
    await append_event(session, "entry.status",
                       {"entry_id": entry.id, "venue_id": entry.venue_id, "status": status, "reason": reason},
                       contest_id=entry.contest_id, venue_id=entry.venue_id)


async def _timer_event(session: AsyncSession, venue: Venue) -> None:
    started = venue.timer_started_at
    await append_event(session, "timer", {
        "venue_id": venue.id, "running": started is not None,
        "started_at_ms": int(_aware(started).timestamp() * 1000) if started else None,
        "elapsed_ms": venue.timer_elapsed_ms, "duration_ms": venue.presentation_minutes * 60_000,
        "qa_ms": venue.qa_minutes * 60_000,
    }, contest_id=venue.contest_id, venue_id=venue.id)


# ------------------------------------------------------------------------------------------ host actions
async def put_on_stage(session: AsyncSession, who: Principal, venue_id: int, entry_id: int | None, *,
                       ip: str = "") -> Entry:
    """Put ``entry_id`` (or, when None, the next scheduled entry in running order) on stage."""
    venue = await load_venue(session, venue_id, lock=True)
    if entry_id is None:
        entry = (await session.execute(
            select(Entry).where(Entry.venue_id == venue.id, Entry.status == "scheduled")
            .order_by(Entry.running_order, Entry.id).limit(1))).scalar_one_or_none()
        if entry is None:
            raise PodiumError("Every entry of this venue has presented (or is absent or withdrawn).",
                              code="no_next_entry", status_code=409)
    else:
        entry = await load_entry(session, venue, entry_id, lock=True)
        if entry.id == venue.current_entry_id and entry.status == "presenting":
            return entry
        if entry.status not in ("scheduled", "absent"):
            raise PodiumError(f"{entry.code} cannot go on stage: its status is {entry.status}.",
                              code="bad_status", status_code=409, detail={"status": entry.status})
    if venue.current_entry_id is not None and venue.current_entry_id != entry.id:
        previous = await session.get(Entry, venue.current_entry_id)
        if previous is not None and previous.status == "presenting":
            await _status(session, previous, "scoring")
            await mark_unofficial_if_complete(session, previous)
    await _status(session, entry, "presenting")
    venue.current_entry_id = entry.id
    await append_event(session, "venue.current", {"venue_id": venue.id, "entry_id": entry.id},
                       contest_id=venue.contest_id, venue_id=venue.id)
    venue.timer_started_at = None
    venue.timer_elapsed_ms = 0
    await _timer_event(session, venue)
    record(session, who, "venue.on_stage", contest_id=venue.contest_id, entry_id=entry.id,
           target=f"venue:{venue.id}", ip=ip, code=entry.code)
    return entry


async def end_presentation(session: AsyncSession, who: Principal, venue_id: int, entry_id: int, *,
                           ip: str = "") -> Entry:
    venue = await load_venue(session, venue_id, lock=True)
    entry = await load_entry(session, venue, entry_id, lock=True)
    if entry.status != "presenting":
        raise PodiumError(f"{entry.code} is not presenting (status {entry.status}).", code="bad_status",
                          status_code=409)
    await _status(session, entry, "scoring")
    if venue.timer_started_at is not None:
        venue.timer_elapsed_ms += _elapsed_since(venue.timer_started_at)
        venue.timer_started_at = None
        await _timer_event(session, venue)
    record(session, who, "venue.end_presentation", contest_id=venue.contest_id, entry_id=entry.id,
           target=f"venue:{venue.id}", ip=ip)
    await mark_unofficial_if_complete(session, entry)
    return entry


async def set_attendance(session: AsyncSession, who: Principal, venue_id: int, entry_id: int, status: str,
                         reason: str, *, ip: str = "") -> Entry:
    """Mark an entry absent or withdrawn, or undo that (back to scheduled)."""
    venue = await load_venue(session, venue_id, lock=True)
    entry = await load_entry(session, venue, entry_id, lock=True)
    allowed = {"absent": ("scheduled", "presenting"), "withdrawn": ("scheduled", "presenting", "absent"),
               "scheduled": ("absent", "withdrawn")}
    if status not in allowed:
        raise PodiumError("Status must be absent, withdrawn or scheduled.", code="bad_status")
    if entry.status not in allowed[status]:
        raise PodiumError(f"{entry.code} cannot become {status}: its status is {entry.status}.",
                          code="bad_status", status_code=409, detail={"status": entry.status})
    if status == "withdrawn" and not reason.strip():
        raise PodiumError("Give a reason for the withdrawal.", code="reason_required")
    await _status(session, entry, status, reason.strip())
    if venue.current_entry_id == entry.id and status != "scheduled":
        venue.current_entry_id = None
        await append_event(session, "venue.current", {"venue_id": venue.id, "entry_id": None},
                           contest_id=venue.contest_id, venue_id=venue.id)
    record(session, who, f"entry.{status}", contest_id=venue.contest_id, entry_id=entry.id,
           target=f"venue:{venue.id}", reason=reason.strip(), ip=ip)
    return entry


class HelpResolvedOut(msgspec.Struct):
    id: int
    venue_id: int | None
    resolved_at: datetime
    resolved_by: int | None


def _open_calls() -> Any:
    return (select(HelpCall, Account.display_name).join(Account, Account.id == HelpCall.account_id)
            .where(HelpCall.resolved_at.is_(None)).order_by(HelpCall.created_at, HelpCall.id))


async def open_help_calls(session: AsyncSession, venue_id: int) -> list[tuple[HelpCall, str]]:
    """The venue's help calls nobody has marked handled yet, oldest first, with the caller's display name."""
    return [(c, name) for c, name in (await session.execute(_open_calls().where(HelpCall.venue_id == venue_id))).all()]


async def open_calls_without_venue(session: AsyncSession, contest_id: int) -> list[tuple[HelpCall, str]]:
    """Open help calls of the contest's people who sit on no panel (initial-review experts): staff only see
    these, on the monitor."""
    return [(c, name) for c, name in (await session.execute(
        _open_calls().join(Person, Person.id == Account.person_id)
        .where(HelpCall.venue_id.is_(None), Person.contest_id == contest_id))).all()]


async def _locked_call(session: AsyncSession, help_call_id: int) -> tuple[HelpCall, int | None] | None:
    """A help call (locked) and its contest: its venue's, else its caller's."""
    row = (await session.execute(
        select(HelpCall, func.coalesce(Venue.contest_id, Person.contest_id))
        .join(Account, Account.id == HelpCall.account_id)
        .outerjoin(Venue, Venue.id == HelpCall.venue_id).outerjoin(Person, Person.id == Account.person_id)
        .where(HelpCall.id == help_call_id).with_for_update(of=HelpCall, key_share=True))).first()
    return (row[0], row[1]) if row is not None else None


async def resolve_help(session: AsyncSession, who: Principal, help_call_id: int, *, venue_id: int | None = None,
                       contest_id: int | None = None, ip: str = "") -> HelpResolvedOut:
    """Mark a help call handled: one of ``venue_id`` (the venue console's route: host, chief judge, staff) or of
    ``contest_id`` (the staff monitor's: any call of the contest, those of people on no panel included). The routes
    check who may; a call elsewhere is "not found".

    Once only: a call already handled (two people pressed the button) is returned as it is, with no second event or
    audit row."""
    where = await load_venue(session, venue_id) if venue_id is not None else None
    found = await _locked_call(session, help_call_id)
    call, call_contest = found if found is not None else (None, None)
    if call is None or (where is not None and call.venue_id != where.id) or (
            contest_id is not None and call_contest != contest_id):
        place = where.name if where is not None else f"contest {contest_id}"
        raise PodiumError(f"There is no help call {help_call_id} in {place}.", code="not_found", status_code=404)
    if call.resolved_at is None:
        call.resolved_at = _now()
        call.resolved_by = who.account_id
        await append_event(session, "help.resolved", {"help_call_id": call.id, "venue_id": call.venue_id,
                                                      "by": who.display_name},
                           contest_id=call_contest, venue_id=call.venue_id)
        record(session, who, "help.resolve", contest_id=call_contest, target=f"help_call:{call.id}",
               ip=ip, venue_id=call.venue_id, caller=call.account_id)
    return HelpResolvedOut(id=call.id, venue_id=call.venue_id, resolved_at=_aware(call.resolved_at),
                           resolved_by=call.resolved_by)


def _elapsed_since(started: datetime) -> int:
    return max(0, int((_now() - _aware(started)).total_seconds() * 1000))


async def timer(session: AsyncSession, who: Principal, venue_id: int, action: str, *, ip: str = "") -> Venue:
    venue = await load_venue(session, venue_id, lock=True)
    if action == "start":
        if venue.timer_started_at is None:
            venue.timer_started_at = _now()
    elif action == "pause":
        if venue.timer_started_at is not None:
            venue.timer_elapsed_ms += _elapsed_since(venue.timer_started_at)
            venue.timer_started_at = None
    elif action == "reset":
        venue.timer_started_at = None
        venue.timer_elapsed_ms = 0
    else:
        raise PodiumError("The timer action must be start, pause or reset.", code="bad_action")
    await _timer_event(session, venue)
    record(session, who, f"timer.{action}", contest_id=venue.contest_id, entry_id=venue.current_entry_id,
           target=f"venue:{venue.id}", ip=ip, elapsed_ms=venue.timer_elapsed_ms)
    return venue


# ------------------------------------------------------------------------------------------ panel and sheets
async def panel_marks(session: AsyncSession, entry: Entry) -> list[PanelMark]:
    """The venue panel's current on-site totals for an entry (chief first), with recusals.

    One statement (the total and the recusal are correlated subqueries per panel member): it runs for every
    sheet's "panel complete?" check, every release and every console read — three round trips each before."""
    total = (
        select(SheetVersion.total).select_from(ScoreSheet)
        .join(SheetVersion, and_(SheetVersion.sheet_id == ScoreSheet.id, SheetVersion.is_current.is_(True),
                                 SheetVersion.discarded.is_(False)))
        .join(Stage, Stage.id == ScoreSheet.stage_id)
        .where(ScoreSheet.entry_id == entry.id, ScoreSheet.person_id == Person.id, Stage.kind == "onsite")
        .order_by(ScoreSheet.id.desc()).limit(1).scalar_subquery()
    )
    recused = _recused(Person.id, entry.id, entry.organization)
    rows = (await session.execute(
        select(Person.id, Person.name, PanelMember.is_chief, total, recused)
        .join(PanelMember, PanelMember.person_id == Person.id)
        .where(PanelMember.venue_id == entry.venue_id).order_by(PanelMember.is_chief.desc(), PanelMember.id)
    )).all()
    return [PanelMark(person_id=pid, name=name, total=Decimal(t) if t is not None else None, recused=bool(r),
                      is_chief=chief) for pid, name, chief, t, r in rows]


def _recused(person_id: Any, entry_id: Any, organization: Any) -> Any:
    """A judge sits out an entry they declared a conflict with, or one from an organization they have one with."""
    return exists().where(Conflict.person_id == person_id,
                          or_(Conflict.entry_id == entry_id, Conflict.organization == organization))


async def venue_recusals(session: AsyncSession, venue_id: int) -> dict[int, list[int]]:
    """Every entry's recused panel members (the rule of :func:`panel_marks`), in one statement: the venue console
    builds the panel of the entry it moves its focus to from these instead of reading it."""
    rows = (await session.execute(
        select(Entry.id, PanelMember.person_id).join(PanelMember, PanelMember.venue_id == Entry.venue_id)
        .where(Entry.venue_id == venue_id, _recused(PanelMember.person_id, Entry.id, Entry.organization))
        .order_by(Entry.id, PanelMember.is_chief.desc(), PanelMember.id))).all()
    out: dict[int, list[int]] = {}
    for entry_id, person_id in rows:
        out.setdefault(entry_id, []).append(person_id)
    return out


def missing(marks: list[PanelMark]) -> list[PanelMark]:
    return [m for m in marks if m.total is None and not m.recused]


async def mark_unofficial_if_complete(session: AsyncSession, entry: Entry) -> bool:
    if entry.status not in ("presenting", "scoring"):
        return False
    marks = await panel_marks(session, entry)
    if missing(marks) or not any(m.total is not None and not m.recused for m in marks):
        return False
    if entry.status == "presenting":
        return False  # the presentation is still on: it becomes unofficial when it ends
    await _status(session, entry, "unofficial")
    return True


def _complete_candidates() -> Any:
    """Entries among ``:ids`` in scoring whose panel is complete, as :func:`mark_unofficial_if_complete` decides
    from :func:`panel_marks` (every member not recused has a current on-site total, and at least one does): one
    statement for the whole batch, with no entity loaded."""
    member = PanelMember.__table__.alias("member")
    entry = Entry.__table__
    sheet, version, stage, conflict = (ScoreSheet.__table__, SheetVersion.__table__, Stage.__table__,
                                       Conflict.__table__)
    scored = (exists().select_from(sheet.join(stage, stage.c.id == sheet.c.stage_id).join(
        version, and_(version.c.sheet_id == sheet.c.id, version.c.is_current.is_(True),
                      version.c.discarded.is_(False))))
              .where(sheet.c.entry_id == entry.c.id, sheet.c.person_id == member.c.person_id,
                     stage.c.kind == "onsite").correlate(entry, member))
    recused = exists().where(conflict.c.person_id == member.c.person_id,
                             or_(conflict.c.entry_id == entry.c.id, conflict.c.organization == entry.c.organization)
                             ).correlate(entry, member)
    panel = member.c.venue_id == entry.c.venue_id
    return (select(entry.c.id)
            .where(entry.c.id.in_(bindparam("ids", expanding=True)), entry.c.status == "scoring",
                   ~exists().where(panel, ~scored, ~recused).correlate(entry),
                   exists().where(panel, scored, ~recused).correlate(entry))
            .order_by(entry.c.id))


_COMPLETE_CANDIDATES = _complete_candidates()


async def complete_entries(db: Database, entry_ids: list[int]) -> bool:
    """After sheet submissions: move entries whose panel is complete to ``unofficial``. True if any moved.

    Most submissions complete nothing: a read finds the candidates first, and only those take the write
    transaction (on SQLite the single writer every judge's submission also waits for), where they are checked
    again under the lock."""
    async with db.read() as session:
        candidates = list((await session.execute(_COMPLETE_CANDIDATES, {"ids": entry_ids})).scalars())
    if not candidates:
        return False

    async def tx(session: AsyncSession) -> bool:
        moved = False
        for entry_id in candidates:
            entry = (await session.execute(
                select(Entry).where(Entry.id == entry_id).with_for_update(key_share=True))).scalar()
            if entry is not None and await mark_unofficial_if_complete(session, entry):
                moved = True
        return moved

    return await db.transaction(tx)


# ------------------------------------------------------------------------------------------ release
async def released_results(session: AsyncSession, venue_id: int,
                           statuses: dict[int, str] | None = None) -> dict[int, Any]:
    """The venue's current results of entries still released or official (``statuses``: the venue's entries'
    statuses when the caller has them already, one statement fewer)."""
    rows = (await session.execute(
        select(Event.kind, Event.payload).where(Event.venue_id == venue_id,
                                                Event.kind.in_(("result.released", "result.corrected")))
        .order_by(Event.seq))).all()
    out = {}
    for kind, payload in rows:
        data = parse_data(kind, payload)
        if isinstance(data, ResultReleased | ResultCorrected):
            out[data.entry_id] = result_of(data)
    if statuses is None:
        statuses = dict((await session.execute(
            select(Entry.id, Entry.status).where(Entry.venue_id == venue_id))).all())
    return {k: v for k, v in out.items() if statuses.get(k) in RELEASED}


def may_release(who: Principal, venue_id: int) -> bool:
    return who.is_staff or venue_id in who.venues("chief_judge")


async def release(session: AsyncSession, who: Principal, venue_id: int, entry_id: int, *, reason: str = "",
                  force: bool = False, ip: str = "") -> dict[str, Any]:
    """Release (or, once released, correct) an entry's panel result. Returns the event payload."""
    if not may_release(who, venue_id):
        raise PodiumError("Only the chief judge of this venue (or staff) can release results.",
                          code="forbidden", status_code=403)
    venue = await load_venue(session, venue_id, lock=True)
    entry = await load_entry(session, venue, entry_id, lock=True)
    reason = reason.strip()
    # Every panel judge's sheet is locked before the marks are read — an empty locked one for a judge who has not
    # submitted (a forced release) — so no sheet can arrive or change between the result computed here and the
    # lock, and none after it: the screens never show a result the sheets do not match. A refused release rolls
    # the locks back with the rest of the transaction.
    from judging.sheets import lock_panel_sheets  # (judging.sheets imports this module)

    await lock_panel_sheets(session, entry, who.account_id)
    marks = await panel_marks(session, entry)
    correcting = entry.status in RELEASED
    if correcting and not reason:
        raise PodiumError("This result is already released: a correction needs a reason.", code="reason_required")
    if not correcting:
        if entry.status not in ("scoring", "unofficial", "presenting"):
            raise PodiumError(f"{entry.code} cannot be released: its status is {entry.status}.",
                              code="bad_status", status_code=409, detail={"status": entry.status})
        absent = missing(marks)
        if absent and not (force and reason):
            raise PodiumError(
                "Not every judge has submitted: " + ", ".join(m.name for m in absent)
                + ". Wait, or release anyway with a reason.",
                code="sheets_missing", status_code=409, detail={"missing": [m.person_id for m in absent]})
    try:
        outcome = panel_outcome(marks)
    except ValueError:
        raise PodiumError("There is no valid score for this entry yet.", code="no_scores", status_code=409) from None
    others = await released_results(session, venue.id)
    version = others[entry.id].version + 1 if correcting and entry.id in others else 1
    kind = "result.corrected" if correcting else "result.released"
    data_cls = ResultCorrected if correcting else ResultReleased
    payload_obj = data_cls(entry_id=entry.id, venue_id=venue.id, score=outcome.score, display=outcome.display,
                           judges=outcome.judges, n_valid=outcome.n_valid, trimmed=outcome.trimmed,
                           version=version, reason=reason)
    others[entry.id] = result_of(payload_obj)
    payload_obj.rank = competition_ranks(others).get(entry.id)
    payload = msgspec.to_builtins(payload_obj)
    payload.pop("kind", None)
    # A correction after the grade list was approved is no longer the approved result (the approved run is outdated
    # by it): released again until a new list is approved.
    entry.status = "released"
    await append_event(session, kind, payload, contest_id=entry.contest_id, venue_id=venue.id)
    record(session, who, "result.correct" if correcting else "result.release", contest_id=entry.contest_id,
           entry_id=entry.id, target=f"venue:{venue.id}", reason=reason, ip=ip, display=outcome.display,
           version=version, forced=bool(force and missing(marks)),
           totals={str(m.person_id): str(m.total) for m in marks if m.total is not None})
    return payload


def preview_of(entry_id: int, marks: list[PanelMark]) -> dict[str, Any]:
    """For the chief judge before release: missing sheets, recusals and outlier warnings of the panel's marks."""
    return {"entry_id": entry_id, "missing": [m.person_id for m in missing(marks)],
            "recused": [m.person_id for m in marks if m.recused], "outliers": outliers(marks)}
