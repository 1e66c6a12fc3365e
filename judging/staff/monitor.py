"""Monitoring snapshot of every venue, read from the database (the page refreshes it every few seconds):
now presenting, timer, panel progress (from SheetVersion rows), tablets online/offline with queued sheets
(Presence), open help calls (HelpCall; those of people on no panel apart) and outlier alerts on the entry now
presenting."""

from __future__ import annotations

from datetime import UTC, datetime
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.models import (
    Account,
    Entry,
    PanelMember,
    Person,
    Presence,
    RoleGrant,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.sheets import PRESENCE_OFFLINE_AFTER
from judging.staff.conflicts import conflicted_pairs
from judging.venue_control import open_calls_without_venue, open_help_calls

OUTLIER_POINTS = 10.0


async def snapshot(session: AsyncSession, contest_id: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    venues = (await session.execute(
        select(Venue).where(Venue.contest_id == contest_id).order_by(Venue.position, Venue.id))).scalars().all()
    stage = (await session.execute(select(Stage).where(Stage.contest_id == contest_id, Stage.kind == "onsite"))
             ).scalar_one_or_none()
    conflicted = await conflicted_pairs(session, contest_id)
    out = []
    for v in venues:
        entry = await session.get(Entry, v.current_entry_id) if v.current_entry_id else None
        members = (await session.execute(
            select(PanelMember, Person).join(Person, Person.id == PanelMember.person_id)
            .where(PanelMember.venue_id == v.id).order_by(PanelMember.is_chief.desc(), Person.id))).all()
        submitted: dict[int, float] = {}
        if entry is not None and stage is not None:
            for sheet, ver in (await session.execute(
                    select(ScoreSheet, SheetVersion).join(SheetVersion, SheetVersion.sheet_id == ScoreSheet.id)
                    .where(ScoreSheet.stage_id == stage.id, ScoreSheet.entry_id == entry.id,
                           SheetVersion.is_current, SheetVersion.discarded.is_(False)))).all():
                submitted[sheet.person_id] = float(ver.total)
        accounts = (await session.execute(
            select(Account.id, Account.display_name, Account.person_id)
            .join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.venue_id == v.id).distinct())).all()
        acc_ids = [a.id for a in accounts]
        presence = (await session.execute(select(Presence).where(Presence.account_id.in_(acc_ids)))).scalars().all() \
            if acc_ids else []
        name_of = {a.id: a.display_name for a in accounts}
        tablets = []
        for p in presence:
            seen = p.last_seen_at if p.last_seen_at.tzinfo else p.last_seen_at.replace(tzinfo=UTC)
            online = bool(p.online) and now - seen < PRESENCE_OFFLINE_AFTER
            tablets.append({"account": name_of.get(p.account_id, ""), "device": p.device_id[:8], "online": online,
                            "queued": p.queued, "last_seen": seen.isoformat(), "app_version": p.app_version})
        helps = await open_help_calls(session, v.id)
        panel = []
        for m, person in members:
            recused = entry is not None and (person.id, entry.id) in conflicted
            panel.append({"name": person.name, "chief": m.is_chief, "recused": recused,
                          "submitted": person.id in submitted})
        alerts = []
        vals = [s for pid, s in submitted.items() if entry is None or (pid, entry.id) not in conflicted]
        if len(vals) >= 3:
            med = median(vals)
            for _m, person in members:
                s = submitted.get(person.id)
                if s is not None and abs(s - med) >= OUTLIER_POINTS:
                    alerts.append({"name": person.name, "score": s, "median": med})
        elapsed = v.timer_elapsed_ms
        if v.timer_started_at is not None:
            started = v.timer_started_at if v.timer_started_at.tzinfo else v.timer_started_at.replace(tzinfo=UTC)
            elapsed += int((now - started).total_seconds() * 1000)
        out.append({
            "id": v.id, "code": v.code, "name": v.name,
            "entry": None if entry is None else {"code": entry.code, "title": entry.title, "team": entry.team,
                                                 "status": entry.status},
            "timer": {"running": v.timer_started_at is not None, "elapsed_ms": elapsed,
                      "limit_ms": (v.presentation_minutes + v.qa_minutes) * 60000},
            "panel": panel, "submitted": sum(1 for p in panel if p["submitted"]),
            "expected": sum(1 for p in panel if not p["recused"]),
            "tablets": tablets, "online": sum(1 for t in tablets if t["online"]),
            "queued": sum(t["queued"] for t in tablets),
            "help": _help_rows(helps),
            "alerts": alerts,
        })
    # Calls of people on no panel (initial-review experts at their desks): nobody but staff can see these.
    others = await open_calls_without_venue(session, contest_id)
    return {"at": now.isoformat(), "venues": out, "help": _help_rows(others)}


def _help_rows(calls: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    return [{"id": h.id, "who": name, "message": h.message, "at": h.created_at.isoformat()} for h, name in calls]
