"""Score sheet API: exactly-once submission, stale edits, refusals with their messages, rubric freeze, history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from judging.db.models import (
    AuditLog,
    Entry,
    Event,
    ReviewerAssignment,
    Rubric,
    ScoreSheet,
    SheetVersion,
    Stage,
)
from judging.settings import Settings
from judging.sheets import SheetRubric, fmt, parse_points
from tests.conftest import run_db
from tests.helpers import make_staff
from tests.judging.sheet_helpers import Panel, bearer, good_values, new_cid, panel, sheet_body


@pytest.fixture
def p(settings: Settings, demo: int) -> Panel:
    return panel(settings)


def _submit(client: TestClient[Any], judge_headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/api/judge/sheets", json=body, headers=judge_headers)


def _error(r: Any) -> tuple[str, str]:
    err = r.json()["error"]
    assert err["message"], "every refusal carries a message a person can act on"
    return err["code"], err["message"]


def test_submit_returns_receipt_and_replay_returns_the_original(client: TestClient[Any], p: Panel,
                                                                settings: Settings) -> None:
    judge = p.judges[1]
    body = sheet_body(p, p.entries[1])
    first = _submit(client, judge.headers, body)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["version"] == 1 and receipt["entry_id"] == p.entries[1] and receipt["stage"] == "onsite"
    assert Decimal(receipt["total"]) == sum(Decimal(v) for v in body["values"].values())
    for _ in range(3):
        again = _submit(client, judge.headers, body)
        assert again.status_code == 200
        assert again.json() == receipt  # same sheet id, version and server time
    # Exactly one version is stored, with who/device/IP.
    rows = run_db(settings, lambda s: _versions(s, receipt["sheet_id"]))
    assert [(r.version, r.is_current) for r in rows] == [(1, True)]
    assert rows[0].account_id == judge.account_id and rows[0].device_id == "tablet-test" and rows[0].ip
    assert rows[0].values == {k: fmt(Decimal(v)) for k, v in body["values"].items()}


async def _versions(session: Any, sheet_id: int) -> list[SheetVersion]:
    return list((await session.execute(
        select(SheetVersion).where(SheetVersion.sheet_id == sheet_id).order_by(SheetVersion.version))).scalars())


def test_replay_after_lock_still_returns_receipt(client: TestClient[Any], p: Panel) -> None:
    # A tablet whose acknowledgement was lost retries after the chief locked the entry: it must get its receipt.
    body = sheet_body(p, p.entries[1])
    receipt = _submit(client, p.judges[1].headers, body).json()
    assert client.post(f"/api/chief/entries/{p.entries[1]}/lock", json={}, headers=p.judges[0].headers).is_success
    again = _submit(client, p.judges[1].headers, body)
    assert again.status_code == 200 and again.json() == receipt


def test_edit_with_base_version_and_stale_edit_409(client: TestClient[Any], p: Panel) -> None:
    judge, entry = p.judges[1], p.entries[2]
    v1 = _submit(client, judge.headers, sheet_body(p, entry)).json()
    edit = sheet_body(p, entry, base_version=1, comment="更正")
    v2 = _submit(client, judge.headers, edit)
    assert v2.status_code == 201 and v2.json()["version"] == 2 and v2.json()["sheet_id"] == v1["sheet_id"]
    # Another device still holding version 1 edits: refused with the current version.
    stale = _submit(client, judge.headers, sheet_body(p, entry, base_version=1))
    assert stale.status_code == 409
    code, message = _error(stale)
    assert code == "stale_version" and "version 2" in message
    assert stale.json()["error"]["detail"]["current_version"] == 2
    # A "first" submission from a device that never saw the sheet is stale too (no silent overwrite).
    blind = _submit(client, judge.headers, sheet_body(p, entry))
    assert blind.status_code == 409 and _error(blind)[0] == "stale_version"
    # The replay of v2 still answers with v2's receipt.
    assert _submit(client, judge.headers, edit).json() == v2.json()


@pytest.mark.parametrize(("change", "code", "status", "words"), [
    ({"values": {"topic": "3"}}, "items_missing", 422, "Score every item"),
    ({"extra_item": "1"}, "item_unknown", 422, "no item 'bogus'"),
    ({"item": ("topic", "99")}, "item_out_of_range", 422, "outside 0 to"),
    ({"item": ("topic", "-1")}, "item_out_of_range", 422, "outside 0 to"),
    ({"item": ("topic", "3.3")}, "item_off_step", 422, "not a multiple of 0.5"),
    ({"item": ("topic", "3.25")}, "item_off_step", 422, "not a multiple of 0.5"),
    ({"item": ("topic", "abc")}, "item_not_number", 422, "not a number"),
    ({"item": ("topic", "NaN")}, "item_not_number", 422, "not a number"),
])
def test_invalid_values_refused_with_message(client: TestClient[Any], p: Panel, change: dict[str, Any], code: str,
                                             status: int, words: str) -> None:
    entry = p.entries[1]
    body = sheet_body(p, entry)
    if "values" in change:
        body["values"] = change["values"]
    if "extra_item" in change:
        body["values"]["bogus"] = change["extra_item"]
    if "item" in change:
        key, value = change["item"]
        body["values"][key] = value
    r = _submit(client, p.judges[1].headers, body)
    assert r.status_code == status
    got, message = _error(r)
    assert got == code and words in message
    if code.startswith("item_") and code != "item_unknown":
        assert r.json()["error"]["detail"]["item"] == "topic"


def test_numbers_and_strings_accepted_exactly(client: TestClient[Any], p: Panel) -> None:
    entry = p.entries[1]
    items = p.items[entry]
    values: dict[str, Any] = {k: float(mx) for k, mx, _ in items}  # full marks as JSON numbers
    values[items[0][0]] = "12.50"
    r = _submit(client, p.judges[1].headers, {"client_submission_id": new_cid(), "entry_id": entry, "values": values})
    assert r.status_code == 201, r.text
    assert Decimal(r.json()["total"]) == sum(mx for _, mx, _ in items) - items[0][1] + Decimal("12.5")


def test_refusals_venue_conflict_lock_revoked(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    judge = p.judges[1]
    r = _submit(client, judge.headers, sheet_body(p, p.entries[1], entry_id=p.other_venue_entry))
    assert r.status_code == 403 and _error(r)[0] == "not_your_venue"
    # Organization conflict (judge 2) and declared conflict on one entry (judge 3).
    r = _submit(client, p.judges[2].headers, sheet_body(p, p.entries[0]))
    code, message = _error(r)
    assert r.status_code == 403 and code == "conflicted" and "回避" in message
    r = _submit(client, p.judges[3].headers, sheet_body(p, p.entries[4]))
    assert r.status_code == 403 and _error(r)[0] == "conflicted"
    # Not assigned for initial review.
    r = _submit(client, judge.headers, sheet_body(p, p.entries[1], stage="initial"))
    assert r.status_code == 403 and _error(r)[0] == "not_assigned"
    # Locked by the chief judge.
    assert client.post(f"/api/chief/entries/{p.entries[3]}/lock", json={"reason": "评分结束"},
                       headers=p.judges[0].headers).status_code == 200
    r = _submit(client, judge.headers, sheet_body(p, p.entries[3]))
    code, message = _error(r)
    assert r.status_code == 423 and code == "sheet_locked" and "chief judge" in message
    # Unknown entry, absent entry.
    r = _submit(client, judge.headers, sheet_body(p, p.entries[1], entry_id=999999))
    assert r.status_code == 404 and _error(r)[0] == "entry_not_found"
    run_db(settings, lambda s: s.execute(update(Entry).where(Entry.id == p.entries[5]).values(status="absent")))
    r = _submit(client, judge.headers, sheet_body(p, p.entries[5]))
    assert r.status_code == 409 and _error(r)[0] == "entry_not_scorable"
    # Revoked token: the next request is refused as not authenticated.
    staff = bearer(settings, make_staff(settings))
    assert client.post(f"/api/staff/accounts/{judge.account_id}/revoke", headers=staff).status_code == 200
    r = _submit(client, judge.headers, sheet_body(p, p.entries[1]))
    assert r.status_code == 401 and _error(r)[0] == "not_authenticated"
    # A bad client id and a mismatching Idempotency-Key header.
    fresh = bearer(settings, p.judges[4].account_id)
    r = _submit(client, fresh, sheet_body(p, p.entries[1], client_submission_id="not-random"))
    assert r.status_code == 400 and "client_submission_id" in _error(r)[1]
    r = client.post("/api/judge/sheets", json=sheet_body(p, p.entries[1]),
                    headers={**fresh, "Idempotency-Key": new_cid()})
    assert r.status_code == 400 and _error(r)[0] == "idempotency_key_mismatch"


def test_client_id_reused_by_another_judge_is_refused(client: TestClient[Any], p: Panel) -> None:
    body = sheet_body(p, p.entries[1])
    assert _submit(client, p.judges[1].headers, body).status_code == 201
    r = _submit(client, p.judges[4].headers, body)
    assert r.status_code == 409 and _error(r)[0] == "client_id_reused"


def test_first_score_freezes_rubric(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    entry = p.entries[1]

    async def frozen(session: Any) -> Any:
        e = await session.get(Entry, entry)
        return (await session.execute(
            select(Rubric.frozen_at).join(Stage, Stage.id == Rubric.stage_id)
            .where(Rubric.topic_type_id == e.topic_type_id, Stage.kind == "onsite"))).scalar_one()

    assert run_db(settings, frozen) is None
    state = client.get("/api/judge/state", headers=p.judges[1].headers).json()
    rubric_id = next(e["rubric_id"] for e in state["entries"] if e["id"] == entry)
    assert next(r for r in state["rubrics"] if r["id"] == rubric_id)["frozen"] is False
    assert _submit(client, p.judges[1].headers, sheet_body(p, entry)).status_code == 201
    assert run_db(settings, frozen) is not None
    state = client.get("/api/judge/state", headers=p.judges[1].headers).json()
    assert next(r for r in state["rubrics"] if r["id"] == rubric_id)["frozen"] is True
    actions = run_db(settings, lambda s: _scalars(s, select(AuditLog.action)))
    assert "rubric.freeze" in actions


async def _scalars(session: Any, stmt: Any) -> list[Any]:
    return list((await session.execute(stmt)).scalars())


def test_sheet_validates_against_its_own_rubric() -> None:
    from judging.db.models import RubricItem

    items = [RubricItem(key="a", label_zh="甲", label_en="A", max_points=Decimal("15"), step=Decimal("0.5"),
                        position=0),
             RubricItem(key="b", label_zh="乙", label_en="B", max_points=Decimal("5"), step=Decimal("0.1"),
                        position=1)]
    values, total = SheetRubric(items).check({"a": "14.5", "b": "0.3"})
    assert values == {"a": "14.5", "b": "0.3"} and total == Decimal("14.8")  # exact, no float drift
    assert parse_points("1e3") is None and parse_points(True) is None and parse_points(2) == Decimal(2)


def test_history_keeps_every_version_with_who_when_device_ip(client: TestClient[Any], p: Panel,
                                                             settings: Settings) -> None:
    judge, entry = p.judges[1], p.entries[1]
    r1 = _submit(client, judge.headers, sheet_body(p, entry, device_id="pad-A")).json()
    r2 = _submit(client, judge.headers, sheet_body(p, entry, base_version=1, device_id="pad-B",
                                                    comment="第二次")).json()
    hist = client.get(f"/api/judge/sheets/{r1['sheet_id']}/history", headers=judge.headers)
    assert hist.status_code == 200
    h = hist.json()
    assert [v["version"] for v in h["versions"]] == [1, 2]
    assert [v["is_current"] for v in h["versions"]] == [False, True]
    assert [v["device_id"] for v in h["versions"]] == ["pad-A", "pad-B"]
    for v, receipt in zip(h["versions"], (r1, r2), strict=True):
        assert v["account_id"] == judge.account_id and v["account_name"] and v["ip"]
        assert v["created_at"] == receipt["server_time"] and v["total"] == receipt["total"]
    assert h["versions"][1]["comment"] == "第二次" and h["versions"][1]["base_version"] == 1
    # Another judge cannot read it.
    other = client.get(f"/api/judge/sheets/{r1['sheet_id']}/history", headers=p.judges[4].headers)
    assert other.status_code == 403 and _error(other)[0] == "not_your_sheet"
    # Staff can.
    staff = bearer(settings, make_staff(settings))
    staff_view = client.get(f"/api/chief/sheets/{r1['sheet_id']}/history", headers=staff)
    assert staff_view.status_code == 200 and staff_view.json() == h
    # The chief judge sees it only after the result is released.
    chief_url = f"/api/chief/sheets/{r1['sheet_id']}/history"
    assert client.get(chief_url, headers=p.judges[0].headers).status_code == 403
    run_db(settings, lambda s: s.execute(update(Entry).where(Entry.id == entry).values(status="released")))
    assert client.get(chief_url, headers=p.judges[0].headers).json() == h


def test_event_written_without_values(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    receipt = _submit(client, p.judges[1].headers, sheet_body(p, p.entries[1])).json()
    events = run_db(settings, lambda s: _scalars(s, select(Event).where(Event.kind == "sheet.submitted")))
    assert len(events) == 1
    assert events[0].payload == {"entry_id": p.entries[1], "venue_id": p.venue_id,
                                 "person_id": p.judges[1].person_id, "version": 1, "stage": "onsite"}
    assert receipt["total"] not in str(events[0].payload.values())


def test_reviewer_scores_assigned_entry_in_initial_stage(client: TestClient[Any], p: Panel,
                                                         settings: Settings) -> None:
    # A new assignment for a demo reviewer (the demo's own initial sheets are imported and locked).
    async def setup(session: Any) -> tuple[int, int, list[tuple[str, Decimal, Decimal]]]:
        from judging.db.models import Account, Person, RoleGrant, RubricItem

        reviewer = (await session.execute(
            select(Account).join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.role == "reviewer").order_by(Account.id).limit(1))).scalar_one()
        assigned = set((await session.execute(select(ReviewerAssignment.entry_id).where(
            ReviewerAssignment.person_id == reviewer.person_id))).scalars())
        entry = (await session.execute(select(Entry).where(Entry.id.not_in(assigned)).order_by(Entry.id)
                                       .limit(1))).scalar_one()
        session.add(ReviewerAssignment(entry_id=entry.id, person_id=reviewer.person_id))
        entry.report_url = "https://example.org/report.pdf"
        assert await session.get(Person, reviewer.person_id)
        items = (await session.execute(
            select(RubricItem.key, RubricItem.max_points, RubricItem.step)
            .join(Rubric, Rubric.id == RubricItem.rubric_id).join(Stage, Stage.id == Rubric.stage_id)
            .where(Rubric.topic_type_id == entry.topic_type_id, Stage.kind == "initial")
            .order_by(RubricItem.position))).all()
        return reviewer.id, entry.id, [(k, Decimal(m), Decimal(s)) for k, m, s in items]

    account, entry, items = run_db(settings, setup)
    headers = bearer(settings, account)
    state = client.get("/api/judge/state", headers=headers).json()
    mine = next(e for e in state["entries"] if e["id"] == entry)
    assert mine["stage"] == "initial" and mine["report_url"].endswith("report.pdf") and mine["sheet"] is None
    locked = [e for e in state["entries"] if e["id"] != entry]
    assert locked and all(e["sheet"]["locked"] for e in locked)  # the imported demo reviews
    body = {"client_submission_id": new_cid(), "entry_id": entry, "stage": "initial", "values": good_values(items)}
    r = client.post("/api/judge/sheets", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["stage"] == "initial"
    # The imported, locked sheets refuse corrections.
    target = locked[0]
    r = client.post("/api/judge/sheets", headers=headers, json={
        "client_submission_id": new_cid(), "entry_id": target["id"], "stage": "initial",
        "values": target["sheet"]["values"], "base_version": 1})
    assert r.status_code == 423 and r.json()["error"]["code"] == "sheet_locked"


def test_sheets_unique_per_stage_entry_person(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    for judge in (p.judges[1], p.judges[4]):
        assert _submit(client, judge.headers, sheet_body(p, p.entries[1])).status_code == 201
    panel_people = [j.person_id for j in p.judges]
    sheets = run_db(settings, lambda s: _scalars(s, select(ScoreSheet).where(
        ScoreSheet.entry_id == p.entries[1], ScoreSheet.person_id.in_(panel_people))))
    assert sorted(s.person_id for s in sheets) == sorted([p.judges[1].person_id, p.judges[4].person_id])


def test_a_correction_after_finalization_outdates_the_grade_list_at_once(client: TestClient[Any], p: Panel,
                                                                         settings: Settings) -> None:
    """The final grade list is marked outdated in the same transaction as the new sheet version."""
    from judging.db.models import AuditLog, Entry, GradeRun

    async def finalize(session: Any) -> int:
        contest_id = (await session.get(Entry, p.entries[1])).contest_id
        run = GradeRun(contest_id=contest_id, status="final", config={}, input_digest="x", engine_version="t")
        session.add(run)
        await session.flush()
        return int(run.id)

    run_id = run_db(settings, finalize)
    assert _submit(client, p.judges[1].headers, sheet_body(p, p.entries[1])).status_code == 201

    async def check(session: Any) -> tuple[str, list[str]]:
        run = await session.get(GradeRun, run_id)
        actions = list((await session.execute(select(AuditLog.action))).scalars())
        return run.status, actions

    status, actions = run_db(settings, check)
    assert status == "outdated" and "grades.outdated" in actions
