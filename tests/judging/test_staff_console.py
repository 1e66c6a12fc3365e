"""Staff console: setup, assignment, conflicts, QR sheets, monitoring, grading preview, finalization (reproducible,
outdated by a later correction), exports opened with openpyxl, and the audit trail of every change."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from judging.db.models import AuditLog, Contest, Entry, GradeResult, GradeRun, PanelMember, ReviewerAssignment, Venue
from judging.settings import Settings
from judging.staff import assignment, grading
from judging.web import percent
from scoring import round_half_up
from tests.conftest import run_db
from tests.helpers import account_with_role, login_link, make_staff, staff_login
from tests.judging.staff_support import correct_one, keep_boundary_grades


def _audit(settings: Settings, action: str) -> list[AuditLog]:
    async def go(session: Any) -> list[AuditLog]:
        return list((await session.execute(select(AuditLog).where(AuditLog.action == action))).scalars())

    return run_db(settings, go)


def test_finalization_is_reproducible_and_outdated_by_a_later_correction(settings: Settings, scored: int,
                                                                        client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    r = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 200})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "preview" and len(run["input_digest"]) == 64
    assert sum(run["counts"].values()) == 30
    first = {x["code"]: x for x in run["results"]}["2024-001"]
    for key in ("initial", "onsite_raw", "onsite_trimmed", "onsite", "final", "grade", "probability", "steps"):
        assert first[key] is not None, key
    assert abs(sum(v for _, v in first["steps"]) - first["onsite"]) < 0.01  # the explanation adds up
    # Approve (owner) -> final, stamped (after the boundary review: every listed entry keeps its grade here).
    keep_boundary_grades(client, run)
    r = client.post(f"/api/staff/runs/{run['id']}/finalize")
    assert r.status_code == 200 and r.json()["status"] == "final"
    # Recompute from the log: same digest, same grades.
    v = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert v["ok"] and v["current"] and v["recomputed_digest"] == v["stored_digest"] == run["input_digest"]
    # A second, independent preview computed from the same log gives the same digest and grades.
    again = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 200}).json()
    assert again["input_digest"] == run["input_digest"]
    assert [(x["code"], x["grade"], x["final"]) for x in again["results"]] == \
        [(x["code"], x["grade"], x["final"]) for x in run["results"]]

    # A later correction (a new sheet version) marks the final run outdated — it is not silently changed.
    async def fix(session: Any) -> int:
        return await correct_one(session, scored)

    run_db(settings, fix)
    r = client.get(f"/api/staff/contests/{scored}/runs/{run['id']}")
    assert r.json()["status"] == "outdated"
    assert [(x["code"], x["grade"]) for x in r.json()["results"]] == [(x["code"], x["grade"]) for x in run["results"]]
    v = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert v["ok"] and not v["current"]  # still reproducible from its own rows; no longer the current log
    assert _audit(settings, "grades.outdated") and _audit(settings, "grades.finalize")
    # A preview computed before the correction can no longer be approved (even with its boundary review done).
    keep_boundary_grades(client, again)
    r = client.post(f"/api/staff/runs/{again['id']}/finalize")
    assert r.status_code == 409 and "scores changed" in r.json()["error"]["message"]
    # CLI check.
    from judging.staff.cli import cmd_grades

    class Args:
        run_id = run["id"]

    from judging.cli import _run_db

    assert cmd_grades(Args(), settings, _run_db) == 0  # type: ignore[arg-type]


def test_only_the_owner_finalizes(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings, "clerk", "staff")
    staff_login(client, "clerk")
    run = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 100}).json()
    assert client.post(f"/api/staff/runs/{run['id']}/finalize").status_code == 403
    r = client.get(f"/staff/contests/{scored}/runs/{run['id']}")
    assert "只有管理员可以批准定稿" in r.text


def test_exports_open_in_openpyxl_with_chinese_titles(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 100}).json()
    keep_boundary_grades(client, run)
    assert client.post(f"/api/staff/runs/{run['id']}/finalize").status_code == 200
    base = f"/staff/contests/{scored}/runs/{run['id']}/export"

    r = client.get(f"{base}/grades.xlsx")
    assert r.status_code == 200
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert "%E6%88%90%E7%BB%A9%E7%AD%89%E7%BA%A7" in r.headers["content-disposition"]  # 成绩等级
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["成果等级"]
    assert "成果等级名单" in ws["A1"].value
    header = [c.value for c in ws[3]]
    assert header[:3] == ["排名", "成果编号", "成果名称"] and "等级" in header
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 30
    by_code = {row[1]: row for row in rows}
    stored = {x["code"]: x for x in run["results"]}
    for code, row in by_code.items():
        assert row[header.index("等级")] == stored[code]["grade"]
        assert row[header.index("最终得分")] == float(round_half_up(stored[code]["final"], 2))  # as the screens
    # The probability is a number Excel shows as the run page does (a whole percentage), not a raw fraction.
    column = header.index("该等级概率") + 1
    probs = [ws.cell(row=n, column=column) for n in range(4, 4 + len(rows))]
    assert {c.number_format for c in probs} == {"0%"}
    assert all(0 <= c.value <= 1 for c in probs) and any(c.value < 1 for c in probs)

    r = client.get(f"{base}/grades.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("排名,成果编号,成果名称") and len(text.splitlines()) == 31
    lines = list(csv.reader(io.StringIO(text)))
    shown = {line[1]: line[lines[0].index("该等级概率")] for line in lines[1:]}
    assert shown == {x["code"]: percent(x["probability"], missing="") for x in run["results"]}
    assert all(re.fullmatch(r"\d{1,3}%", v) for v in shown.values()), shown

    wb = load_workbook(io.BytesIO(client.get(f"{base}/venues.xlsx").content))
    assert wb.sheetnames == ["第一分会场评分表", "第二分会场评分表", "第三分会场评分表"]
    ws = wb["第一分会场评分表"]
    head = [c.value for c in ws[2]]
    assert head[:3] == ["发表顺序", "成果编号", "成果名称"] and head[-3:] == ["去掉的分数", "有效平均分", "发表得分"]
    assert len(head) == 3 + 5 + 3  # five judges
    data = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(data) == 10
    recused = sum(1 for row in data for c in row[3:8] if isinstance(c, str) and c.startswith("回避"))
    assert recused == 0  # conflicted judges did not score (their sheets do not exist)
    full = [row for row in data if all(isinstance(c, (int, float)) for c in row[3:8])]
    assert full and all(len(str(row[8]).split("、")) == 2 for row in full)  # highest and lowest dropped
    grey = [c for c in ws[3][3:8] if c.fill.fgColor.rgb and c.fill.fgColor.rgb.endswith("DDDDDD")]
    assert len(grey) in (0, 2)

    wb = load_workbook(io.BytesIO(client.get(f"{base}/judges.xlsx").content))
    assert len(wb.sheetnames) == 15 + 6  # judges and reviewers
    ws = wb.worksheets[0]
    assert ws["A1"].value.startswith("评委/专家：")
    assert [c.value for c in ws[2]][:3] == ["阶段", "成果编号", "成果名称"]

    wb = load_workbook(io.BytesIO(client.get(f"{base}/summary.xlsx").content))
    assert wb.sheetnames == ["推荐汇总表", "推荐明细"]
    ws = wb["推荐汇总表"]
    head = [c.value for c in ws[2]]
    assert head[:2] == ["推荐单位", "成果数"] and head[-1] == "推荐上报数"
    units = list(ws.iter_rows(min_row=3, values_only=True))
    assert sum(u[1] for u in units) == 30 and len(units) == 10

    r = client.get(f"{base}/print")
    assert r.status_code == 200 and "成果等级名单" in r.text and "@page" not in r.text


def test_stratified_assignment_is_balanced_seeded_and_audited(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    r = client.post(f"/staff/contests/{demo}/assign/random", data={"seed": "4242"}, follow_redirects=False)
    assert r.status_code in (302, 303)

    async def placement(session: Any) -> dict[str, tuple[int | None, int | None, int]]:
        rows = (await session.execute(select(Entry).where(Entry.contest_id == demo))).scalars()
        return {e.code: (e.venue_id, e.running_order, e.topic_type_id) for e in rows}

    first = run_db(settings, placement)
    per_venue = Counter(v for v, _, _ in first.values())
    assert sorted(per_venue.values()) == [10, 10, 10]
    for tt in {t for _, _, t in first.values()}:
        counts = Counter(v for v, _, t in first.values() if t == tt)
        assert max(counts.values()) - min(counts.values()) <= 1  # stratified by topic type
    entries = _audit(settings, "assign.entries_random")
    assert entries[-1].detail["seed"] == 4242
    # Same seed, same assignment.
    client.post(f"/staff/contests/{demo}/assign/random", data={"seed": "4242"})
    assert run_db(settings, placement) == first
    page = client.get(f"/staff/contests/{demo}/assign")
    assert "4242" in page.text and "分层随机" in page.text


def test_reviewer_plan_balances_and_avoids_conflicts() -> None:
    plan = assignment.reviewer_plan(list(range(30)), [101, 102, 103, 104, 105], 2, seed=1,
                                    conflicted={(101, 0), (102, 0), (103, 0)})
    per_entry = Counter(e for e, _ in plan.pairs)
    assert set(per_entry.values()) == {2} and len(per_entry) == 30
    assert {(p, e) for e, p in plan.pairs}.isdisjoint({(101, 0), (102, 0), (103, 0)})
    assert max(plan.load.values()) - min(plan.load.values()) <= 1
    short = assignment.reviewer_plan([0], [101, 102], 2, seed=1, conflicted={(101, 0)})
    assert short.short == [0]


def test_reviewer_assignment_via_page_gives_every_entry_two(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)

    async def clear(session: Any) -> None:
        from sqlalchemy import delete

        await session.execute(delete(ReviewerAssignment))

    run_db(settings, clear)
    client.post(f"/staff/contests/{demo}/assign/reviewers", data={"per_entry": "2", "seed": "9"})

    async def counts(session: Any) -> list[int]:
        rows = (await session.execute(select(ReviewerAssignment.entry_id, func.count())
                                      .group_by(ReviewerAssignment.entry_id))).all()
        return [n for _, n in rows]

    got = run_db(settings, counts)
    assert len(got) == 30 and set(got) == {2}
    assert _audit(settings, "assign.reviewers")


def test_connectivity_reports_unlinked_venues_and_a_rotation_links_them(settings: Settings, demo: int,
                                                                      client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    c = client.get(f"/api/staff/contests/{demo}/connectivity").json()
    assert not c["connected"] and len(c["components"]) == 3 and len(c["suggestions"]) == 2
    for person, _src, dst in c["suggestions"]:
        r = client.post(f"/staff/contests/{demo}/assign/panel",
                        data={"venue_id": str(dst), "person_id": str(person), "action": "add"})
        assert r.status_code in (200, 302, 303)
    c = client.get(f"/api/staff/contests/{demo}/connectivity").json()
    assert c["connected"] and len(c["shared_judges"]) == 2
    assert len(_audit(settings, "assign.panel_add")) == 2


def test_chief_judge_moves_with_role_grants(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)

    async def panel(session: Any) -> tuple[int, list[PanelMember]]:
        venue = (await session.execute(select(Venue).where(Venue.contest_id == demo, Venue.code == "V1"))).scalar_one()
        return venue.id, list((await session.execute(select(PanelMember).where(PanelMember.venue_id == venue.id)
                                                     .order_by(PanelMember.id))).scalars())

    vid, members = run_db(settings, panel)
    new_chief = members[1].person_id
    client.post(f"/staff/contests/{demo}/assign/panel",
                data={"venue_id": str(vid), "person_id": str(new_chief), "action": "chief"})
    _, members = run_db(settings, panel)
    assert [m.person_id for m in members if m.is_chief] == [new_chief]


def test_a_panel_removal_stays_within_the_contest_of_its_address(settings: Settings, demo: int,
                                                                client: Any) -> None:
    """The contest in the address is the one changed and audited: a venue of another contest, a person not on the
    panel or an unknown action is refused, and nothing is changed or audited."""
    make_staff(settings)
    staff_login(client)
    other = client.post("/staff/contests", data={"name": "另一赛事", "year": "2025"}, follow_redirects=False)
    assert other.status_code in (302, 303)
    other_id = run_db(settings, lambda s: s.scalar(select(func.max(Contest.id))))
    assert other_id != demo
    member = run_db(settings, lambda s: s.scalar(select(PanelMember).limit(1)))
    before = run_db(settings, lambda s: s.scalar(select(func.count(PanelMember.id))))
    for contest, data in (
        (other_id, {"venue_id": member.venue_id, "person_id": member.person_id, "action": "remove"}),
        (demo, {"venue_id": member.venue_id, "person_id": 999_999, "action": "remove"}),
        (demo, {"venue_id": member.venue_id, "person_id": member.person_id, "action": "drop_table"}),
    ):
        r = client.post(f"/staff/contests/{contest}/assign/panel", data={k: str(v) for k, v in data.items()},
                        headers={"accept": "text/html"})
        assert r.status_code == 400 and "无法保存" in r.text, (contest, data, r.text[:300])
    assert run_db(settings, lambda s: s.scalar(select(func.count(PanelMember.id)))) == before
    assert _audit(settings, "assign.panel") == []


def test_an_initial_review_expert_can_also_sit_on_a_panel(settings: Settings, demo: int, client: Any) -> None:
    """Initial-review experts and on-site judges often come from one pool: the panel picker lists reviewers too
    (marked), and the expert's tablet then has both the venue's entries and their initial reviews."""
    from judging.db.models import Account
    from tests.live.helpers import bearer, reviewer_account

    make_staff(settings)
    staff_login(client)
    reviewer = reviewer_account(settings)
    person = run_db(settings, lambda s: s.scalar(select(Account.person_id).where(Account.id == reviewer)))
    vid = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == demo, Venue.code == "V2")))
    page = client.get(f"/staff/contests/{demo}/assign").text
    assert f'<option value="{person}">' in page and "同时为初审专家" in page
    r = client.post(f"/staff/contests/{demo}/assign/panel", data={"venue_id": str(vid), "person_id": str(person),
                                                                 "action": "add"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    grants = run_db(settings, lambda s: _all_roles(s, reviewer))
    assert {("reviewer", None), ("judge", vid)} <= grants
    client.cookies.clear()
    state = client.get("/api/judge/state", headers=bearer(settings, reviewer)).json()
    assert [v["id"] for v in state["venues"]] == [vid]
    assert {e["stage"] for e in state["entries"]} == {"onsite", "initial"}


async def _all_roles(session: Any, account_id: int) -> set[tuple[str, int | None]]:
    from judging.db.models import RoleGrant

    rows = await session.execute(select(RoleGrant.role, RoleGrant.venue_id).where(RoleGrant.account_id == account_id))
    return {(role, venue) for role, venue in rows}


def test_setup_pages_change_rules_and_audit(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    for path in ("", "/setup", "/import", "/assign", "/conflicts", "/qr", "/monitor", "/grading", "/people"):
        r = client.get(f"/staff/contests/{demo}{path}")
        assert r.status_code == 200, (path, r.text[:300])
    client.post(f"/staff/contests/{demo}/setup/stages", data={"initial": "0.3", "onsite": "0.7"})
    r = client.post(f"/staff/contests/{demo}/setup/grade-rule",
                    data={"kind": "quota", "labels": "一类,二类,三类", "shares": "0.3,0.3,0.3", "floor": "60",
                          "non_presenter_grade": "优秀奖", "recommend_top_k": "2", "trim_from": "5",
                          "group_by": "topic_type", "method": "calibrated"})
    assert r.status_code in (200, 302, 303)
    bad = client.post(f"/staff/contests/{demo}/setup/grade-rule",
                      data={"kind": "quota", "labels": "一类,二类", "shares": "0.8,0.8"})
    assert bad.status_code == 400
    client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "V4", "name": "第四分会场",
                                                             "starts_at": "2025-05-20T08:30"})
    # The demo's initial rubrics are frozen (imported scores); on-site ones are editable until scored.
    page = client.get(f"/staff/contests/{demo}/setup").text
    assert "已锁定：评分已开始" in page
    for action in ("setup.stage_weights", "setup.grade_rule", "setup.venue"):
        assert _audit(settings, action), action
    # A contest created from scratch gets the preset rubrics.
    r = client.post("/api/staff/contests", json={"name": "2026年赛事", "year": 2026})
    assert r.status_code == 201
    r = client.get(f"/staff/contests/{r.json()['id']}/setup")
    assert "T/CAQ 10201-2020 问题解决型" in r.text


def test_a_venue_start_time_stays_in_the_contests_local_time(settings: Settings, demo: int, client: Any) -> None:
    """A start time is entered in the contest's time (Beijing by default) and shown back in it: before, the form
    showed the stored UTC time (00:30 for 08:30), and saving the row again moved the venue 8 hours earlier."""
    from datetime import UTC, datetime

    make_staff(settings)
    staff_login(client)
    client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "V4", "name": "第四分会场",
                                                             "starts_at": "2025-05-20T08:30"})
    vid = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == demo, Venue.code == "V4")))
    stored = run_db(settings, lambda s: s.scalar(select(Venue.starts_at).where(Venue.id == vid)))
    assert stored.astimezone(UTC) == datetime(2025, 5, 20, 0, 30, tzinfo=UTC)
    page = client.get(f"/staff/contests/{demo}/setup").text
    assert 'name="starts_at" type="datetime-local" value="2025-05-20T08:30"' in page
    for _ in range(2):  # saving the row again (as the form sends it back) changes nothing
        client.post(f"/staff/contests/{demo}/setup/venues", data={"venue_id": str(vid), "code": "V4",
                                                                 "name": "第四分会场", "starts_at": "2025-05-20T08:30"})
    assert run_db(settings, lambda s: s.scalar(select(Venue.starts_at).where(Venue.id == vid))) == stored
    audit = client.get("/staff/audit").text
    assert "时间 (UTC+08:00)" in audit


def test_a_new_venue_gets_its_host_and_screen_logins(settings: Settings, demo: int, client: Any) -> None:
    """Saving a venue creates its host (主持人) and screen (大屏) accounts, once; the venue's QR sheets carry their
    cards, and each card's link opens that role's page (the console, the screen)."""
    from judging.db.models import Account, RoleGrant

    make_staff(settings)
    staff_login(client)
    for name in ("第四分会场", "第四分会场", "东厅"):  # created, saved again, renamed
        vid = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == demo,
                                                                         Venue.code == "V4")))
        data = {"code": "V4", "name": name, **({"venue_id": str(vid)} if vid else {})}
        r = client.post(f"/staff/contests/{demo}/setup/venues", data=data, follow_redirects=False)
        assert r.status_code in (302, 303), r.text

    async def logins(session: Any) -> list[tuple[str, str, int | None]]:
        rows = await session.execute(
            select(RoleGrant.role, Account.display_name, RoleGrant.contest_id)
            .join(Account, Account.id == RoleGrant.account_id)
            .where(RoleGrant.venue_id == vid).order_by(RoleGrant.role))
        return [tuple(r) for r in rows]

    assert run_db(settings, logins) == [("display", "东厅大屏", demo), ("host", "东厅主持人", demo)]
    judges_sheet = client.post(f"/staff/contests/{demo}/qr/{vid}/judges").text
    assert judges_sheet.count("<svg") == 1 and "东厅主持人" in judges_sheet  # no judges yet: the host's card
    screens = client.post(f"/staff/contests/{demo}/qr/{vid}/screens").text
    assert screens.count("<svg") == 1 and "东厅大屏" in screens
    host, display = (run_db(settings, lambda s, role=role: s.scalar(select(RoleGrant.account_id).where(
        RoleGrant.venue_id == vid, RoleGrant.role == role))) for role in ("host", "display"))
    for account, page in ((host, f"/venue/{vid}"), (display, f"/screen/{vid}")):
        client.cookies.clear()
        r = client.get(f"/j/{login_link(settings, account)}", follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"].endswith(page), (page, r.headers)
    assert run_db(settings, logins) == [("display", "东厅大屏", demo), ("host", "东厅主持人", demo)]  # still one each


def test_conflicts_page_adds_and_removes_with_reason(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)

    async def ids(session: Any) -> tuple[int, int]:
        from judging.db.models import Person

        person = (await session.execute(select(Person).where(Person.contest_id == demo).limit(1))).scalar_one()
        entry = (await session.execute(select(Entry).where(Entry.contest_id == demo).limit(1))).scalar_one()
        return person.id, entry.id

    pid, eid = run_db(settings, ids)
    r = client.post(f"/staff/contests/{demo}/conflicts", data={"person_id": str(pid), "entry_id": str(eid),
                                                               "reason": "亲属关系"})
    assert r.status_code in (200, 302, 303)
    rows = _audit(settings, "conflict.add")
    assert rows and rows[-1].reason == "亲属关系" and rows[-1].entry_id == eid
    assert "亲属关系" in client.get(f"/staff/contests/{demo}/conflicts").text
    missing = client.post(f"/staff/contests/{demo}/conflicts", data={"person_id": str(pid), "entry_id": str(eid),
                                                                     "reason": " "})
    assert missing.status_code == 400


def test_qr_sheet_issues_fresh_links_for_the_venue(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    judge = account_with_role(settings, "judge")
    old = login_link(settings, judge)

    async def venue(session: Any) -> int:
        return (await session.execute(select(Venue).where(Venue.contest_id == demo, Venue.code == "V1"))
                ).scalar_one().id

    vid = run_db(settings, venue)
    r = client.post(f"/staff/contests/{demo}/qr/{vid}/judges")
    assert r.status_code == 200
    assert r.text.count("<svg") == 6  # five judges and the host
    assert "评审组长" in r.text and "主持人" in r.text
    screens = client.post(f"/staff/contests/{demo}/qr/{vid}/screens")
    assert screens.text.count("<svg") == 1
    assert "在本分会场的每块大屏上打开" in screens.text and "请勿转给他人" not in screens.text  # one card, many screens
    # The earlier link of a judge on the sheet stops working.
    client.cookies.clear()
    assert client.get(f"/j/{old}", follow_redirects=False).status_code == 404
    assert len(_audit(settings, "qr.sheet")) == 2


def _cards(page: str) -> dict[int, str]:
    """Account id -> login token of each card on a QR sheet."""
    return {int(a): url.rsplit("/j/", 1)[1] for a, url in re.findall(r'data-account="(\d+)" data-url="([^"]+)"', page)}


def test_printing_one_sheet_keeps_a_judges_card_of_another(settings: Settings, demo: int, client: Any) -> None:
    """A judge on two panels (the rotation the connectivity check suggests) has a card on each venue's sheet:
    printing one sheet replaces that sheet's cards only, so the other card and the tablet logged in with it keep
    working. Printing the same sheet again replaces its cards (a lost printout)."""
    from judging.db.models import Account

    make_staff(settings)
    staff_login(client)
    v1, v2 = (run_db(settings, lambda s, code=code: s.scalar(select(Venue.id).where(
        Venue.contest_id == demo, Venue.code == code))) for code in ("V1", "V2"))
    person = run_db(settings, lambda s: s.scalar(select(PanelMember.person_id).where(
        PanelMember.venue_id == v1, PanelMember.is_chief.is_(False)).order_by(PanelMember.id).limit(1)))
    account = run_db(settings, lambda s: s.scalar(select(Account.id).where(Account.person_id == person)))
    assert client.post(f"/staff/contests/{demo}/assign/panel", data={"venue_id": str(v2), "person_id": str(person),
                                                                     "action": "add"}).status_code in (200, 302, 303)
    card_v1 = _cards(client.post(f"/staff/contests/{demo}/qr/{v1}/judges").text)[account]
    with _second_client(settings) as tablet:
        assert tablet.get(f"/j/{card_v1}", follow_redirects=False).status_code in (302, 303)
        assert tablet.get("/api/judge/state").status_code == 200
        card_v2 = _cards(client.post(f"/staff/contests/{demo}/qr/{v2}/judges").text)[account]
        assert tablet.get("/api/judge/state").status_code == 200  # still logged in with the V1 card
        with _second_client(settings) as other:
            assert other.get(f"/j/{card_v1}", follow_redirects=False).status_code in (302, 303)
            other.cookies.clear()
            assert other.get(f"/j/{card_v2}", follow_redirects=False).status_code in (302, 303)
        # A reprint of V1's sheet (a lost printout) replaces the V1 card and ends the session it opened.
        client.post(f"/staff/contests/{demo}/qr/{v1}/judges")
        assert tablet.get("/api/judge/state").status_code == 401
    with _second_client(settings) as other:
        assert other.get(f"/j/{card_v1}", follow_redirects=False).status_code == 404
        assert other.get(f"/j/{card_v2}", follow_redirects=False).status_code in (302, 303)


def _second_client(settings: Settings) -> Any:
    from litestar.testing import TestClient

    from judging.app import create_app

    return TestClient(create_app(settings), base_url="http://podium.test")


def test_monitor_json_reports_progress_presence_and_help(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)

    async def arrange(session: Any) -> None:
        from judging.db.base import utcnow
        from judging.db.models import Account, HelpCall, Presence

        venue = (await session.execute(select(Venue).where(Venue.contest_id == scored, Venue.code == "V1"))
                 ).scalar_one()
        entry = (await session.execute(select(Entry).where(Entry.venue_id == venue.id)
                                       .order_by(Entry.running_order))).scalars().first()
        venue.current_entry_id = entry.id
        venue.timer_started_at = utcnow()
        acc = (await session.execute(select(Account).where(Account.display_name.like("%主持人")))).scalars().first()
        from judging.db.models import RoleGrant

        jacc = (await session.execute(select(RoleGrant.account_id).where(RoleGrant.venue_id == venue.id,
                                                                        RoleGrant.role == "judge"))).scalars().first()
        session.add(Presence(account_id=jacc, device_id="tablet-1", venue_id=venue.id, queued=2, online=True))
        session.add(HelpCall(venue_id=venue.id, account_id=jacc, message="平板没电了"))
        assert acc is not None

    run_db(settings, arrange)
    snap = client.get(f"/api/staff/contests/{scored}/monitor").json()
    v1 = next(v for v in snap["venues"] if v["code"] == "V1")
    assert v1["entry"] is not None and v1["timer"]["running"]
    assert v1["submitted"] == v1["expected"] and v1["expected"] >= 4
    assert v1["queued"] == 2 and v1["online"] == 1
    assert v1["help"][0]["message"] == "平板没电了"
    page = client.get(f"/staff/contests/{scored}/monitor")
    assert "staff-monitor.js" in page.text


def test_grading_pages_render_explanations_and_svg(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    r = client.post(f"/staff/contests/{scored}/grading/preview", data={"method": "calibrated", "draws": "100"},
                    follow_redirects=True)
    assert r.status_code == 200
    assert "<svg" in r.text and "评委宽严" in r.text and "有效分平均" in r.text
    assert "<script src=\"http" not in r.text  # no CDN

    async def last(session: Any) -> GradeRun:
        return (await session.execute(select(GradeRun).order_by(GradeRun.id.desc()))).scalars().first()

    run = run_db(settings, last)
    keep_boundary_grades(client, client.get(f"/api/staff/contests/{scored}/runs/{run.id}").json())
    r = client.post(f"/staff/contests/{scored}/runs/{run.id}/finalize", follow_redirects=True)
    assert r.status_code == 200 and "已定稿" in r.text
    r = client.post(f"/staff/contests/{scored}/runs/{run.id}/verify")
    assert "核对通过" in r.text

    async def results(session: Any) -> int:
        return int(await session.scalar(select(func.count(GradeResult.id)).where(GradeResult.run_id == run.id)) or 0)

    assert run_db(settings, results) == 30


def test_grading_compute_is_pure_and_deterministic(settings: Settings, scored: int) -> None:
    async def go(session: Any) -> tuple[Any, Any]:
        inputs = await grading.load_inputs(session, scored)
        from judging.db.models import Contest

        s = grading.default_settings(await session.get(Contest, scored))
        s["draws"] = 100
        return grading.compute(inputs, s), grading.compute(inputs, s)

    a, b = run_db(settings, go)
    assert a.digest == b.digest and a.results == b.results


def test_reviewers_get_their_links_and_staff_see_their_progress(settings: Settings, demo: int, client: Any) -> None:
    """The assignment page shows each initial-review expert's submitted / assigned reviews; "为全部初审专家生成登录
    链接" lists every expert's fresh personal link (earlier links stop working), audited."""
    import re

    from judging.db.models import Account, RoleGrant
    from tests.live.helpers import reviewer_account

    make_staff(settings)
    staff_login(client)
    reviewer = reviewer_account(settings)
    old = login_link(settings, reviewer)

    async def expected(session: Any) -> tuple[int, int, int]:
        person = await session.scalar(select(Account.person_id).where(Account.id == reviewer))
        load = await session.scalar(select(func.count(ReviewerAssignment.id))
                                    .where(ReviewerAssignment.person_id == person))
        experts = await session.scalar(select(func.count(func.distinct(RoleGrant.account_id))).where(
            RoleGrant.role == "reviewer", RoleGrant.contest_id == demo))
        return int(person), int(load), int(experts)

    person, load, experts = run_db(settings, expected)
    done = run_db(settings, lambda s: assignment.reviewer_progress(s, demo))
    assert 0 < done[person] <= load  # the demo imported initial reviews
    page = client.get(f"/staff/contests/{demo}/assign").text
    row = re.search(rf'<tr data-person="{person}">(.*?)</tr>', page, re.S)
    assert row and [int(x) for x in re.findall(r"<td[^>]*>(\d+)</td>", row.group(1))] == \
        [load, done[person], load - done[person]]
    assert "初审进度：已提交" in page

    sheet = client.post(f"/staff/contests/{demo}/qr/reviewers")
    assert sheet.status_code == 200 and "初审专家登录链接" in sheet.text
    links = dict(re.findall(r'<code class="link" data-account="(\d+)">([^<]+)</code>', sheet.text))
    assert len(links) == experts and str(reviewer) in links and sheet.text.count("<svg") == experts
    client.cookies.clear()
    assert client.get(f"/j/{old}", follow_redirects=False).status_code == 404  # the earlier link stopped working
    fresh = links[str(reviewer)].rsplit("/j/", 1)[1]
    r = client.get(f"/j/{fresh}", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].endswith("/judge")
    audit = _audit(settings, "qr.sheet")
    assert audit[-1].detail["kind"] == "reviewers" and len(audit[-1].detail["accounts"]) == experts


def test_removing_a_conflict_of_interest_needs_a_reason(settings: Settings, demo: int, client: Any) -> None:
    from judging.db.models import Conflict

    make_staff(settings)
    staff_login(client)
    conflict = run_db(settings, lambda s: s.scalar(select(Conflict.id).limit(1)))
    for reason in ("", "   "):
        r = client.post(f"/staff/contests/{demo}/conflicts/{conflict}/delete", data={"reason": reason},
                        headers={"accept": "text/html"})
        assert r.status_code == 400 and "请说明解除回避关系的原因" in r.text
    assert run_db(settings, lambda s: s.get(Conflict, conflict)) is not None
    assert _audit(settings, "conflict.delete") == []
    r = client.post(f"/staff/contests/{demo}/conflicts/{conflict}/delete", data={"reason": "已调离该单位"},
                    follow_redirects=False)
    assert r.status_code in (302, 303)
    assert run_db(settings, lambda s: s.get(Conflict, conflict)) is None
    assert [a.reason for a in _audit(settings, "conflict.delete")] == ["已调离该单位"]


def test_a_removed_automatic_conflict_is_not_added_back(settings: Settings, demo: int, client: Any) -> None:
    """Staff remove an automatic (same organization) conflict with a reason; detection does not add it back, while
    the other automatic conflicts are still detected."""
    from judging.db.models import Conflict

    make_staff(settings)
    staff_login(client)
    client.post(f"/staff/contests/{demo}/conflicts/auto")  # everything there is to detect, first
    auto = run_db(settings, lambda s: s.scalar(select(Conflict).where(Conflict.source == "auto",
                                                                        Conflict.organization.is_not(None)).limit(1)))
    assert auto is not None
    count = run_db(settings, lambda s: s.scalar(select(func.count(Conflict.id))))
    r = client.post(f"/staff/contests/{demo}/conflicts/{auto.id}/delete", data={"reason": "该评委已退休"},
                    follow_redirects=False)
    assert r.status_code in (302, 303)
    for _ in range(2):
        assert client.post(f"/staff/contests/{demo}/conflicts/auto", follow_redirects=False).status_code in (302, 303)
    assert run_db(settings, lambda s: s.scalar(select(func.count(Conflict.id)))) == count - 1
    assert run_db(settings, lambda s: s.scalar(select(Conflict.id).where(
        Conflict.person_id == auto.person_id, Conflict.organization == auto.organization))) is None
    # Another one, removed from the database behind the page's back (no audit entry), is detected again.
    other = run_db(settings, lambda s: s.scalar(select(Conflict).where(Conflict.source == "auto",
                                                                         Conflict.id != auto.id).limit(1)))
    run_db(settings, lambda s: s.delete(other))
    client.post(f"/staff/contests/{demo}/conflicts/auto")
    assert run_db(settings, lambda s: s.scalar(select(func.count(Conflict.id)))) == count - 1


def test_two_first_prints_at_once_make_one_host_and_one_screen(settings: Settings, demo: int) -> None:
    """An older venue without its host and screen accounts, its sheet printed twice at the same moment (a double
    click): the venue's row lock makes the second find the first's accounts (on PostgreSQL, without it, both
    found none and each created a host and a screen)."""
    import asyncio
    import contextlib

    from sqlalchemy import delete

    from judging.db.engine import Database
    from judging.db.models import Account, RoleGrant

    vid = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == demo, Venue.code == "V1")))

    async def strip(session: Any) -> None:
        ids = (await session.execute(select(RoleGrant.account_id).where(
            RoleGrant.venue_id == vid, RoleGrant.role.in_(("host", "display"))))).scalars().all()
        await session.execute(delete(Account).where(Account.id.in_(ids)))

    run_db(settings, strip)

    async def both() -> None:
        db = Database(settings, null_pool=True)
        started = asyncio.Barrier(2)

        async def ensure() -> None:
            async with db.write() as session:
                venue = await session.get(Venue, vid)
                with contextlib.suppress(TimeoutError):  # on SQLite the second starts once the first committed
                    await asyncio.wait_for(started.wait(), 1.0)
                await assignment.ensure_venue_accounts(session, venue)

        try:
            await asyncio.gather(ensure(), ensure())
        finally:
            await db.dispose()

    asyncio.run(both())
    roles = run_db(settings, lambda s: s.execute(select(RoleGrant.role).where(
        RoleGrant.venue_id == vid, RoleGrant.role.in_(("host", "display")))))
    assert sorted(r for (r,) in roles) == ["display", "host"]
