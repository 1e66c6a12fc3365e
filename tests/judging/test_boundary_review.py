"""Boundary review: before a preview is approved, staff decide on each entry whose grade the data cannot settle —
keep the computed grade, or give another with a reason. Decisions are audited, shown on the run page, kept in
the grade list and its exports, re-applied by the recompute check, and approval waits for all of them."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from judging.db.models import AuditLog, GradeResult, GradeRun
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login
from tests.judging.staff_support import keep_boundary_grades


def _audit(settings: Settings) -> list[AuditLog]:
    async def go(session: Any) -> list[AuditLog]:
        return list((await session.execute(select(AuditLog).where(AuditLog.action == "grades.review")
                                           .order_by(AuditLog.id))).scalars())

    return run_db(settings, go)


def _boundary_entry_and_another_grade(run: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The run's first boundary-review entry, and a grade of its rule other than the entry's."""
    target = next(x for x in run["results"] if x["boundary"])
    return target, next(n for n in run["counts"] if n != target["grade"])


def _preview(client: Any, contest_id: int) -> dict[str, Any]:
    r = client.post(f"/api/staff/contests/{contest_id}/grading/preview", json={"draws": 200})
    assert r.status_code == 200, r.text
    run: dict[str, Any] = r.json()
    return run


def test_approval_waits_for_a_decision_on_every_boundary_entry(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    listed = [x for x in run["results"] if x["boundary"]]
    assert run["boundary"] == len(listed) >= 2, "the seeded contest must have boundary cases to review"
    names = list(run["counts"])
    page = client.get(f"/staff/contests/{scored}/runs/{run['id']}").text
    assert page.count('class="inline review-form"') == len(listed) and 'id="finalize"' not in page
    assert f"尚有 {len(listed)} 个临界成果未作复核决定" in page

    # Approval is refused, naming the entries.
    r = client.post(f"/api/staff/runs/{run['id']}/finalize")
    assert r.status_code == 409 and all(x["code"] in r.json()["error"]["message"] for x in listed)

    # Refusals that change nothing: not on the list, a grade the rule does not have, a change without a reason.
    other = next(x for x in run["results"] if not x["boundary"])
    first, second = listed[0], listed[1]
    changed_to = next(n for n in names if n != second["grade"])
    for body in ({"entry_id": other["entry_id"], "grade": other["grade"]},
                 {"entry_id": first["entry_id"], "grade": "特等奖"},
                 {"entry_id": second["entry_id"], "grade": changed_to, "reason": " "}):
        r = client.post(f"/api/staff/runs/{run['id']}/review", json=body)
        assert r.status_code == 409 and r.json()["error"]["code"] == "review_refused", r.text
        if body["entry_id"] == other["entry_id"]:  # named by its code, as staff know it, not a database id
            assert other["code"] in r.json()["error"]["message"], r.text
    assert _audit(settings) == []

    # Keep one (no reason needed); change one with a reason (through the page's form).
    r = client.post(f"/api/staff/runs/{run['id']}/review", json={"entry_id": first["entry_id"],
                                                                  "grade": first["grade"]})
    assert r.status_code == 200, r.text
    assert (r.json()["kept"], r.json()["unreviewed"]) == (True, len(listed) - 1)
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/review", follow_redirects=False,
                    data={"entry_id": str(second["entry_id"]), "grade": changed_to, "reason": "现场答辩表现突出"})
    assert r.status_code in (302, 303) and r.headers["location"].endswith("msg=reviewed#boundary")
    audit = _audit(settings)
    assert [(a.entry_id, a.detail["grade"], a.detail["computed_grade"], a.reason) for a in audit] == [
        (first["entry_id"], first["grade"], first["grade"], ""),
        (second["entry_id"], changed_to, second["grade"], "现场答辩表现突出")]
    page = client.get(f"/staff/contests/{scored}/runs/{run['id']}").text
    assert f"改为：{changed_to}" in page and "现场答辩表现突出" in page and f"维持：{first['grade']}" in page

    # The rest kept; then approval goes through, and the stamped list carries the decision.
    for x in listed[2:]:
        assert client.post(f"/api/staff/runs/{run['id']}/review",
                           json={"entry_id": x["entry_id"], "grade": x["grade"]}).status_code == 200
    page = client.get(f"/staff/contests/{scored}/runs/{run['id']}").text
    assert 'id="finalize"' in page and "未作复核决定" not in page
    r = client.post(f"/api/staff/runs/{run['id']}/finalize")
    assert r.status_code == 200 and r.json()["status"] == "final", r.text
    final = {x["entry_id"]: x for x in r.json()["results"]}
    assert final[second["entry_id"]]["grade"] == changed_to
    assert final[second["entry_id"]]["review"]["from"] == second["grade"]
    assert {x["entry_id"]: x["grade"] for x in r.json()["results"] if x["entry_id"] != second["entry_id"]} == \
        {x["entry_id"]: x["grade"] for x in run["results"] if x["entry_id"] != second["entry_id"]}
    # A final list's decisions are settled.
    r = client.post(f"/api/staff/runs/{run['id']}/review", json={"entry_id": first["entry_id"],
                                                                  "grade": first["grade"]})
    assert r.status_code == 409

    # The recompute check re-applies the decisions: the stamped list is reproducible.
    v = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert v["ok"] and v["current"], v

    # The Excel grade list shows the reviewed grade and the decision.
    wb = load_workbook(io.BytesIO(client.get(f"/staff/contests/{scored}/runs/{run['id']}/export/grades.xlsx").content))
    rows = [[c for c in row] for row in wb.active.iter_rows(values_only=True)]
    header = rows[2]
    line = next(row for row in rows if row[header.index("成果编号")] == second["code"])
    assert line[header.index("等级")] == changed_to
    assert line[header.index("临界复核")] == f"由{second['grade']}改为{changed_to}：现场答辩表现突出"


def test_the_recompute_check_reports_a_decision_made_on_another_grade(settings: Settings, scored: int,
                                                                      client: Any) -> None:
    """A decision records the computed grade it was made on; if recomputing gives another grade, the check says
    so instead of silently applying the decision."""
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    listed = [x for x in run["results"] if x["boundary"]]
    keep_boundary_grades(client, run)
    assert client.post(f"/api/staff/runs/{run['id']}/finalize").status_code == 200
    target = listed[0]
    wrong = next(n for n in run["counts"] if n != target["grade"])

    async def tamper(session: Any) -> None:  # as if the decision had been made on another computed grade
        stored = await session.get(GradeRun, run["id"])
        reviews = dict(stored.config["reviews"])
        reviews[str(target["entry_id"])] = {**reviews[str(target["entry_id"])], "from": wrong}
        stored.config = {**stored.config, "reviews": reviews}
        assert (await session.execute(select(GradeResult).where(GradeResult.run_id == run["id"]))).first()

    run_db(settings, tamper)
    v = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert not v["ok"] and any(target["code"] in m and wrong in m for m in v["mismatches"]), v


def test_the_printable_list_marks_a_changed_grade(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    printable = client.get(f"/staff/contests/{scored}/runs/{run['id']}/export/print").text
    assert "※" not in printable
    target, to = _boundary_entry_and_another_grade(run)
    r = client.post(f"/api/staff/runs/{run['id']}/review",
                    json={"entry_id": target["entry_id"], "grade": to, "reason": "评审委员会复议"})
    assert r.status_code == 200, r.text
    printable = client.get(f"/staff/contests/{scored}/runs/{run['id']}/export/print").text
    assert printable.count("※") == 2 and "等级经临界复核调整" in printable  # the entry's mark and the legend


def test_a_refused_decision_on_the_page_is_explained_in_chinese(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    target, to = _boundary_entry_and_another_grade(run)
    form = {"entry_id": str(target["entry_id"]), "grade": to, "reason": ""}
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/review", data=form,
                    headers={"Accept": "text/html"})
    assert r.status_code == 409 and "无法保存" in r.text and "改变等级需要填写理由" in r.text
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/finalize", headers={"Accept": "text/html"})
    assert r.status_code == 409 and "个临界成果未作复核决定" in r.text and target["code"] in r.text
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/review?lang=en", data=form,
                    headers={"Accept": "text/html"})
    assert r.status_code == 409 and "a changed grade needs a reason" in r.text
    assert _audit(settings) == []


def test_two_decisions_at_once_are_both_kept(settings: Settings, scored: int, client: Any) -> None:
    """Two staff decide on two entries at the same moment, each request having read the run first (as the page
    route does): the run's row lock serializes them and the second works on the row as the first left it, so both
    decisions are kept (without the lock, on PostgreSQL, the second wrote its stale copy over the first)."""
    import asyncio
    import contextlib

    from judging.db.engine import Database
    from judging.staff import grading

    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    first, second = [x for x in run["results"] if x["boundary"]][:2]

    async def both() -> None:
        db = Database(settings, null_pool=True)  # a connection each (the tests' pool may hold one)
        loaded = asyncio.Barrier(2)

        async def decide(entry: dict[str, Any]) -> None:
            async with db.write() as session:
                assert await session.get(GradeRun, run["id"]) is not None  # read before the lock, like the route
                with contextlib.suppress(TimeoutError):  # on SQLite the second starts once the first committed
                    await asyncio.wait_for(loaded.wait(), 1.0)
                await grading.review_boundary(session, run["id"], entry["entry_id"], entry["grade"], "", None, "t")

        try:
            await asyncio.gather(decide(first), decide(second))
        finally:
            await db.dispose()

    asyncio.run(both())
    stored = run_db(settings, lambda s: s.get(GradeRun, run["id"]))
    assert set(stored.config["reviews"]) == {str(first["entry_id"]), str(second["entry_id"])}


def test_approval_refuses_decisions_the_page_did_not_show(settings: Settings, scored: int, client: Any) -> None:
    import re

    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    listed = [x for x in run["results"] if x["boundary"]]
    keep_boundary_grades(client, run)
    seen = re.search(r'name="reviews" value="([0-9a-f]+)"',
                     client.get(f"/staff/contests/{scored}/runs/{run['id']}").text)
    assert seen
    # Someone changes a decision after the owner opened the page.
    to = next(n for n in run["counts"] if n != listed[0]["grade"])
    client.post(f"/api/staff/runs/{run['id']}/review",
                json={"entry_id": listed[0]["entry_id"], "grade": to, "reason": "复议后调整"})
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/finalize", data={"reviews": seen.group(1)},
                    headers={"Accept": "text/html"})
    assert r.status_code == 409 and "临界复核决定已有变动" in r.text
    fresh = re.search(r'name="reviews" value="([0-9a-f]+)"',
                      client.get(f"/staff/contests/{scored}/runs/{run['id']}").text)
    assert fresh and fresh.group(1) != seen.group(1)
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/finalize", data={"reviews": fresh.group(1)},
                    follow_redirects=False)
    assert r.status_code in (302, 303)


def test_an_entry_moved_to_no_grade_is_not_recommended(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    target = next((x for x in run["results"] if x["boundary"] and x["recommended"]), None)
    if target is None:  # the demo's rule recommends nobody onward: turn it on and compute again
        run_db(settings, lambda s: _recommend_top(s, scored, 10))
        run = _preview(client, scored)
        target = next(x for x in run["results"] if x["boundary"] and x["recommended"])
    ungraded = run_db(settings, lambda s: _setting(s, run["id"], "ungraded"))
    r = client.post(f"/api/staff/runs/{run['id']}/review",
                    json={"entry_id": target["entry_id"], "grade": ungraded, "reason": "材料不实"})
    assert r.status_code == 200, r.text
    after = {x["entry_id"]: x for x in client.get(f"/api/staff/contests/{scored}/runs/{run['id']}").json()["results"]}
    assert after[target["entry_id"]]["recommended"] is False
    for x in run["results"]:
        if x["boundary"] and x["entry_id"] != target["entry_id"]:
            client.post(f"/api/staff/runs/{run['id']}/review", json={"entry_id": x["entry_id"], "grade": x["grade"]})
    assert client.post(f"/api/staff/runs/{run['id']}/finalize").status_code == 200
    v = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert v["ok"], v  # the recompute applies the same rule


def test_a_long_reason_is_refused_and_changes_nothing(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = _preview(client, scored)
    target, to = _boundary_entry_and_another_grade(run)
    r = client.post(f"/api/staff/runs/{run['id']}/review",
                    json={"entry_id": target["entry_id"], "grade": to, "reason": "长" * 501})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = client.post(f"/staff/contests/{scored}/runs/{run['id']}/review", headers={"Accept": "text/html"},
                    data={"entry_id": str(target["entry_id"]), "grade": to, "reason": "长" * 501})
    assert r.status_code == 409 and "理由太长" in r.text
    assert _audit(settings) == []


async def _recommend_top(session: Any, contest_id: int, k: int) -> None:
    from judging.db.models import Contest

    contest = await session.get(Contest, contest_id)
    contest.grade_rule = {**(contest.grade_rule or {}), "recommend_top_k": k}


async def _setting(session: Any, run_id: int, key: str) -> Any:
    return (await session.get(GradeRun, run_id)).config["settings"][key]


def test_approval_makes_the_released_results_official_on_the_feeds(settings: Settings, scored: int,
                                                                   client: Any) -> None:
    """The result lifecycle's last step: approving the grade list turns every released entry "official" (in the
    same transaction) and announces it (``grades.finalized``), so screens and the board show the badge. Entries
    not released yet keep their status."""
    from sqlalchemy import update

    from judging.db.models import Entry, Event

    make_staff(settings)
    staff_login(client)
    entries = run_db(settings, lambda s: _ids(s, scored))
    released, waiting = entries[:4], entries[4:6]

    async def release(session: Any) -> None:
        await session.execute(update(Entry).where(Entry.id.in_(released)).values(status="released"))
        await session.execute(update(Entry).where(Entry.id.in_(waiting)).values(status="scoring"))

    run_db(settings, release)
    run = _preview(client, scored)
    keep_boundary_grades(client, run)
    assert client.post(f"/api/staff/runs/{run['id']}/finalize").status_code == 200

    async def after(session: Any) -> tuple[dict[int, str], list[Any]]:
        statuses = dict((await session.execute(select(Entry.id, Entry.status).where(Entry.id.in_(entries[:6])))).all())
        events = (await session.execute(select(Event).where(Event.kind == "grades.finalized"))).scalars().all()
        return statuses, [(e.contest_id, e.venue_id, e.payload) for e in events]

    statuses, events = run_db(settings, after)
    assert {i: statuses[i] for i in released} == dict.fromkeys(released, "official")
    assert {i: statuses[i] for i in waiting} == dict.fromkeys(waiting, "scoring")
    assert len(events) == 1
    contest_id, venue_id, payload = events[0]
    assert (contest_id, venue_id) == (scored, None)  # every venue's feed and the board
    assert payload["contest_id"] == scored and sorted(payload["entry_ids"]) == sorted(released)
    board = client.get(f"/api/live/board/{scored}").json()["state"]
    shown = {int(k): v["status"] for k, v in board["entries"].items()}
    assert {i: shown[i] for i in released} == dict.fromkeys(released, "official")


async def _ids(session: Any, contest_id: int) -> list[int]:
    from judging.db.models import Entry

    return list((await session.execute(select(Entry.id).where(Entry.contest_id == contest_id)
                                        .order_by(Entry.id))).scalars())
