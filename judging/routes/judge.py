"""Judge and reviewer routes: who am I, which venue, which entries (conflicts shown as 回避)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get
from litestar.response import Template
from sqlalchemy import select

from judging.auth import Principal, requires_judge
from judging.db.models import Conflict, Entry, PanelMember, Person, ReviewerAssignment, Venue
from judging.web import principal_of, render


class EntryBrief(msgspec.Struct):
    id: int
    code: str
    title: str
    team: str
    organization: str
    status: str
    running_order: int | None
    conflicted: bool


class VenueBrief(msgspec.Struct):
    id: int
    name: str
    is_chief: bool
    current_entry_id: int | None


class JudgeHome(msgspec.Struct):
    account_id: int
    name: str
    person_id: int | None
    venues: list[VenueBrief]
    panel_entries: list[EntryBrief]
    review_entries: list[EntryBrief]


async def conflicted_entry_ids(session: Any, person_id: int, entries: list[Entry]) -> set[int]:
    """Entries this person must not score: a conflict on the entry, or on its organization."""
    rows = (await session.execute(select(Conflict).where(Conflict.person_id == person_id))).scalars().all()
    by_entry = {c.entry_id for c in rows if c.entry_id is not None}
    by_org = {c.organization for c in rows if c.organization}
    return {e.id for e in entries if e.id in by_entry or e.organization in by_org}


async def judge_home_data(session: Any, p: Principal) -> JudgeHome:
    venues: list[VenueBrief] = []
    panel: list[Entry] = []
    review: list[Entry] = []
    if p.person_id is not None:
        members = (await session.execute(
            select(PanelMember, Venue).join(Venue, Venue.id == PanelMember.venue_id)
            .where(PanelMember.person_id == p.person_id).order_by(Venue.position)
        )).all()
        venues = [VenueBrief(v.id, v.name, m.is_chief, v.current_entry_id) for m, v in members]
        if venues:
            panel = list((await session.execute(
                select(Entry).where(Entry.venue_id.in_([v.id for v in venues]))
                .order_by(Entry.venue_id, Entry.running_order, Entry.id)
            )).scalars())
        review = list((await session.execute(
            select(Entry).join(ReviewerAssignment, ReviewerAssignment.entry_id == Entry.id)
            .where(ReviewerAssignment.person_id == p.person_id).order_by(Entry.code)
        )).scalars())
        conflicted = await conflicted_entry_ids(session, p.person_id, panel + review)
    else:
        conflicted = set()

    def brief(e: Entry) -> EntryBrief:
        return EntryBrief(e.id, e.code, e.title, e.team, e.organization, e.status, e.running_order,
                          e.id in conflicted)

    return JudgeHome(p.account_id, p.display_name, p.person_id, venues, [brief(e) for e in panel],
                     [brief(e) for e in review])


def _me(request: Request[Any, Any, Any]) -> Principal:
    p = principal_of(request)
    assert p is not None  # the router's guard guarantees it
    return p


@get("/api/judge/home", summary="The judge's venues and entries", tags=["judge"])
async def judge_home_api(request: Request[Any, Any, Any]) -> JudgeHome:
    """Entries the judge may score; conflicted ones are flagged and must not be opened.

    Never carries any judge's score values.
    """
    async with request.app.state.db.read() as session:
        return await judge_home_data(session, _me(request))


@get("/judge", include_in_schema=False)
async def judge_page(request: Request[Any, Any, Any]) -> Template:
    async with request.app.state.db.read() as session:
        home = await judge_home_data(session, _me(request))
        person = await session.get(Person, home.person_id) if home.person_id else None
    return render(request, "judge/home.html", home=home, person=person)


router = Router(path="/", route_handlers=[judge_home_api, judge_page], guards=[requires_judge], tags=["judge"])
