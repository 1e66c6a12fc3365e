"""Deleting a venue or a topic type made by mistake on the setup page: only while nothing uses it, so no entry is
unassigned, no panel dissolved and no event, help call or score lost; an unused venue's host and screen logins stop
working; a venue or topic type of another contest is not found. Real database, the staff forms as the page posts
them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from judging.db.models import (
    Account,
    AuditLog,
    AuthToken,
    Entry,
    Event,
    HelpCall,
    PanelMember,
    Person,
    Presence,
    RoleGrant,
    Rubric,
    RubricItem,
    ScoreSheet,
    Stage,
    TopicType,
    Venue,
)
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import login_link, make_staff, staff_login

MESSAGE = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


def _message(r: Any) -> str:
    m = MESSAGE.search(r.text)
    assert m, r.text[:2000]
    return html.unescape(m.group(1))


def _add_venue(settings: Settings, client: Any, contest_id: int, code: str) -> int:
    r = client.post(f"/staff/contests/{contest_id}/setup/venues", data={"code": code, "name": f"{code}厅"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    return int(run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == contest_id,
                                                                           Venue.code == code))))


def _venue_logins(settings: Settings, venue_id: int) -> dict[str, int]:
    async def go(session: Any) -> dict[str, int]:
        rows = await session.execute(select(RoleGrant.role, RoleGrant.account_id).where(RoleGrant.venue_id == venue_id))
        return {role: int(account) for role, account in rows}

    return dict(run_db(settings, go))


def _snapshot(settings: Settings) -> dict[str, Any]:
    """Everything a venue or topic type deletion could touch, as plain values."""

    async def go(session: Any) -> dict[str, Any]:
        async def rows(*cols: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(r) for r in await session.execute(select(*cols))), key=repr)

        return {
            "venues": await rows(Venue.id, Venue.contest_id, Venue.code, Venue.name, Venue.position),
            "topic_types": await rows(TopicType.id, TopicType.key),
            "rubrics": await rows(Rubric.id, Rubric.topic_type_id),
            "items": await rows(RubricItem.id, RubricItem.rubric_id),
            "entries": await rows(Entry.id, Entry.venue_id, Entry.topic_type_id),
            "panels": await rows(PanelMember.venue_id, PanelMember.person_id),
            "grants": await rows(RoleGrant.account_id, RoleGrant.role, RoleGrant.venue_id),
            "accounts": await rows(Account.id, Account.disabled),
            "tokens": await rows(AuthToken.id, AuthToken.revoked_at),
            "events": await rows(Event.seq, Event.venue_id),
            "help_calls": await rows(HelpCall.id, HelpCall.venue_id),
            "presence": await rows(Presence.id, Presence.venue_id),
            "sheets": await rows(ScoreSheet.id, ScoreSheet.rubric_id),
            "audit": await session.scalar(select(func.count(AuditLog.id))),
        }

    return dict(run_db(settings, go))


def _audit(settings: Settings, action: str) -> list[AuditLog]:
    async def go(session: Any) -> list[AuditLog]:
        return list((await session.execute(select(AuditLog).where(AuditLog.action == action))).scalars())

    return list(run_db(settings, go))


# ------------------------------------------------------------------------------------------------ venues
def test_an_unused_venue_is_deleted_and_its_host_and_screen_logins_stop_working(settings: Settings, demo: int,
                                                                               client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    vid = _add_venue(settings, client, demo, "V4")
    logins = _venue_logins(settings, vid)
    assert set(logins) == {"host", "display"}
    links = {role: login_link(settings, account) for role, account in logins.items()}
    page = client.get(f"/staff/contests/{demo}/setup").text
    assert f'action="/staff/contests/{demo}/setup/venues/{vid}/delete"' in page
    assert f'form="venue-delete-{vid}"' in page and 'onsubmit="return confirm(this.dataset.confirm)"' in page
    others = [v for v in _snapshot(settings)["venues"] if v[0] != vid]

    r = client.post(f"/staff/contests/{demo}/setup/venues/{vid}/delete", follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert r.headers["location"] == f"/staff/contests/{demo}/setup?msg=deleted"
    assert "已删除。" in client.get(r.headers["location"]).text

    after = _snapshot(settings)
    assert [v for v in after["venues"] if v[0] == vid] == []
    assert [v for v in after["venues"] if v[0] != vid] == others  # the others keep their codes and positions
    assert [g for g in after["grants"] if g[2] == vid] == []
    disabled = dict(after["accounts"])
    assert all(disabled[a] for a in logins.values())  # the host and the screen are disabled ...
    assert _open_tokens(settings, list(logins.values())) == 0  # every link and session of theirs revoked
    for link in links.values():  # ... and their printed cards no longer log in
        client.cookies.clear()
        r = client.get(f"/j/{link}", follow_redirects=False)
        assert r.status_code == 404, (r.status_code, r.headers)
    [row] = _audit(settings, "setup.venue_delete")
    assert row.target == f"venue:{vid}" and row.contest_id == demo
    assert row.detail["code"] == "V4" and row.detail["name"] == "V4厅"
    assert {"location", "starts_at", "presentation_minutes", "qa_minutes", "position"} <= set(row.detail)
    assert sorted(row.detail["disabled_accounts"]) == sorted(logins.values())

    # A venue added after a deletion goes last: after V5, not onto V5's place (the count of venues).
    staff_login(client)
    v5 = _add_venue(settings, client, demo, "V5")
    v6 = _add_venue(settings, client, demo, "V6")
    assert client.post(f"/staff/contests/{demo}/setup/venues/{v5}/delete", follow_redirects=False).status_code in (
        302, 303)
    v7 = _add_venue(settings, client, demo, "V7")
    positions = {v[0]: v[4] for v in _snapshot(settings)["venues"]}
    assert positions[v7] == positions[v6] + 1


def _open_tokens(settings: Settings, account_ids: list[int]) -> int:
    return int(run_db(settings, lambda s: s.scalar(select(func.count(AuthToken.id)).where(
        AuthToken.account_id.in_(account_ids), AuthToken.revoked_at.is_(None)))))


def _entry(settings: Settings, contest_id: int, venue_id: int) -> None:
    async def go(session: Any) -> None:
        entry = (await session.execute(select(Entry).where(Entry.contest_id == contest_id).order_by(Entry.id)
                                       .limit(1))).scalar_one()
        entry.venue_id = venue_id

    run_db(settings, go)


def _panel(settings: Settings, contest_id: int, venue_id: int) -> None:
    from judging.staff.assignment import set_panel_member

    async def go(session: Any) -> None:
        person = await session.scalar(select(Person.id).where(Person.contest_id == contest_id).order_by(Person.id)
                                      .limit(1))
        await set_panel_member(session, contest_id, venue_id, int(person))

    run_db(settings, go)


def _event(settings: Settings, contest_id: int, venue_id: int) -> None:
    from judging.events import append_event

    async def go(session: Any) -> None:
        await append_event(session, "timer", {"venue_id": venue_id, "running": False, "elapsed_ms": 0},
                           contest_id=contest_id, venue_id=venue_id)

    run_db(settings, go)


def _help_call(settings: Settings, contest_id: int, venue_id: int) -> None:
    async def go(session: Any) -> None:
        host = await session.scalar(select(RoleGrant.account_id).where(RoleGrant.venue_id == venue_id,
                                                                       RoleGrant.role == "host"))
        session.add(HelpCall(venue_id=venue_id, account_id=host, message="麦克风没声音"))

    run_db(settings, go)


def _presence(settings: Settings, contest_id: int, venue_id: int) -> None:
    async def go(session: Any) -> None:
        host = await session.scalar(select(RoleGrant.account_id).where(RoleGrant.venue_id == venue_id,
                                                                       RoleGrant.role == "host"))
        session.add(Presence(account_id=host, device_id="tablet-1", venue_id=venue_id))

    run_db(settings, go)


USES: dict[str, tuple[Callable[[Settings, int, int], None], str, str]] = {
    "an entry": (_entry, "分会场 V4 还有 1 个成果：请先在分配页把它们移到其他分会场，再删除。",
                 "venue V4 still has entries assigned (1): move them to another venue on the assignment page, "
                 "then delete it"),
    "a panel member": (_panel, "分会场 V4 的评委组还有 1 位评委：请先在分配页移除，再删除。",
                       "venue V4 still has judges on its panel (1): remove them on the assignment page, then "
                       "delete it"),
    "an event": (_event, "分会场 V4 已在现场使用过（已有事件、求助或平板记录，这些记录必须保留），因此不能删除；"
                 "可以改名后继续使用。", "venue V4 has been used live (its events, help calls or tablets are on "
                 "record, and that record is kept), so it cannot be deleted: rename it and use it instead"),
    "a help call": (_help_call, "分会场 V4 已在现场使用过（已有事件、求助或平板记录，这些记录必须保留），因此不能删除；"
                    "可以改名后继续使用。", ""),
    "a tablet's presence": (_presence, "分会场 V4 已在现场使用过（已有事件、求助或平板记录，这些记录必须保留），"
                            "因此不能删除；可以改名后继续使用。", ""),
}


@pytest.mark.parametrize("use", list(USES))
def test_a_venue_in_use_is_refused_and_nothing_changes(settings: Settings, demo: int, client: Any, use: str) -> None:
    make_staff(settings)
    staff_login(client)
    vid = _add_venue(settings, client, demo, "V4")
    make_use, zh, en = USES[use]
    make_use(settings, demo, vid)
    before = _snapshot(settings)

    r = client.post(f"/staff/contests/{demo}/setup/venues/{vid}/delete", follow_redirects=False,
                    headers={"Referer": f"http://podium.test/staff/contests/{demo}/setup"})
    assert r.status_code == 409, r.text[:500]
    assert _message(r) == zh
    if en:
        r = client.post(f"/staff/contests/{demo}/setup/venues/{vid}/delete?lang=en", follow_redirects=False)
        assert r.status_code == 409 and _message(r) == en
    assert _snapshot(settings) == before  # the venue, its grants, accounts, entries, panel, events: all still there
    assert _audit(settings, "setup.venue_delete") == []
    host = _venue_logins(settings, vid)["host"]
    client.cookies.clear()
    r = client.get(f"/j/{login_link(settings, host)}", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].endswith(f"/venue/{vid}")  # the host still logs in


def test_a_demo_venue_with_its_entries_and_panel_is_refused(settings: Settings, demo: int, client: Any) -> None:
    """The demo's first venue has entries, a panel and a chief judge: the first reason given is the entries."""
    make_staff(settings)
    staff_login(client)
    vid = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == demo, Venue.code == "V1")))
    before = _snapshot(settings)
    r = client.post(f"/staff/contests/{demo}/setup/venues/{vid}/delete?lang=en", follow_redirects=False)
    assert r.status_code == 409
    assert re.fullmatch(r"venue V1 still has entries assigned \(\d+\): .*", _message(r))
    assert _snapshot(settings) == before


# ------------------------------------------------------------------------------------------------ topic types
def test_an_unused_topic_type_is_deleted_with_its_rubrics(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    r = client.post(f"/staff/contests/{demo}/setup/topic-types", data={"key": "delivery", "name_zh": "交付型"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    tt = int(run_db(settings, lambda s: s.scalar(select(TopicType.id).where(TopicType.contest_id == demo,
                                                                            TopicType.key == "delivery"))))
    before = _snapshot(settings)
    mine = {rid for rid, t in before["rubrics"] if t == tt}
    assert len(mine) == 2 and any(rid in mine for _, rid in before["items"])  # a rubric per stage, with items
    assert f'action="/staff/contests/{demo}/setup/topic-types/{tt}/delete"' in client.get(
        f"/staff/contests/{demo}/setup").text

    r = client.post(f"/staff/contests/{demo}/setup/topic-types/{tt}/delete", follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert r.headers["location"] == f"/staff/contests/{demo}/setup?msg=deleted"
    after = _snapshot(settings)
    assert after["topic_types"] == [t for t in before["topic_types"] if t[0] != tt]
    assert after["rubrics"] == [r for r in before["rubrics"] if r[1] != tt]
    assert after["items"] == [i for i in before["items"] if i[1] not in mine]  # the other rubrics keep their items
    [row] = _audit(settings, "setup.topic_type_delete")
    assert row.target == f"topic_type:{tt}" and row.contest_id == demo and row.detail["key"] == "delivery"
    # the rubrics as they were, for the record (they may have been edited by hand)
    assert len(row.detail["rubrics"]) == 2 and all(r["items"] for r in row.detail["rubrics"])
    assert sum(len(r["items"]) for r in row.detail["rubrics"]) == len([i for i in before["items"] if i[1] in mine])


def test_a_topic_type_of_entries_is_refused(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    tt, key, n = run_db(settings, lambda s: _used_topic_type(s, demo))
    before = _snapshot(settings)
    r = client.post(f"/staff/contests/{demo}/setup/topic-types/{tt}/delete", follow_redirects=False)
    assert r.status_code == 409
    assert _message(r) == f"课题类型 {key} 下还有 {n} 个成果：请先用正确的课题类型重新导入这些成果，再删除。"
    assert _snapshot(settings) == before


async def _used_topic_type(session: Any, contest_id: int) -> tuple[int, str, int]:
    tt, key, n = (await session.execute(
        select(TopicType.id, TopicType.key, func.count(Entry.id)).join(Entry, Entry.topic_type_id == TopicType.id)
        .where(TopicType.contest_id == contest_id).group_by(TopicType.id, TopicType.key).order_by(TopicType.id)
        .limit(1))).one()
    return int(tt), str(key), int(n)


def test_a_topic_type_scored_against_is_refused(settings: Settings, demo: int, client: Any) -> None:
    """No entry has it any more (say, re-imported under another type), but a sheet was started on its rubric."""
    from judging.db.models import SheetVersion

    make_staff(settings)
    staff_login(client)
    client.post(f"/staff/contests/{demo}/setup/topic-types", data={"key": "delivery", "name_zh": "交付型"})

    async def score(session: Any) -> int:
        tt = await session.scalar(select(TopicType.id).where(TopicType.contest_id == demo,
                                                             TopicType.key == "delivery"))
        stage, rubric = (await session.execute(
            select(Stage.id, Rubric.id).join(Rubric, Rubric.stage_id == Stage.id)
            .where(Rubric.topic_type_id == tt, Stage.kind == "onsite"))).one()
        member = (await session.execute(select(PanelMember).order_by(PanelMember.id).limit(1))).scalar_one()
        entry = await session.scalar(select(Entry.id).where(Entry.venue_id == member.venue_id).order_by(Entry.id)
                                     .limit(1))
        sheet = ScoreSheet(stage_id=stage, entry_id=entry, person_id=member.person_id, rubric_id=rubric)
        session.add(sheet)
        await session.flush()
        session.add(SheetVersion(sheet_id=sheet.id, version=1, client_submission_id="d" * 32, values={},
                                 total=Decimal(0)))
        return int(tt)

    tt = run_db(settings, score)
    before = _snapshot(settings)
    r = client.post(f"/staff/contests/{demo}/setup/topic-types/{tt}/delete?lang=en", follow_redirects=False)
    assert r.status_code == 409
    assert _message(r) == "topic type delivery has been scored against its rubrics, and those scores are kept: it " \
                          "cannot be deleted"
    assert _snapshot(settings) == before


# ------------------------------------------------------------------------------------------------ other contests
def test_a_venue_or_topic_type_of_another_contest_is_not_found(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    other = client.post("/api/staff/contests", json={"name": "另一赛事", "year": 2026}).json()["id"]
    vid = _add_venue(settings, client, demo, "V4")  # unused: only the contest in the path stops its deletion
    client.post(f"/staff/contests/{demo}/setup/topic-types", data={"key": "delivery", "name_zh": "交付型"})
    tt = run_db(settings, lambda s: s.scalar(select(TopicType.id).where(TopicType.contest_id == demo,
                                                                        TopicType.key == "delivery")))
    before = _snapshot(settings)
    for path, zh in ((f"/staff/contests/{other}/setup/venues/{vid}/delete", "没有这个分会场。"),
                     (f"/staff/contests/{other}/setup/topic-types/{tt}/delete", "没有这个课题类型。"),
                     (f"/staff/contests/{demo}/setup/venues/987654/delete", "没有这个分会场。"),
                     (f"/staff/contests/{demo}/setup/topic-types/987654/delete", "没有这个课题类型。")):
        r = client.post(path, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code)
        assert _message(r) == zh
    assert client.post(f"/staff/contests/987654/setup/venues/{vid}/delete").status_code == 404
    assert _snapshot(settings) == before


def test_a_venue_id_given_again_routes_to_its_new_contest(settings: Settings, demo: int, client: Any) -> None:
    """SQLite gives a deleted venue's id to the next venue created. The live feed's cached topology (venue -> contest)
    must follow it to its new contest, or its events would go out on the old contest's channels."""
    from judging.feed import Topology

    make_staff(settings)
    staff_login(client)
    other = client.post("/api/staff/contests", json={"name": "另一赛事", "year": 2026}).json()["id"]
    vid = _add_venue(settings, client, demo, "V9")
    topology = Topology()
    run_db(settings, topology.refresh)
    assert topology.contest_of[vid] == demo
    r = client.post(f"/staff/contests/{demo}/setup/venues/{vid}/delete", follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    new = _add_venue(settings, client, other, "W1")
    if settings.is_sqlite:
        assert new == vid  # the id is given again: the case this test is about
    run_db(settings, lambda s: topology.ensure(s, new, other))
    assert topology.contest_of[new] == other
    assert new in topology.venues_of[other] and vid not in topology.venues_of.get(demo, [])
