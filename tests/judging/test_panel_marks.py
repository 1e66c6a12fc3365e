"""``panel_marks``: the panel's current on-site totals and recusals that release, the "panel complete?" check and
the venue console all read (one statement since the fifth stop; these pin what it returns)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from judging.db.models import Entry
from judging.settings import Settings
from judging.venue_control import missing, panel_marks
from tests.conftest import run_db
from tests.judging.sheet_helpers import Panel, good_values, panel, sheet_body


@pytest.fixture
def p(settings: Settings, demo: int) -> Panel:
    return panel(settings)


def _marks(settings: Settings, entry_id: int) -> list[Any]:
    async def go(session: Any) -> list[Any]:
        entry = (await session.execute(select(Entry).where(Entry.id == entry_id))).scalar_one()
        return await panel_marks(session, entry)

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_current_totals_recusals_and_chief_first(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    entry = p.entries[0]  # judge 2 is conflicted with it through the organization
    totals: dict[int, Decimal] = {}
    for judge in (p.judges[1], p.judges[4]):
        r = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=judge.headers)
        assert r.status_code == 201, r.text
        totals[judge.person_id] = Decimal(r.json()["total"])
    first = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=p.judges[0].headers).json()
    corrected = sheet_body(p, entry, base_version=first["version"],
                           values=good_values(p.items[entry], Decimal("0.6")))
    r = client.post("/api/judge/sheets", json=corrected, headers=p.judges[0].headers)
    assert r.status_code == 201, r.text
    totals[p.judges[0].person_id] = Decimal(r.json()["total"])
    assert totals[p.judges[0].person_id] != Decimal(first["total"])

    marks = _marks(settings, entry)
    assert [m.person_id for m in marks] == [j.person_id for j in p.judges]  # chief first, then panel order
    assert [m.is_chief for m in marks] == [True] + [False] * (len(p.judges) - 1)
    assert {m.person_id for m in marks if m.recused} == {p.judges[2].person_id}
    assert {m.person_id: m.total for m in marks if m.total is not None} == totals  # the corrected one counts
    assert {m.person_id for m in missing(marks)} == {p.judges[3].person_id} | {
        j.person_id for j in p.judges[5:]}


def test_declared_conflict_and_no_sheets(p: Panel, settings: Settings) -> None:
    marks = _marks(settings, p.entries[4])  # judge 3 declared a conflict with it
    assert {m.person_id for m in marks if m.recused} == {p.judges[3].person_id}
    assert all(m.total is None for m in marks)
    assert len(missing(marks)) == len(p.judges) - 1


def test_console_preview_is_the_panel_marks(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    """The chief judge's console shows the focus entry's missing sheets and recusals from the same marks it lists
    (one read since the eighth stop; it read them twice before)."""
    entry = p.entries[0]
    r = client.post(f"/api/venue/{p.venue_id}/stage", json={"entry_id": entry}, headers=p.judges[0].headers)
    assert r.status_code == 200, r.text
    for judge in (p.judges[0], p.judges[1]):
        r = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=judge.headers)
        assert r.status_code == 201, r.text
    state = client.get(f"/api/venue/{p.venue_id}/control?entry_id={entry}", headers=p.judges[0].headers).json()
    marks = _marks(settings, entry)
    assert state["can_release"] is True and state["focus_entry_id"] == entry
    assert state["preview"]["entry_id"] == entry
    assert state["preview"]["missing"] == [m.person_id for m in missing(marks)]
    assert state["preview"]["recused"] == [m.person_id for m in marks if m.recused] == [p.judges[2].person_id]
    assert [(row["person_id"], row["submitted"], row["recused"]) for row in state["panel"]] == [
        (m.person_id, m.total is not None, m.recused) for m in marks]


def _events_after(settings: Settings, seq: int) -> list[tuple[int, str]]:
    from judging.db.models import Event

    async def go(session: Any) -> list[tuple[int, str]]:
        return [(r.seq, r.kind) for r in (await session.execute(
            select(Event.seq, Event.kind).where(Event.seq > seq).order_by(Event.seq))).all()]

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_console_state_carries_the_event_head(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    """``ControlState.seq`` is the event log's head the state reflects: the console skips the feed's events at or
    below it. An action's answer covers the action's own events; a later read covers later sheets."""
    url = f"/api/venue/{p.venue_id}/control"
    headers = p.judges[0].headers
    before = client.get(url, headers=headers).json()["seq"]
    assert _events_after(settings, before) == []
    staged = client.post(f"/api/venue/{p.venue_id}/stage", json={"entry_id": p.entries[1]}, headers=headers)
    assert staged.status_code == 200, staged.text
    own = _events_after(settings, before)
    assert {kind for _, kind in own} >= {"venue.current", "entry.status"}
    assert staged.json()["seq"] == own[-1][0]  # every event of the action is at or below the answer's seq
    assert staged.json()["current_entry_id"] == p.entries[1]

    r = client.post("/api/judge/sheets", json=sheet_body(p, p.entries[1]), headers=p.judges[1].headers)
    assert r.status_code == 201, r.text
    sheet = _events_after(settings, staged.json()["seq"])
    assert [kind for _, kind in sheet] == ["sheet.submitted"]
    state = client.get(url, headers=headers).json()
    assert state["seq"] == sheet[-1][0]
    row = next(e for e in state["entries"] if e["id"] == p.entries[1])
    assert row["submitted"] == 1  # what the console would have applied itself from that event
