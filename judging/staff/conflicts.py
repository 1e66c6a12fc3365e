"""Conflicts of interest (回避): automatic (same organization; same recommending unit, configurable), declared by
a judge, or added by staff — always with a reason. :func:`conflicted_pairs` is what assignment, grading and the
import checks use to enforce them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.models import Conflict, Contest, Entry, Person

SAME_ORG_REASON = "与成果单位相同（同单位回避）"
SAME_UNIT_REASON = "与成果推荐单位相同（同推荐单位回避）"


@dataclass(frozen=True)
class ConflictView:
    id: int
    person_id: int
    person: str
    entry_id: int | None
    entry: str
    organization: str | None
    source: str
    reason: str


async def list_conflicts(session: AsyncSession, contest_id: int) -> list[ConflictView]:
    rows = (await session.execute(
        select(Conflict, Person, Entry).join(Person, Person.id == Conflict.person_id)
        .outerjoin(Entry, Entry.id == Conflict.entry_id)
        .where(Person.contest_id == contest_id).order_by(Person.name, Conflict.id)
    )).all()
    return [ConflictView(c.id, p.id, p.name, c.entry_id, f"{e.code} {e.title}" if e else "", c.organization,
                         c.source, c.reason) for c, p, e in rows]


def same_unit_enabled(contest: Contest) -> bool:
    return bool((contest.grade_rule or {}).get("coi_same_recommending_unit", False))


async def conflicted_pairs(session: AsyncSession, contest_id: int) -> dict[tuple[int, int], str]:
    """{(person_id, entry_id): reason} for every conflicted person x entry of the contest."""
    entries = (await session.execute(select(Entry).where(Entry.contest_id == contest_id))).scalars().all()
    by_org: dict[str, list[int]] = {}
    for e in entries:
        by_org.setdefault(e.organization, []).append(e.id)
    out: dict[tuple[int, int], str] = {}
    rows = (await session.execute(
        select(Conflict).join(Person, Person.id == Conflict.person_id).where(Person.contest_id == contest_id)
    )).scalars().all()
    for c in rows:
        if c.entry_id is not None:
            out.setdefault((c.person_id, c.entry_id), c.reason)
        if c.organization:
            for eid in by_org.get(c.organization, []):
                out.setdefault((c.person_id, eid), c.reason)
    return out


async def detect_automatic(session: AsyncSession, contest_id: int, *, same_unit: bool | None = None,
                           account_id: int | None = None) -> int:
    """Add the automatic conflicts that are missing; returns how many were added (idempotent)."""
    contest = await session.get(Contest, contest_id)
    if contest is None:
        return 0
    if same_unit is None:
        same_unit = same_unit_enabled(contest)
    people = (await session.execute(select(Person).where(Person.contest_id == contest_id))).scalars().all()
    entries = (await session.execute(select(Entry).where(Entry.contest_id == contest_id))).scalars().all()
    existing = (await session.execute(
        select(Conflict).join(Person, Person.id == Conflict.person_id).where(Person.contest_id == contest_id)
    )).scalars().all()
    have_org = {(c.person_id, c.organization) for c in existing if c.organization}
    have_entry = {(c.person_id, c.entry_id) for c in existing if c.entry_id}
    # An automatic conflict staff removed (with a reason, in the audit log) stays removed: detection and every
    # judge import would otherwise add it back silently. Staff add it by hand to restore it.
    dismissed_org, dismissed_entry = await dismissed_automatic(session, contest_id)
    have_org |= dismissed_org
    have_entry |= dismissed_entry
    orgs = {e.organization for e in entries if e.organization}
    added = 0
    for p in people:
        if p.organization and p.organization in orgs and (p.id, p.organization) not in have_org:
            session.add(Conflict(person_id=p.id, organization=p.organization, source="auto",
                                 reason=SAME_ORG_REASON, created_by=account_id))
            have_org.add((p.id, p.organization))
            added += 1
        if same_unit and p.recommending_unit:
            for e in entries:
                if e.recommending_unit == p.recommending_unit and (p.id, e.id) not in have_entry:
                    session.add(Conflict(person_id=p.id, entry_id=e.id, source="auto", reason=SAME_UNIT_REASON,
                                         created_by=account_id))
                    have_entry.add((p.id, e.id))
                    added += 1
    await session.flush()
    return added


async def dismissed_automatic(session: AsyncSession, contest_id: int
                              ) -> tuple[set[tuple[int, str]], set[tuple[int, int]]]:
    """(person, organization) and (person, entry) pairs of automatic conflicts staff removed (``conflict.delete``
    in the audit log, which keeps what was removed)."""
    from judging.db.models import AuditLog

    orgs: set[tuple[int, str]] = set()
    entries: set[tuple[int, int]] = set()
    for a in (await session.execute(select(AuditLog).where(
            AuditLog.action == "conflict.delete", AuditLog.contest_id == contest_id))).scalars():
        was = (a.detail or {}).get("was") or {}
        if was.get("source") != "auto" or not a.target.startswith("person:"):
            continue
        person_id = int(a.target.split(":", 1)[1])
        if was.get("organization"):
            orgs.add((person_id, str(was["organization"])))
        elif a.entry_id is not None:
            entries.add((person_id, a.entry_id))
    return orgs, entries


async def add_conflict(session: AsyncSession, contest_id: int, person_id: int, *, entry_id: int | None = None,
                       organization: str | None = None, reason: str, source: str = "staff",
                       account_id: int | None = None) -> Conflict:
    person = await session.get(Person, person_id)
    if person is None or person.contest_id != contest_id:
        raise ValueError("no such person in this contest")
    if entry_id is not None:
        entry = await session.get(Entry, entry_id)
        if entry is None or entry.contest_id != contest_id:
            raise ValueError("no such entry in this contest")
    if entry_id is None and not organization:
        raise ValueError("a conflict needs an entry or an organization")
    if not reason.strip():
        raise ValueError("a conflict needs a reason")
    c = Conflict(person_id=person_id, entry_id=entry_id, organization=organization or None, source=source,
                 reason=reason.strip()[:300], created_by=account_id)
    session.add(c)
    await session.flush()
    return c
