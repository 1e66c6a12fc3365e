"""A judge on two panels (the rotation the connectivity check suggests) in Debian Chromium: the tablet lists each
venue's entries under the venue's name and shows what is on stage in each venue; an entry whose result is released
is no longer marked as presenting."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from judging.db.models import Account, Entry, PanelMember, Venue
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.helpers import off, settings_of
from tests.conftest import run_db

pytestmark = pytest.mark.browser


def _arrange(server: LiveServer) -> dict[str, Any]:
    from judging.staff import assignment

    async def go(session: Any) -> dict[str, Any]:
        venues = {v.code: v for v in (await session.execute(select(Venue))).scalars()}
        v1, v2 = venues["V1"], venues["V2"]
        person = (await session.execute(select(PanelMember.person_id).where(
            PanelMember.venue_id == v1.id, PanelMember.is_chief.is_(False)).order_by(PanelMember.id).limit(1))
                  ).scalar_one()
        await assignment.set_panel_member(session, v1.contest_id, v2.id, person)
        account = (await session.execute(select(Account.id).where(Account.person_id == person))).scalar_one()
        staged = {}
        for v in (v1, v2):
            entry = (await session.execute(select(Entry).where(Entry.venue_id == v.id)
                                           .order_by(Entry.running_order).offset(1).limit(1))).scalar_one()
            v.current_entry_id = entry.id
            entry.status = "presenting"
            staged[v.code] = (entry.id, entry.title, v.name)
        return {"account": account, "staged": staged}

    return off(run_db, settings_of(server), go)  # type: ignore[no-any-return]


def test_each_venue_under_its_name_with_its_own_stage(live_server: LiveServer, context: Any) -> None:
    arranged = _arrange(live_server)
    page = context.new_page()
    page.goto(live_server.login_link(arranged["account"]))
    page.wait_for_selector("#onsite-list li.tb-entry")
    heads = page.locator("#onsite-list .tb-venue-head")
    names = [arranged["staged"][code][2] for code in ("V1", "V2")]
    assert heads.all_inner_texts() == names
    cards = page.locator("#now .tb-now-card")
    assert cards.count() == 2
    for card, code in zip(cards.all(), ("V1", "V2"), strict=True):
        entry_id, title, venue = arranged["staged"][code]
        text = card.inner_text()
        assert venue in text and title in text and "正在发表" in text, text
        assert page.locator(f'#onsite-list li[data-entry="{entry_id}"] .tb-live').count() == 1
    screenshot(page, "tablet-two-panels")

    # Released: still the venue's current entry until the host moves on, but no longer "presenting".
    released = arranged["staged"]["V1"][0]
    off(run_db, settings_of(live_server), lambda s: s.execute(
        update(Entry).where(Entry.id == released).values(status="released")))
    page.reload()
    page.wait_for_selector("#onsite-list li.tb-entry")
    assert page.locator(f'#onsite-list li[data-entry="{released}"] .tb-live').count() == 0
    assert page.locator(f'#onsite-list li[data-entry="{arranged["staged"]["V2"][0]}"] .tb-live').count() == 1


def test_both_stages_follow_their_venue_feeds(live_server: LiveServer, context: Any) -> None:
    """The host of the second venue puts another entry on stage: the tablet shows it within a blink, from that
    venue's feed (before, only the first venue's feed was followed; the second changed on the 120 s poll)."""
    import re
    import time

    import httpx

    arranged = _arrange_again(live_server)
    page = context.new_page()
    page.goto(live_server.login_link(arranged["account"]))
    page.wait_for_selector("#now .tb-now-card")
    page.wait_for_function("() => document.querySelectorAll('#now .tb-now-card').length === 2")
    page.wait_for_timeout(1500)  # both feeds connected
    host_id = int(next(line.split()[0] for line in live_server.podium("users", "list").splitlines()
                       if re.search(r"\bhost@venue2\b", line)))
    link = live_server.login_link(host_id).rsplit("/j/", 1)[1]
    token = httpx.get(f"{live_server.local_url}/j/{link}", follow_redirects=False).cookies["podium_session"]
    entry_id, title = arranged["next_v2"]
    started = time.monotonic()
    r = httpx.post(f"{live_server.local_url}/api/venue/{arranged['v2']}/stage", json={"entry_id": entry_id},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    page.wait_for_function("([v, t]) => { const c = document.querySelector(`#now .tb-now-card[data-venue='${v}']`);"
                           " return c && c.innerText.includes(t); }", arg=[arranged["v2"], title], timeout=4000)
    assert time.monotonic() - started < 3.0


def _arrange_again(server: LiveServer) -> dict[str, Any]:
    """The same judge (already on both panels from the first test), and the second venue's next entry."""
    async def go(session: Any) -> dict[str, Any]:
        venues = {v.code: v for v in (await session.execute(select(Venue))).scalars()}
        v1, v2 = venues["V1"], venues["V2"]
        person = (await session.execute(select(PanelMember.person_id).where(
            PanelMember.venue_id == v1.id, PanelMember.is_chief.is_(False)).order_by(PanelMember.id).limit(1))
                  ).scalar_one()
        account = (await session.execute(select(Account.id).where(Account.person_id == person))).scalar_one()
        nxt = (await session.execute(select(Entry).where(Entry.venue_id == v2.id)
                                     .order_by(Entry.running_order).offset(3).limit(1))).scalar_one()
        return {"account": account, "v2": v2.id, "next_v2": (nxt.id, nxt.title)}

    return off(run_db, settings_of(server), go)  # type: ignore[no-any-return]
