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


async def _rotating_judge(session: Any) -> tuple[Venue, Venue, int, int]:
    """V1, V2, and the person and account of V1's first judge who is not its chief (the one rotated into V2)."""
    venues = {v.code: v for v in (await session.execute(select(Venue))).scalars()}
    v1, v2 = venues["V1"], venues["V2"]
    person = (await session.execute(select(PanelMember.person_id).where(
        PanelMember.venue_id == v1.id, PanelMember.is_chief.is_(False)).order_by(PanelMember.id).limit(1))
              ).scalar_one()
    account = (await session.execute(select(Account.id).where(Account.person_id == person))).scalar_one()
    return v1, v2, person, account


def _arrange(server: LiveServer) -> dict[str, Any]:
    from judging.staff import assignment

    async def go(session: Any) -> dict[str, Any]:
        v1, v2, person, account = await _rotating_judge(session)
        await assignment.set_panel_member(session, v1.contest_id, v2.id, person)
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
        _, v2, _, account = await _rotating_judge(session)
        nxt = (await session.execute(select(Entry).where(Entry.venue_id == v2.id)
                                     .order_by(Entry.running_order).offset(3).limit(1))).scalar_one()
        return {"account": account, "v2": v2.id, "next_v2": (nxt.id, nxt.title)}

    return off(run_db, settings_of(server), go)  # type: ignore[no-any-return]


def test_a_forced_release_locks_the_sheet_of_a_judge_who_had_not_scored(live_server: LiveServer,
                                                                          context: Any) -> None:
    """The chief judge releases without one judge's sheet (with a reason): that judge's tablet shows the entry
    locked within a blink (it re-reads its state on the release), instead of letting a sheet be queued that the
    server will refuse."""
    import time

    import httpx

    from tests.judging.sheet_helpers import good_values, new_cid

    async def panel(session: Any) -> dict[str, Any]:
        from judging.db.models import RoleGrant, Rubric, RubricItem, Stage

        v3 = (await session.execute(select(Venue).where(Venue.code == "V3"))).scalar_one()
        members = (await session.execute(select(PanelMember).where(PanelMember.venue_id == v3.id)
                                         .order_by(PanelMember.is_chief.desc(), PanelMember.id))).scalars().all()
        accounts = {m.person_id: (await session.execute(select(Account.id).where(Account.person_id == m.person_id))
                                  ).scalar_one() for m in members}
        entry = (await session.execute(select(Entry).where(Entry.venue_id == v3.id)
                                       .order_by(Entry.running_order).offset(2).limit(1))).scalar_one()
        stage = (await session.execute(select(Stage).where(Stage.contest_id == v3.contest_id,
                                                           Stage.kind == "onsite"))).scalar_one()
        rubric = (await session.execute(select(Rubric).where(Rubric.stage_id == stage.id,
                                                             Rubric.topic_type_id == entry.topic_type_id))
                  ).scalar_one()
        items = (await session.execute(select(RubricItem).where(RubricItem.rubric_id == rubric.id))).scalars().all()
        host = (await session.execute(select(RoleGrant.account_id).where(
            RoleGrant.role == "host", RoleGrant.venue_id == v3.id))).scalar_one()
        return {"venue": v3.id, "entry": entry.id, "accounts": [accounts[m.person_id] for m in members],
                "items": [(i.key, i.max_points, i.step) for i in items], "host": host}

    info = off(run_db, settings_of(live_server), panel)

    def bearer(account: int) -> dict[str, str]:
        link = live_server.login_link(account).rsplit("/j/", 1)[1]
        token = httpx.get(f"{live_server.local_url}/j/{link}", follow_redirects=False).cookies["podium_session"]
        return {"Authorization": f"Bearer {token}"}

    base, entry = live_server.local_url, info["entry"]
    assert httpx.post(f"{base}/api/venue/{info['venue']}/stage", json={"entry_id": entry},
                      headers=bearer(info["host"])).status_code == 200
    *scorers, late = info["accounts"]
    for account in scorers:  # everyone but the last judge (the chief first)
        r = httpx.post(f"{base}/api/judge/sheets", headers=bearer(account), json={
            "client_submission_id": new_cid(), "entry_id": entry, "values": good_values(info["items"])})
        assert r.status_code in (200, 201), r.text
    page = context.new_page()
    page.goto(live_server.login_link(late))
    page.wait_for_selector(f'#onsite-list li[data-entry="{entry}"][data-status="todo"]')
    page.wait_for_timeout(1500)  # the venue feed is live
    started = time.monotonic()
    r = httpx.post(f"{base}/api/venue/{info['venue']}/entries/{entry}/release",
                   json={"force": True, "reason": "第5位评委平板故障"}, headers=bearer(scorers[0]))
    assert r.status_code == 200, r.text
    page.wait_for_selector(f'#onsite-list li[data-entry="{entry}"][data-status="locked"]', timeout=4000)
    assert time.monotonic() - started < 3.0

