"""Judge state, heartbeat, help call, chief judge lock/reopen, the tablet and guide pages, no foreign values."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select, update

from judging.db.models import (
    AuditLog,
    Entry,
    Event,
    HelpCall,
    Presence,
    RoleGrant,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import login_link, make_staff
from tests.judging.sheet_helpers import Panel, bearer, panel, sheet_body
from tests.live.helpers import age_presence


@pytest.fixture
def p(settings: Settings, demo: int) -> Panel:
    return panel(settings)


async def _all(session: Any, stmt: Any) -> list[Any]:
    return list((await session.execute(stmt)).scalars())


def test_state_lists_entries_rubrics_current_entry_and_recusals(client: TestClient[Any], p: Panel,
                                                                settings: Settings) -> None:
    run_db(settings, lambda s: s.execute(update(Venue).where(Venue.id == p.venue_id)
                                         .values(current_entry_id=p.entries[2])))
    r = client.get("/api/judge/state", headers=p.judges[2].headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    state = r.json()
    assert [v["current_entry_id"] for v in state["venues"]] == [p.entries[2]]
    assert [e["id"] for e in state["entries"] if e["stage"] == "onsite"] == p.entries
    recused = next(e for e in state["entries"] if e["id"] == p.entries[0])
    assert recused["conflicted"] is True and recused["rubric_id"] is None and recused["sheet"] is None
    open_entry = next(e for e in state["entries"] if e["id"] == p.entries[1])
    rubric = next(r for r in state["rubrics"] if r["id"] == open_entry["rubric_id"])
    assert rubric["max_total"] == "100" and all(i["step"] == "0.5" for i in rubric["items"])
    assert [i["key"] for i in rubric["items"]] == [k for k, _, _ in p.items[p.entries[1]]]


def test_no_foreign_values_in_any_judge_response_before_release(client: TestClient[Any], p: Panel,
                                                                settings: Settings) -> None:
    # Judge 1 scores with a distinctive comment and values; judge 4 and the chief look at everything they can.
    body = sheet_body(p, p.entries[1], comment="SECRET-COMMENT-1")
    receipt = client.post("/api/judge/sheets", json=body, headers=p.judges[1].headers).json()
    other_body = sheet_body(p, p.entries[1])
    assert client.post("/api/judge/sheets", json=other_body, headers=p.judges[4].headers).status_code == 201
    for judge in (p.judges[4], p.judges[0]):
        responses = [client.get("/api/judge/state", headers=judge.headers),
                     client.get("/api/judge/home", headers=judge.headers),
                     client.get("/judge", headers=judge.headers),
                     client.get(f"/api/judge/sheets/{receipt['sheet_id']}/history", headers=judge.headers)]
        text = " ".join(r.text for r in responses)
        assert "SECRET-COMMENT-1" not in text
        state = responses[0].json()
        for e in state["entries"]:
            assert e["sheet"] is None or e["sheet"]["sheet_id"] != receipt["sheet_id"]
        assert responses[3].status_code == 403
    progress = client.get(f"/api/chief/venues/{p.venue_id}/progress", headers=p.judges[0].headers)
    assert progress.status_code == 200
    assert "SECRET-COMMENT-1" not in progress.text and "values" not in progress.text and "total" not in progress.text
    row = next(e for e in progress.json()["entries"] if e["entry_id"] == p.entries[1])
    assert {s["person_id"]: s["version"] for s in row["sheets"]}[p.judges[1].person_id] == 1
    # The event carries no values either.
    events = run_db(settings, lambda s: _all(s, select(Event.payload).where(Event.kind == "sheet.submitted")))
    assert all(set(e) == {"entry_id", "venue_id", "person_id", "version", "stage"} for e in events)
    # After release the chief judge may read the history.
    run_db(settings, lambda s: s.execute(update(Entry).where(Entry.id == p.entries[1]).values(status="released")))
    hist = client.get(f"/api/chief/sheets/{receipt['sheet_id']}/history", headers=p.judges[0].headers)
    assert hist.status_code == 200 and hist.json()["versions"][0]["comment"] == "SECRET-COMMENT-1"
    # ... but a plain judge still cannot.
    assert client.get(f"/api/chief/sheets/{receipt['sheet_id']}/history", headers=p.judges[4].headers
                      ).status_code == 403


def test_heartbeat_upserts_presence_and_throttles_events(client: TestClient[Any], p: Panel,
                                                         settings: Settings) -> None:
    judge = p.judges[1]
    beat = {"device_id": "pad-7", "app_version": "tablet-1", "queued": 2, "online": True}
    for _ in range(3):
        r = client.post("/api/judge/heartbeat", json=beat, headers=judge.headers)
        assert r.status_code == 200 and r.json()["server_time"]
    assert client.post("/api/judge/heartbeat", json={**beat, "queued": 0}, headers=judge.headers).status_code == 200
    rows = run_db(settings, lambda s: _all(s, select(Presence).where(Presence.account_id == judge.account_id)))
    assert len(rows) == 1 and rows[0].queued == 0 and rows[0].venue_id == p.venue_id
    assert rows[0].app_version == "tablet-1"
    events = run_db(settings, lambda s: _all(s, select(Event.payload).where(Event.kind == "presence")))
    assert [e["queued"] for e in events] == [2, 0]  # only changes make events
    bad = client.post("/api/judge/heartbeat", json={"device_id": "", "queued": -1}, headers=judge.headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_unchanged_heartbeat_writes_last_seen_only_when_it_is_old(client: TestClient[Any], p: Panel,
                                                                  settings: Settings) -> None:
    """Every other heartbeat of a live tablet is a read: last_seen_at is rewritten only once it is older than
    PRESENCE_TOUCH_EVERY (or anything about the device changed)."""
    from datetime import timedelta

    from judging.sheets import PRESENCE_TOUCH_EVERY

    judge = p.judges[2]
    beat = {"device_id": "pad-9", "app_version": "tablet-1", "queued": 0, "online": True}

    def seen() -> Any:
        return run_db(settings, lambda s: _all(s, select(Presence.last_seen_at).where(
            Presence.account_id == judge.account_id)))[0]

    assert client.post("/api/judge/heartbeat", json=beat, headers=judge.headers).status_code == 200
    age_presence(settings, judge.account_id, timedelta(seconds=5))
    before = seen()
    assert client.post("/api/judge/heartbeat", json=beat, headers=judge.headers).status_code == 200
    assert seen() == before  # recent and unchanged: nothing written
    age_presence(settings, judge.account_id, PRESENCE_TOUCH_EVERY + timedelta(seconds=1))
    before = seen()
    assert client.post("/api/judge/heartbeat", json=beat, headers=judge.headers).status_code == 200
    assert seen() > before  # old enough: touched
    before = seen()
    assert client.post("/api/judge/heartbeat", json={**beat, "app_version": "tablet-2"},
                       headers=judge.headers).status_code == 200
    assert seen() > before  # a change is always written


def test_heartbeat_over_the_venue_feed(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    """tablet.js sends its heartbeat as a ``beat`` on its venue feed while that is live: recorded as the request
    would be, a repeat within PRESENCE_TOUCH_EVERY costs nothing, a malformed beat is ignored, a beat from a socket
    that is not a judge's tablet is ignored, and a revoked login's socket is closed (4401) by its next write."""
    from datetime import timedelta

    from litestar.exceptions import WebSocketDisconnect

    from judging.db.base import utcnow
    from judging.db.models import AuthToken
    from live.protocol import CLOSE_UNAUTHENTICATED, Pong, Synced
    from tests.live.helpers import receive_until

    judge = p.judges[1]
    beat = {"type": "beat", "device_id": "pad-ws", "app_version": "tablet-2", "queued": 3, "online": True}

    def presence(account_id: int) -> list[Any]:
        return run_db(settings, lambda s: _all(s, select(Presence).where(Presence.account_id == account_id)))

    def roundtrip(ws: Any, *messages: dict[str, Any]) -> None:
        """Send, then ping: the feed handles a socket's messages in order, so the pong means they were handled."""
        for m in messages:
            ws.send_text(json.dumps(m))
        ws.send_text(json.dumps({"type": "ping", "t": 7}))
        receive_until(ws, lambda m: isinstance(m, Pong) and m.t == 7)

    with client.websocket_connect(f"/ws/venue/{p.venue_id}", headers=judge.headers) as ws:
        receive_until(ws, lambda m: isinstance(m, Synced))
        roundtrip(ws, beat)
        [row] = presence(judge.account_id)
        assert (row.device_id, row.app_version, row.queued, row.online, row.venue_id) == \
            ("pad-ws", "tablet-2", 3, True, p.venue_id)
        events = run_db(settings, lambda s: _all(s, select(Event.payload).where(Event.kind == "presence")))
        assert [(e["device_id"], e["queued"]) for e in events] == [("pad-ws", 3)]

        age_presence(settings, judge.account_id, timedelta(seconds=5))
        before = presence(judge.account_id)[0].last_seen_at
        roundtrip(ws, beat, {"type": "beat", "device_id": "", "queued": -1})  # a repeat, then a malformed beat
        assert presence(judge.account_id)[0].last_seen_at == before  # nothing written for either

        roundtrip(ws, {**beat, "queued": 0})  # a change is written at once
        assert presence(judge.account_id)[0].queued == 0

        run_db(settings, lambda s: s.execute(update(AuthToken).where(AuthToken.account_id == judge.account_id)
                                             .values(revoked_at=utcnow())))
        with pytest.raises(WebSocketDisconnect) as closed:
            roundtrip(ws, {**beat, "queued": 1})
        assert closed.value.code == CLOSE_UNAUTHENTICATED
    assert presence(judge.account_id)[0].queued == 0  # the revoked login's beat was not recorded

    staff = make_staff(settings)
    with client.websocket_connect(f"/ws/venue/{p.venue_id}", headers=bearer(settings, staff)) as ws:
        receive_until(ws, lambda m: isinstance(m, Synced))
        roundtrip(ws, beat)
    assert presence(staff) == []  # staff watch the venue; they have no tablet there


def test_help_call_reaches_chief_and_staff(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    judge = p.judges[1]
    r = client.post("/api/judge/help", json={"message": "平板没电了", "device_id": "pad-7"}, headers=judge.headers)
    assert r.status_code == 201
    call = r.json()
    assert call["venue_id"] == p.venue_id
    again = client.post("/api/judge/help", json={}, headers=judge.headers)
    assert again.json()["help_call_id"] == call["help_call_id"]  # a double tap is one call
    calls = run_db(settings, lambda s: _all(s, select(HelpCall)))
    assert len(calls) == 1 and calls[0].message == "平板没电了"
    events = run_db(settings, lambda s: _all(s, select(Event).where(Event.kind == "help.called")))
    assert len(events) == 1 and events[0].venue_id == p.venue_id
    progress = client.get(f"/api/chief/venues/{p.venue_id}/progress", headers=p.judges[0].headers).json()
    assert [c["message"] for c in progress["help_calls"]] == ["平板没电了"]


def test_chief_lock_and_reopen_with_reason(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    entry = p.entries[1]
    chief, judge, late = p.judges[0], p.judges[1], p.judges[4]
    receipt = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=judge.headers).json()
    # Only the chief judge of this venue (or staff) may lock.
    denied = client.post(f"/api/chief/entries/{entry}/lock", json={}, headers=judge.headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_chief"
    other_chief = panel(settings, "V2").judges[0]
    assert client.post(f"/api/chief/entries/{entry}/lock", json={}, headers=other_chief.headers).status_code == 403
    locked = client.post(f"/api/chief/entries/{entry}/lock", json={"reason": "评分结束"}, headers=chief.headers)
    assert locked.status_code == 200
    assert locked.json()["locked_sheets"] == 5  # every panel judge, submitted or not (none is recused here)
    # Judges who had not submitted cannot submit after the lock either.
    r = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=late.headers)
    assert r.status_code == 423 and r.json()["error"]["code"] == "sheet_locked"
    r = client.post("/api/judge/sheets", json=sheet_body(p, entry, base_version=1), headers=judge.headers)
    assert r.status_code == 423
    state = client.get("/api/judge/state", headers=judge.headers).json()
    assert next(e for e in state["entries"] if e["id"] == entry)["sheet"]["locked"] is True
    # Reopen needs a reason; then the judge can correct.
    no_reason = client.post(f"/api/chief/sheets/{receipt['sheet_id']}/reopen", json={"reason": ""},
                            headers=chief.headers)
    assert no_reason.status_code == 400
    reopened = client.post(f"/api/chief/sheets/{receipt['sheet_id']}/reopen", json={"reason": "评委误将选题分录错"},
                           headers=chief.headers)
    assert reopened.status_code == 200 and reopened.json()["locked"] is False
    r = client.post("/api/judge/sheets", json=sheet_body(p, entry, base_version=1), headers=judge.headers)
    assert r.status_code == 201 and r.json()["version"] == 2
    # The late judge's sheet stays locked.
    assert client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=late.headers).status_code == 423
    audit = run_db(settings, lambda s: _all(s, select(AuditLog).where(AuditLog.action.in_(("sheet.lock",
                                                                                              "sheet.reopen")))))
    assert [(a.action, a.reason, a.account_id) for a in audit] == [
        ("sheet.lock", "评分结束", chief.account_id), ("sheet.reopen", "评委误将选题分录错", chief.account_id)]
    assert audit[1].detail["person_id"] == judge.person_id
    kinds = run_db(settings, lambda s: _all(s, select(Event.kind)))
    assert "sheets.locked" in kinds and "sheet.reopened" in kinds
    # Staff may do it too.
    staff = bearer(settings, make_staff(settings))
    assert client.post(f"/api/chief/entries/{p.entries[2]}/lock", json={}, headers=staff).status_code == 200


def test_tablet_page_and_guide(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    client.get(f"/j/{login_link(settings, p.judges[1].account_id)}")
    page = client.get("/judge")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # the judge's own scores: not for Back after a logout
    html = page.text
    assert "现场发表" in html and "需要帮助" in html and "/static/js/tablet.js" in html and "/judge/guide" in html
    boot = json.loads(html.split('<script id="boot" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert boot["account_id"] == p.judges[1].account_id and len(boot["entries"]) == len(p.entries)
    guide = client.get("/judge/guide")
    assert guide.status_code == 200 and "评委指南" in guide.text and "<table>" in guide.text
    english = client.get("/judge?lang=en")
    assert "On-site presentations" in english.text and "Need help" in english.text
    for path in ("/static/js/tablet.js", "/static/js/outbox.js", "/static/css/tablet.css"):
        assert client.get(path).status_code == 200
    # crypto.randomUUID does not exist on a plain-http venue LAN: the outbox must never call it.
    forbidden_call = "random" + "UUID("
    assert forbidden_call not in client.get("/static/js/outbox.js").text


def test_lock_and_reopen_reach_the_tablets_on_the_venue_feed(client: TestClient[Any], p: Panel,
                                                               settings: Settings) -> None:
    """``sheets.locked`` and ``sheet.reopened`` are on the venue feed (the panel's tablets re-read their state: a
    reopened sheet can be corrected at once) with who and which sheet, never values; the public feed has neither."""
    from live.protocol import Event as EventMsg
    from live.protocol import SheetReopened, SheetsLocked, Snapshot, Synced, VenueCurrent
    from tests.live.helpers import receive_until

    entry = p.entries[1]
    chief, judge = p.judges[0], p.judges[1]
    receipt = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=judge.headers).json()
    contest = run_db(settings, lambda s: s.scalar(select(Venue.contest_id).where(Venue.id == p.venue_id)))
    with client.websocket_connect(f"/ws/venue/{p.venue_id}", headers=judge.headers) as venue, \
            client.websocket_connect(f"/ws/board/{contest}") as board:
        receive_until(venue, lambda m: isinstance(m, Synced))
        receive_until(board, lambda m: isinstance(m, Synced))
        client.post(f"/api/chief/entries/{entry}/lock", json={"reason": "评分结束"}, headers=chief.headers)
        client.post(f"/api/chief/sheets/{receipt['sheet_id']}/reopen", json={"reason": "录入有误"},
                    headers=chief.headers)
        got = receive_until(venue, lambda m: isinstance(m, EventMsg) and isinstance(m.data, SheetReopened))
        locked = [m.data for m in got if isinstance(m, EventMsg) and isinstance(m.data, SheetsLocked)]
        assert [(d.entry_id, d.venue_id, d.locked_sheets) for d in locked] == [(entry, p.venue_id, 5)]
        reopened = got[-1].data
        assert (reopened.entry_id, reopened.person_id, reopened.sheet_id) == (entry, judge.person_id,
                                                                              receipt["sheet_id"])
        staff = bearer(settings, make_staff(settings))
        r = client.post(f"/api/venue/{p.venue_id}/stage", json={"entry_id": p.entries[2]}, headers=staff)
        assert r.status_code == 200, r.text
        receive_until(venue, lambda m: isinstance(m, EventMsg) and isinstance(m.data, VenueCurrent))
    # The public feed carries none of it: no lock, no reopening, no stage (results only). A board that resumes
    # from the log's start gets the log replayed for its audience (not a snapshot), and it is empty.
    with client.websocket_connect(f"/ws/board/{contest}?since=1") as board:
        public = receive_until(board, lambda m: isinstance(m, Synced))
    assert not any(isinstance(m, Snapshot) for m in public)
    assert not any(isinstance(m, EventMsg) for m in public), public
    raw = run_db(settings, lambda s: _all(s, select(Event.payload).where(Event.kind.in_(("sheet.reopened",
                                                                                         "sheets.locked")))))
    assert raw and all(not {"values", "total"} & set(payload) for payload in raw)


def test_api_in_openapi_schema(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path in ("/api/judge/state", "/api/judge/sheets", "/api/judge/sheets/{sheet_id}/history",
                 "/api/judge/heartbeat", "/api/judge/help", "/api/chief/entries/{entry_id}/lock",
                 "/api/chief/sheets/{sheet_id}/reopen", "/api/chief/venues/{venue_id}/progress"):
        assert path in paths, path


def test_home_flags_entry_and_organization_conflicts(client: TestClient[Any], p: Panel) -> None:
    """Demo: judge [2] shares the organization of entries[0]; judge [3] declared a conflict with entries[4]."""
    org = client.get("/api/judge/home", headers=p.judges[2].headers).json()
    declared = client.get("/api/judge/home", headers=p.judges[3].headers).json()
    plain = client.get("/api/judge/home", headers=p.judges[1].headers).json()
    flagged = {e["id"] for e in org["panel_entries"] if e["conflicted"]}
    assert p.entries[0] in flagged
    assert p.entries[4] in {e["id"] for e in declared["panel_entries"] if e["conflicted"]}
    assert p.entries[4] not in flagged and not any(e["conflicted"] for e in plain["panel_entries"]
                                                   if e["id"] in (p.entries[0], p.entries[4]))


def test_a_chief_judge_cannot_reopen_an_initial_review_sheet(client: TestClient[Any], p: Panel,
                                                             settings: Settings) -> None:
    """The demo's initial-review scores are imported and locked by staff: not the venue's chief judge's to reopen,
    even for an entry presented in that venue."""
    sheet_id = run_db(settings, lambda s: s.scalar(
        select(ScoreSheet.id).join(Stage, Stage.id == ScoreSheet.stage_id).join(Entry, Entry.id == ScoreSheet.entry_id)
        .where(Stage.kind == "initial", Entry.venue_id == p.venue_id, ScoreSheet.locked).limit(1)))
    assert sheet_id is not None
    chief = p.judges[0]
    r = client.post(f"/api/chief/sheets/{sheet_id}/reopen", json={"reason": "想改初审分"}, headers=chief.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_chief"
    assert run_db(settings, lambda s: s.scalar(select(ScoreSheet.locked).where(ScoreSheet.id == sheet_id)))
    staff = bearer(settings, make_staff(settings))
    assert client.post(f"/api/chief/sheets/{sheet_id}/reopen", json={"reason": "导入有误"},
                       headers=staff).json()["locked"] is False


def test_nothing_arrives_after_a_forced_release(client: TestClient[Any], p: Panel, settings: Settings) -> None:
    """A chief judge who releases without a judge's sheet (with a reason) fixes the result the screens show: the
    missing judge's late sheet is refused (an empty locked sheet), until the chief judge reopens it and corrects."""
    entry = p.entries[1]  # no conflict on it in the demo: all five judges score
    chief, late = p.judges[0], p.judges[4]
    host = bearer(settings, run_db(settings, lambda s: s.scalar(
        select(RoleGrant.account_id).where(RoleGrant.role == "host", RoleGrant.venue_id == p.venue_id))))
    assert client.post(f"/api/venue/{p.venue_id}/stage", json={"entry_id": entry}, headers=host).status_code == 200
    for judge in p.judges[:4]:
        assert client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=judge.headers).status_code == 201
    release = f"/api/venue/{p.venue_id}/entries/{entry}/release"
    refused = client.post(release, json={}, headers=chief.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "sheets_missing"
    r = client.post(release, json={"force": True, "reason": "第5位评委平板故障"}, headers=chief.headers)
    assert r.status_code == 200, r.text
    shown = r.json()["display"]
    late_sheet = client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=late.headers)
    assert late_sheet.status_code == 423 and late_sheet.json()["error"]["code"] == "sheet_locked"
    sheet_id = late_sheet.json()["error"]["detail"]["sheet_id"]
    assert run_db(settings, lambda s: s.scalar(select(func.count(SheetVersion.id))
                                               .where(SheetVersion.sheet_id == sheet_id))) == 0
    # The deliberate way: the chief judge reopens, the judge submits, the chief judge corrects with a reason.
    assert client.post(f"/api/chief/sheets/{sheet_id}/reopen", json={"reason": "平板已修好"},
                       headers=chief.headers).status_code == 200
    assert client.post("/api/judge/sheets", json=sheet_body(p, entry), headers=late.headers).status_code == 201
    corrected = client.post(release, json={"reason": "补录第5位评委"}, headers=chief.headers).json()
    assert corrected["corrected"] and corrected["version"] == 2 and shown


def test_a_correction_racing_a_release_is_in_the_released_result(client: TestClient[Any], p: Panel,
                                                                 settings: Settings, monkeypatch: Any) -> None:
    """A judge's correction that commits while the chief judge's release is under way (after it loaded the entry,
    before it locked the sheets) is in the released result: the release locks the sheets before reading the marks.
    Before, it read the marks first, so the screens showed a result that the locked sheets did not match."""
    import judging.sheets as sheets_mod
    from judging.auth import load_principal
    from judging.db.engine import Database
    from judging.sheets import SubmitIn
    from judging.venue_control import panel_marks
    from live.results import panel_outcome
    from tests.judging.sheet_helpers import good_values

    if settings.is_sqlite:
        pytest.skip("PostgreSQL: on SQLite the release holds the single writer's lock, so nothing can interleave")
    entry = p.entries[1]
    chief, judge = p.judges[0], p.judges[2]
    host = bearer(settings, run_db(settings, lambda s: s.scalar(
        select(RoleGrant.account_id).where(RoleGrant.role == "host", RoleGrant.venue_id == p.venue_id))))
    assert client.post(f"/api/venue/{p.venue_id}/stage", json={"entry_id": entry}, headers=host).status_code == 200
    # Five different totals; the correction keeps the judge in the middle, so it counts after trimming.
    for j, share in zip(p.judges, ("0.6", "0.7", "0.8", "0.9", "1.0"), strict=True):
        body = {**sheet_body(p, entry), "values": good_values(p.items[entry], Decimal(share))}
        assert client.post("/api/judge/sheets", json=body, headers=j.headers).status_code == 201
    real = sheets_mod.lock_panel_sheets
    token = judge.headers["Authorization"].split(" ", 1)[1]
    lower = good_values(p.items[entry], Decimal("0.65"))

    async def racing(session: Any, entry_obj: Any, account_id: int) -> int:
        db2 = Database(settings, null_pool=True)
        try:
            who = await load_principal(db2, settings.secret, token)
            body = SubmitIn(client_submission_id=secrets.token_hex(16), entry_id=entry, values=dict(lower),
                            base_version=1)
            receipt, _ = await sheets_mod.submit(db2, client.app, who, body, ip="")
            assert receipt.version == 2
        finally:
            await db2.dispose()
        return await real(session, entry_obj, account_id)

    monkeypatch.setattr(sheets_mod, "lock_panel_sheets", racing)
    r = client.post(f"/api/venue/{p.venue_id}/entries/{entry}/release", json={}, headers=chief.headers)
    assert r.status_code == 200, r.text

    async def now(session: Any) -> str:
        return panel_outcome(await panel_marks(session, await session.get(Entry, entry))).display

    assert r.json()["display"] == run_db(settings, now)  # (the correction moved the result: see the old order)
