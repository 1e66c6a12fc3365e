"""Assignment: judges to venue panels (with a chief judge), entries to venues (by hand, or stratified random by
topic type with a recorded seed), reviewers to entries (>= 2 each, balanced, conflicts avoided), and the
connectivity check that tells staff whether venues are linked by shared judges or anchors.

See shared/reference/score-calibration.md: stratified randomisation is the cheapest calibration there is, and
cross-venue comparison needs a connected design.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.models import (
    Account,
    Entry,
    PanelMember,
    Person,
    ReviewerAssignment,
    RoleGrant,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.errors import Refusal
from judging.staff.conflicts import conflicted_pairs


class AssignmentError(Refusal):
    """A refused assignment: an English catalog template and its parameters (``str()`` is the English text; the
    staff console shows it in the viewer's language)."""


# --------------------------------------------------------------------------------------------------
# Accounts and panels
# --------------------------------------------------------------------------------------------------
async def ensure_account(session: AsyncSession, contest_id: int, person: Person, *, reviewer: bool = False) -> Account:
    """The login account of a judge or reviewer (created on first need), with the reviewer role if asked."""
    account = (await session.execute(select(Account).where(Account.person_id == person.id))).scalars().first()
    if account is None:
        account = Account(display_name=person.name, person_id=person.id)
        session.add(account)
        await session.flush()
    if reviewer:
        await _grant(session, account.id, "reviewer", contest_id, None)
    return account


async def reviewer_progress(session: AsyncSession, contest_id: int) -> dict[int, int]:
    """person id -> entries of their assignment with a submitted initial-review sheet (a current version)."""
    rows = await session.execute(
        select(ScoreSheet.person_id, func.count(func.distinct(ScoreSheet.entry_id)))
        .join(Stage, Stage.id == ScoreSheet.stage_id)
        .join(SheetVersion, (SheetVersion.sheet_id == ScoreSheet.id) & SheetVersion.is_current.is_(True))
        .join(ReviewerAssignment, (ReviewerAssignment.entry_id == ScoreSheet.entry_id)
              & (ReviewerAssignment.person_id == ScoreSheet.person_id))
        .where(Stage.contest_id == contest_id, Stage.kind == "initial")
        .group_by(ScoreSheet.person_id))
    return {int(person): int(n) for person, n in rows}


NAME_MAX = 100  # Account.display_name
VENUE_ACCOUNTS = (("host", "主持人"), ("display", "大屏"))
"""The logins every venue has besides its judges: the host's console (主持人) and the venue's screen (大屏)."""


async def ensure_venue_accounts(session: AsyncSession, venue: Venue, *, old_name: str | None = None) -> list[Account]:
    """The venue's host and screen accounts, created when the venue has none, so its QR sheets always carry a host
    card and a screen card. Named after the venue ("第一分会场主持人"); a renamed venue (``old_name``) renames the
    ones that still carry the old default name."""
    # The venue's row is locked first: two first prints of an older venue's sheet at once (a double click, two
    # staff) would otherwise both find no host account on PostgreSQL and create two (SQLite has one writer).
    await session.execute(select(Venue.id).where(Venue.id == venue.id).with_for_update())
    out = []
    for role, label in VENUE_ACCOUNTS:
        account = (await session.execute(
            select(Account).join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.role == role, RoleGrant.venue_id == venue.id).order_by(Account.id).limit(1)
        )).scalar_one_or_none()
        if account is None:
            account = Account(display_name=f"{venue.name}{label}"[:NAME_MAX])
            session.add(account)
            await session.flush()
            await _grant(session, account.id, role, venue.contest_id, venue.id)
        elif old_name is not None and account.display_name == f"{old_name}{label}"[:NAME_MAX]:
            account.display_name = f"{venue.name}{label}"[:NAME_MAX]
        out.append(account)
    return out


async def _grant(session: AsyncSession, account_id: int, role: str, contest_id: int, venue_id: int | None) -> None:
    stmt = select(RoleGrant.id).where(RoleGrant.account_id == account_id, RoleGrant.role == role,
                                      RoleGrant.contest_id == contest_id)
    stmt = stmt.where(RoleGrant.venue_id.is_(None) if venue_id is None else RoleGrant.venue_id == venue_id)
    if await session.scalar(stmt) is None:
        session.add(RoleGrant(account_id=account_id, role=role, contest_id=contest_id, venue_id=venue_id))
        await session.flush()


async def _ungrant(session: AsyncSession, account_id: int, role: str, venue_id: int) -> None:
    await session.execute(delete(RoleGrant).where(RoleGrant.account_id == account_id, RoleGrant.role == role,
                                                  RoleGrant.venue_id == venue_id))


async def set_panel_member(session: AsyncSession, contest_id: int, venue_id: int, person_id: int, *,
                           chief: bool = False) -> PanelMember:
    venue = await session.get(Venue, venue_id)
    person = await session.get(Person, person_id)
    if venue is None or venue.contest_id != contest_id or person is None or person.contest_id != contest_id:
        raise AssignmentError("venue or person is not in this contest")
    member = (await session.execute(select(PanelMember).where(
        PanelMember.venue_id == venue_id, PanelMember.person_id == person_id))).scalar_one_or_none()
    if member is None:
        member = PanelMember(venue_id=venue_id, person_id=person_id, is_chief=False)
        session.add(member)
        await session.flush()
    account = await ensure_account(session, contest_id, person)
    await _grant(session, account.id, "judge", contest_id, venue_id)
    if chief and not member.is_chief:
        await set_chief(session, contest_id, venue_id, person_id)
    return member


async def set_chief(session: AsyncSession, contest_id: int, venue_id: int, person_id: int) -> None:
    members = (await session.execute(select(PanelMember).where(PanelMember.venue_id == venue_id))).scalars().all()
    target = next((m for m in members if m.person_id == person_id), None)
    if target is None:
        raise AssignmentError("the chief judge must be on the venue's panel")
    for m in members:
        if m.is_chief and m.person_id != person_id:
            m.is_chief = False
            acc = (await session.execute(select(Account).where(Account.person_id == m.person_id))).scalars().first()
            if acc is not None:
                await _ungrant(session, acc.id, "chief_judge", venue_id)
    await session.flush()
    target.is_chief = True
    await session.flush()
    person = await session.get(Person, person_id)
    assert person is not None
    account = await ensure_account(session, contest_id, person)
    await _grant(session, account.id, "chief_judge", contest_id, venue_id)


async def remove_panel_member(session: AsyncSession, contest_id: int, venue_id: int, person_id: int) -> None:
    venue = await session.get(Venue, venue_id)
    if venue is None or venue.contest_id != contest_id:
        raise AssignmentError("venue or person is not in this contest")
    member = (await session.execute(select(PanelMember).where(
        PanelMember.venue_id == venue_id, PanelMember.person_id == person_id))).scalar_one_or_none()
    if member is None:
        raise AssignmentError("this person is not on the venue's panel")
    await session.delete(member)
    acc = (await session.execute(select(Account).where(Account.person_id == person_id))).scalars().first()
    if acc is not None:
        await _ungrant(session, acc.id, "judge", venue_id)
        await _ungrant(session, acc.id, "chief_judge", venue_id)
    await session.flush()


# --------------------------------------------------------------------------------------------------
# Entries to venues
# --------------------------------------------------------------------------------------------------
@dataclass
class VenuePlan:
    seed: int
    placement: dict[int, tuple[int, int]]  # entry id -> (venue id, running order)
    per_venue: dict[int, dict[int, int]] = field(default_factory=dict)  # venue -> topic type -> count
    conflicts: int = 0


def stratified_plan(entries: list[Entry], venue_ids: list[int], seed: int,
                    conflicted: dict[int, set[int]] | None = None) -> VenuePlan:
    """Stratified random assignment: within each topic type, shuffled entries are dealt to the venues with the
    fewest entries of that type (then fewest overall, then fewest conflicted panel judges). Deterministic for
    a given seed, entry set and venue set. Running order is random within each venue."""
    if not venue_ids:
        raise AssignmentError("the contest has no venues")
    rng = random.Random(seed)
    conflicted = conflicted or {}
    strata: dict[int, list[Entry]] = defaultdict(list)
    for e in sorted(entries, key=lambda e: e.id):
        strata[e.topic_type_id].append(e)
    load = {v: 0 for v in venue_ids}
    per: dict[int, dict[int, int]] = {v: defaultdict(int) for v in venue_ids}
    chosen: dict[int, int] = {}
    n_conf = 0
    for tt in sorted(strata):
        items = strata[tt]
        rng.shuffle(items)
        for e in items:
            bad = conflicted.get(e.id, set())
            venue = min(venue_ids, key=lambda v: (per[v][tt], load[v], v in bad, rng.random()))
            chosen[e.id] = venue
            load[venue] += 1
            per[venue][tt] += 1
            n_conf += venue in bad
    placement: dict[int, tuple[int, int]] = {}
    for v in venue_ids:
        ids = sorted(eid for eid, vv in chosen.items() if vv == v)
        rng.shuffle(ids)
        for k, eid in enumerate(ids, start=1):
            placement[eid] = (v, k)
    return VenuePlan(seed, placement, {v: dict(d) for v, d in per.items()}, n_conf)


async def venue_conflicts(session: AsyncSession, contest_id: int) -> dict[int, set[int]]:
    """entry id -> venues whose panel holds a judge conflicted with the entry."""
    pairs = await conflicted_pairs(session, contest_id)
    members = (await session.execute(
        select(PanelMember).join(Venue, Venue.id == PanelMember.venue_id).where(Venue.contest_id == contest_id)
    )).scalars().all()
    venues_of: dict[int, set[int]] = defaultdict(set)
    for m in members:
        venues_of[m.person_id].add(m.venue_id)
    out: dict[int, set[int]] = defaultdict(set)
    for (pid, eid) in pairs:
        out[eid] |= venues_of.get(pid, set())
    return out


async def assign_entries_random(session: AsyncSession, contest_id: int, seed: int) -> VenuePlan:
    entries = list((await session.execute(select(Entry).where(
        Entry.contest_id == contest_id, Entry.status.notin_(("withdrawn",))))).scalars())
    venue_ids = [v.id for v in (await session.execute(
        select(Venue).where(Venue.contest_id == contest_id).order_by(Venue.position, Venue.id))).scalars()]
    plan = stratified_plan(entries, venue_ids, seed, await venue_conflicts(session, contest_id))
    by_id = {e.id: e for e in entries}
    for eid, (vid, order) in plan.placement.items():
        by_id[eid].venue_id = vid
        by_id[eid].running_order = order
    await session.flush()
    return plan


async def assign_entry(session: AsyncSession, contest_id: int, entry_id: int, venue_id: int | None,
                       running_order: int | None) -> Entry:
    entry = await session.get(Entry, entry_id)
    if entry is None or entry.contest_id != contest_id:
        raise AssignmentError("no such entry in this contest")
    if running_order is not None and not 1 <= running_order <= 999:
        raise AssignmentError("the running order is a number from 1 to 999")
    if venue_id is not None:
        venue = await session.get(Venue, venue_id)
        if venue is None or venue.contest_id != contest_id:
            raise AssignmentError("no such venue in this contest")
    entry.venue_id = venue_id
    entry.running_order = running_order
    await session.flush()
    return entry


# --------------------------------------------------------------------------------------------------
# Reviewers to entries
# --------------------------------------------------------------------------------------------------
@dataclass
class ReviewerPlan:
    seed: int
    pairs: list[tuple[int, int]]  # (entry id, person id)
    load: dict[int, int]
    short: list[int]  # entries that could not get enough non-conflicted reviewers


def reviewer_plan(entry_ids: list[int], reviewer_ids: list[int], per_entry: int, seed: int,
                  conflicted: set[tuple[int, int]], existing: dict[int, set[int]] | None = None) -> ReviewerPlan:
    """Give every entry ``per_entry`` reviewers: least-loaded first, never a conflicted one, seeded ties."""
    rng = random.Random(seed)
    existing = existing or {}
    load = {r: 0 for r in reviewer_ids}
    for rs in existing.values():
        for r in rs:
            if r in load:
                load[r] += 1
    order = sorted(entry_ids)
    rng.shuffle(order)
    pairs: list[tuple[int, int]] = []
    short: list[int] = []
    for eid in order:
        have = set(existing.get(eid, set()))
        while len(have) < per_entry:
            cands = [r for r in reviewer_ids if r not in have and (r, eid) not in conflicted]
            if not cands:
                short.append(eid)
                break
            r = min(cands, key=lambda r: (load[r], rng.random()))
            have.add(r)
            load[r] += 1
            pairs.append((eid, r))
    return ReviewerPlan(seed, pairs, load, short)


async def assign_reviewers(session: AsyncSession, contest_id: int, per_entry: int, seed: int) -> ReviewerPlan:
    if per_entry < 2:
        raise AssignmentError("each entry needs at least 2 reviewers")
    entries = [e.id for e in (await session.execute(select(Entry).where(
        Entry.contest_id == contest_id, Entry.status != "withdrawn"))).scalars()]
    reviewers = sorted({pid for pid in (await session.execute(
        select(Account.person_id).join(RoleGrant, Account.id == RoleGrant.account_id)
        .where(RoleGrant.role == "reviewer", RoleGrant.contest_id == contest_id))).scalars() if pid is not None})
    if len(reviewers) < per_entry:
        raise AssignmentError("only {have} reviewers; {need} are needed per entry", have=len(reviewers),
                              need=per_entry)
    existing: dict[int, set[int]] = defaultdict(set)
    for ra in (await session.execute(select(ReviewerAssignment).join(Entry, Entry.id == ReviewerAssignment.entry_id)
                                     .where(Entry.contest_id == contest_id))).scalars():
        existing[ra.entry_id].add(ra.person_id)
    pairs = set((await conflicted_pairs(session, contest_id)).keys())
    plan = reviewer_plan(entries, reviewers, per_entry, seed, pairs, existing)
    for eid, pid in plan.pairs:
        session.add(ReviewerAssignment(entry_id=eid, person_id=pid))
    await session.flush()
    return plan


# --------------------------------------------------------------------------------------------------
# Connectivity
# --------------------------------------------------------------------------------------------------
@dataclass
class Connectivity:
    components: list[list[int]]  # venue ids per linked group
    shared_judges: dict[int, list[int]]  # person id -> venue ids (judges on several panels)
    anchors: dict[int, list[int]]  # entry id -> venue ids whose judges scored it
    suggestions: list[tuple[int, int, int]]  # (person id, from venue, to venue): rotate to link groups
    person_names: dict[int, str] = field(default_factory=dict)
    venue_names: dict[int, str] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        return len(self.components) <= 1


async def connectivity(session: AsyncSession, contest_id: int) -> Connectivity:
    venues = [v.id for v in (await session.execute(
        select(Venue).where(Venue.contest_id == contest_id).order_by(Venue.position, Venue.id))).scalars()]
    members = (await session.execute(select(PanelMember).where(PanelMember.venue_id.in_(venues)))).scalars().all()
    venues_of: dict[int, set[int]] = defaultdict(set)
    panel: dict[int, list[PanelMember]] = defaultdict(list)
    for m in members:
        venues_of[m.person_id].add(m.venue_id)
        panel[m.venue_id].append(m)
    parent = {v: v for v in venues}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    shared = {p: sorted(vs) for p, vs in venues_of.items() if len(vs) > 1}
    for vs in shared.values():
        for v in vs[1:]:
            union(vs[0], v)
    # Anchors: an on-site entry scored by judges from two or more venues' panels.
    anchors: dict[int, list[int]] = {}
    stage = (await session.execute(select(Stage).where(Stage.contest_id == contest_id, Stage.kind == "onsite"))
             ).scalar_one_or_none()
    if stage is not None:
        scored: dict[int, set[int]] = defaultdict(set)
        for sheet in (await session.execute(select(ScoreSheet).where(ScoreSheet.stage_id == stage.id))).scalars():
            scored[sheet.entry_id] |= venues_of.get(sheet.person_id, set())
        for eid, vs in scored.items():
            if len(vs) > 1:
                anchors[eid] = sorted(vs)
                for v in sorted(vs)[1:]:
                    union(min(vs), v)
    groups: dict[int, list[int]] = defaultdict(list)
    for v in venues:
        groups[find(v)].append(v)
    components = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    suggestions: list[tuple[int, int, int]] = []
    for a, b in itertools.pairwise(components):
        # Rotate a non-chief judge of the first venue of group a into the first venue of group b.
        src, dst = a[0], b[0]
        cands = [m for m in panel.get(src, []) if not m.is_chief and dst not in venues_of[m.person_id]]
        cands = cands or panel.get(src, [])
        if cands:
            suggestions.append((sorted(cands, key=lambda m: m.person_id)[0].person_id, src, dst))
    names = {p.id: p.name for p in (await session.execute(
        select(Person).where(Person.contest_id == contest_id))).scalars()}
    vnames = {v.id: v.name for v in (await session.execute(select(Venue).where(Venue.contest_id == contest_id)))
              .scalars()}
    return Connectivity(components, shared, anchors, suggestions, names, vnames)
