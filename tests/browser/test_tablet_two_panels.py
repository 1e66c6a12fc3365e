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
