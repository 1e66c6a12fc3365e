"""Judge and reviewer routes: the tablet page, the judge state, submitting sheets, heartbeat, help, history.

The service logic lives in :mod:`judging.sheets`; handlers here are thin. Every response carries only the
caller's own score values (other judges' values are never sent before release).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from sqlalchemy import select

from judging import sheets
from judging.auth import Principal, requires_judge
from judging.db.models import Entry, PanelMember, Person, ReviewerAssignment, Venue
from judging.errors import PodiumError
from judging.staff.conflicts import conflicted_pairs
from judging.web import client_ip, principal_of, render


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
    """Entries this person must not score (the contest's one conflict rule: judging.staff.conflicts)."""
    person = await session.get(Person, person_id)
    if person is None:
        return set()
    pairs = await conflicted_pairs(session, person.contest_id)
    return {e.id for e in entries if (person_id, e.id) in pairs}


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


@get("/api/judge/state", summary="The judge's state: venue, now presenting, entries, rubrics, own sheets",
     tags=["judge"])
async def judge_state_api(request: Request[Any, Any, Any]) -> Response[sheets.JudgeState]:
    """Everything the tablet needs, polled every few seconds: the venues the judge sits on with the entry now
    presenting, the entries they may score (panel entries ``stage=onsite``, initial-review assignments
    ``stage=initial``; conflicted ones flagged and without rubric), the frozen rubric of each, and the judge's
    OWN sheets (current version, values, time, locked). Never carries another judge's values."""
    async with request.app.state.db.read() as session:
        state = await sheets.judge_state(session, _me(request))
    return Response(state, headers={"Cache-Control": "no-store"})


@post("/api/judge/sheets", summary="Submit a score sheet (exactly once)", tags=["judge"], status_code=201)
async def submit_sheet(request: Request[Any, Any, Any], data: JSONBody[sheets.SubmitIn]) -> Response[sheets.Receipt]:
    """Submit or correct a sheet. ``201`` with a receipt for a new version; ``200`` with the ORIGINAL receipt
    when the ``client_submission_id`` was seen before (a retry). Refusals: ``409 stale_version`` (the edit's
    ``base_version`` is not the current version; ``detail.current_version``), ``423 sheet_locked``,
    ``403 not_your_venue | not_assigned | conflicted``, ``422 items_missing | item_unknown | item_not_number |
    item_out_of_range | item_off_step``, ``401`` when the login link was revoked. An ``Idempotency-Key`` header,
    if sent, must equal the body's id."""
    key = request.headers.get("idempotency-key")
    if key is not None and key.lower() != data.client_submission_id.lower():
        raise PodiumError("The Idempotency-Key header differs from client_submission_id; send the same id in both.",
                          code="idempotency_key_mismatch", status_code=400)
    receipt, created = await sheets.submit(request.app.state.db, request.app, _me(request), data,
                                           ip=client_ip(request))
    return Response(receipt, status_code=201 if created else 200, headers={"Cache-Control": "no-store"})


@get("/api/judge/sheets/{sheet_id:int}/history", summary="Every version of a sheet", tags=["judge"])
async def sheet_history_api(request: Request[Any, Any, Any], sheet_id: FromPath[int]) -> sheets.SheetHistory:
    """All versions with values, total, who (account), when (server time), device and IP address. For the
    sheet's own judge and staff (and the venue's chief judge after the result is released)."""
    async with request.app.state.db.read() as session:
        return await sheets.sheet_history(session, _me(request), sheet_id)


@post("/api/judge/heartbeat", summary="Tablet heartbeat", tags=["judge"], status_code=200)
async def heartbeat_api(request: Request[Any, Any, Any], data: JSONBody[sheets.HeartbeatIn]) -> sheets.HeartbeatOut:
    """Device id, app version, number of queued sheets and online state, so the chief judge sees whose
    tablet is offline or holding queued sheets."""
    return await sheets.heartbeat(request.app.state.db, request.app, _me(request), data)


@post("/api/judge/help", summary="Call for help (需要帮助)", tags=["judge"], status_code=201)
async def help_api(request: Request[Any, Any, Any], data: JSONBody[sheets.HelpIn]) -> sheets.HelpOut:
    """Notify the chief judge and staff of the venue (event ``help.called``). A second call within a minute
    returns the same open call."""
    return await sheets.call_help(request.app.state.db, request.app, _me(request), data, ip=client_ip(request))


@get("/api/judge/help/{help_call_id:int}", summary="One of my help calls: open or handled", tags=["judge"])
async def help_status_api(request: Request[Any, Any, Any], help_call_id: FromPath[int]) -> sheets.HelpOut:
    """The caller's own call, with ``resolved_at`` once the chief judge, the host or staff marked it handled.
    The tablet asks every few seconds while its call is open; another person's call is 404 ``not_found``."""
    async with request.app.state.db.read() as session:
        return await sheets.help_status(session, _me(request), help_call_id)


@get("/judge", include_in_schema=False)
async def judge_page(request: Request[Any, Any, Any]) -> Template:
    """The tablet page (评分): server-rendered shell and first state; ``tablet.js`` keeps it live."""
    async with request.app.state.db.read() as session:
        state = await sheets.judge_state(session, _me(request))
        person = await session.get(Person, state.person_id) if state.person_id else None
    boot = msgspec.to_builtins(state)
    page = render(request, "judge/tablet.html", state=state, person=person, boot=boot)
    # The page carries the judge's own scores: on a shared tablet, Back after a logout must not show them.
    page.headers["Cache-Control"] = "no-store"
    return page


@get("/judge/guide", include_in_schema=False)
async def judge_guide(request: Request[Any, Any, Any]) -> Template:
    """The judge's one-page guide (docs/judge-guide.md), reachable from the tablet page."""
    return render(request, "judge/guide.html", guide_html=_guide_html())


def _guide_html() -> str:
    from markdown_it import MarkdownIt

    if not GUIDE.is_file():
        raise PodiumError("The judge guide is not installed with this copy of Podium.", code="not_found",
                          status_code=404)
    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(GUIDE.read_text(encoding="utf-8")))


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "judge-guide.md"

router = Router(
    path="/",
    route_handlers=[judge_home_api, judge_state_api, submit_sheet, sheet_history_api, heartbeat_api, help_api,
                    help_status_api, judge_page, judge_guide],
    guards=[requires_judge], tags=["judge"],
)
