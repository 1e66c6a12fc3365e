"""A judge's "需要帮助" call reaches the venue's console (host, chief judge) and the staff monitor, and stays there
until someone marks it handled (``POST /api/venue/{id}/help/{call}/resolve``): once, audited, announced on both
feeds so every console and monitor drops it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from judging.db.models import AuditLog, Event, HelpCall
from live.projection import apply_staff
from live.protocol import Event as EventMsg
from live.protocol import HelpCalled, HelpResolved, StaffState, Synced, parse_data
from tests.conftest import run_db
from tests.helpers import make_staff
from tests.live.helpers import bearer, receive_until, reviewer_account, venue_info


def _help(kind: type) -> Any:
    return lambda m: isinstance(m, EventMsg) and isinstance(m.data, kind)


def _rows(settings: Any, model: Any, *where: Any) -> list[Any]:
    async def go(session: Any) -> list[Any]:
        return list((await session.execute(select(model).where(*where))).scalars())

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_a_help_call_shows_on_the_console_and_monitor_until_handled(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    judge, host, chief = (bearer(settings, a) for a in (v.judge, v.host, v.chief))
    staff_id = make_staff(settings, "lin", "staff")
    staff = bearer(settings, staff_id)
    with client.websocket_connect(f"/ws/venue/{v.venue_id}/console", headers=chief) as console, \
            client.websocket_connect(f"/ws/staff/{v.contest_id}", headers=staff) as monitor:
        receive_until(console, lambda m: isinstance(m, Synced))
        receive_until(monitor, lambda m: isinstance(m, Synced))

        r = client.post("/api/judge/help", json={"message": "2024-001", "device_id": "pad-7"}, headers=judge)
        assert r.status_code == 201
        call_id = r.json()["help_call_id"]
        for ws in (console, monitor):
            called = receive_until(ws, _help(HelpCalled))[-1].data
            assert (called.help_call_id, called.venue_id, called.message) == (call_id, v.venue_id, "2024-001")

        state = client.get(f"/api/venue/{v.venue_id}/control", headers=host).json()
        assert [(h["id"], h["account_id"], h["message"]) for h in state["help"]] == [(call_id, v.judge, "2024-001")]
        mon = client.get(f"/api/staff/contests/{v.contest_id}/monitor", headers=staff).json()
        assert [h["id"] for m in mon["venues"] if m["id"] == v.venue_id for h in m["help"]] == [call_id]

        r = client.post(f"/api/venue/{v.venue_id}/help/{call_id}/resolve", headers=host)
        assert r.status_code == 200, r.text
        done = r.json()
        assert (done["id"], done["venue_id"], done["resolved_by"]) == (call_id, v.venue_id, v.host)
        for ws in (console, monitor):
            resolved = receive_until(ws, _help(HelpResolved))[-1].data
            assert (resolved.help_call_id, resolved.venue_id) == (call_id, v.venue_id) and resolved.by

    assert client.get(f"/api/venue/{v.venue_id}/control", headers=chief).json()["help"] == []
    mon = client.get(f"/api/staff/contests/{v.contest_id}/monitor", headers=staff).json()
    assert all(m["help"] == [] for m in mon["venues"])
    assert client.get(f"/api/chief/venues/{v.venue_id}/progress", headers=chief).json()["help_calls"] == []

    # Handled twice (the chief judge pressed it too): the same answer, no second event or audit row.
    again = client.post(f"/api/venue/{v.venue_id}/help/{call_id}/resolve", headers=staff)
    assert again.status_code == 200 and again.json() == done
    assert len(_rows(settings, Event, Event.kind == "help.resolved")) == 1
    audit = _rows(settings, AuditLog, AuditLog.action == "help.resolve")
    assert [(a.account_id, a.target) for a in audit] == [(v.host, f"help_call:{call_id}")]
    (row,) = _rows(settings, HelpCall, HelpCall.id == call_id)
    assert row.resolved_at is not None and row.resolved_by == v.host

    # Once handled, the judge's next tap is a new call (not folded into the handled one).
    r = client.post("/api/judge/help", json={"message": "", "device_id": "pad-7"}, headers=judge)
    assert r.status_code == 201 and r.json()["help_call_id"] != call_id
    assert [h["id"] for h in client.get(f"/api/venue/{v.venue_id}/control", headers=host).json()["help"]] \
        == [r.json()["help_call_id"]]


def test_a_help_call_is_handled_only_through_its_own_venue(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    other = venue_info(settings, "V2")
    r = client.post("/api/judge/help", json={"message": "", "device_id": "pad-7"}, headers=bearer(settings, v.judge))
    call_id = r.json()["help_call_id"]
    staff = bearer(settings, make_staff(settings, "lin", "staff"))
    cases = [
        (f"/api/venue/{other.venue_id}/help/{call_id}/resolve", staff, 404, "not_found"),  # another venue's call
        (f"/api/venue/{v.venue_id}/help/{call_id + 1000}/resolve", staff, 404, "not_found"),  # no such call
        (f"/api/venue/{other.venue_id}/help/{call_id}/resolve", bearer(settings, other.host), 404, "not_found"),
        (f"/api/venue/{v.venue_id}/help/{call_id}/resolve", bearer(settings, v.judge), 403, None),  # a judge
        (f"/api/venue/{v.venue_id}/help/{call_id}/resolve", bearer(settings, other.host), 403, None),
    ]
    for path, headers, status, code in cases:
        r = client.post(path, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert "error" in r.json() and (code is None or r.json()["error"]["code"] == code)
    (row,) = _rows(settings, HelpCall, HelpCall.id == call_id)
    assert row.resolved_at is None  # nothing changed
    assert _rows(settings, Event, Event.kind == "help.resolved") == []
    assert _rows(settings, AuditLog, AuditLog.action == "help.resolve") == []


def test_the_staff_projection_drops_a_handled_call() -> None:
    state = StaffState(contest_id=1)
    for kind, payload in (("help.called", {"help_call_id": 5, "account_id": 9, "name": "王", "venue_id": 2}),
                          ("help.called", {"help_call_id": 6, "account_id": 8, "name": "李", "venue_id": 2}),
                          ("help.resolved", {"help_call_id": 5, "venue_id": 2, "by": "主持人"})):
        data = parse_data(kind, payload)
        assert data is not None
        apply_staff(state, data)
    assert list(state.help_calls) == [6]


def test_a_call_from_someone_on_no_panel_reaches_the_staff_monitor(settings: Any, demo: int, client: Any) -> None:
    """An initial-review expert has no venue, so no console: the staff monitor lists the call apart, and staff mark
    it handled through the contest's route (which handles a venue's calls too)."""
    v = venue_info(settings)
    reviewer = reviewer_account(settings)
    staff = bearer(settings, make_staff(settings, "lin", "staff"))
    with client.websocket_connect(f"/ws/staff/{v.contest_id}", headers=staff) as monitor:
        receive_until(monitor, lambda m: isinstance(m, Synced))
        r = client.post("/api/judge/help", json={"message": "报告打不开", "device_id": "pc-1"},
                        headers=bearer(settings, reviewer))
        assert r.status_code == 201, r.text
        assert r.json()["venue_id"] is None
        call_id = r.json()["help_call_id"]
        called = receive_until(monitor, _help(HelpCalled))[-1].data
        assert (called.help_call_id, called.venue_id) == (call_id, None)
        mon = client.get(f"/api/staff/contests/{v.contest_id}/monitor", headers=staff).json()
        assert [(h["id"], h["message"]) for h in mon["help"]] == [(call_id, "报告打不开")]
        assert all(m["help"] == [] for m in mon["venues"])

        r = client.post(f"/api/staff/contests/{v.contest_id}/help/{call_id}/resolve", headers=staff)
        assert r.status_code == 200, r.text
        assert (r.json()["id"], r.json()["venue_id"]) == (call_id, None)
        resolved = receive_until(monitor, _help(HelpResolved))[-1].data
        assert (resolved.help_call_id, resolved.venue_id) == (call_id, None)
    assert client.get(f"/api/staff/contests/{v.contest_id}/monitor", headers=staff).json()["help"] == []
    audit = _rows(settings, AuditLog, AuditLog.action == "help.resolve")
    assert [(a.contest_id, a.target) for a in audit] == [(v.contest_id, f"help_call:{call_id}")]

    # The contest's route handles a venue's call too (the monitor's button), and refuses another contest's.
    r = client.post("/api/judge/help", json={"message": ""}, headers=bearer(settings, v.judge))
    venue_call = r.json()["help_call_id"]
    wrong = client.post(f"/api/staff/contests/{v.contest_id + 1}/help/{venue_call}/resolve", headers=staff)
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/venue/{v.venue_id}/control", headers=bearer(settings, v.host)).json()["help"]
    r = client.post(f"/api/staff/contests/{v.contest_id}/help/{venue_call}/resolve", headers=staff)
    assert r.status_code == 200 and r.json()["venue_id"] == v.venue_id
    assert client.get(f"/api/venue/{v.venue_id}/control", headers=bearer(settings, v.host)).json()["help"] == []


def test_the_caller_sees_when_the_call_was_handled(settings: Any, demo: int, client: Any) -> None:
    """``GET /api/judge/help/{id}``: the tablet's question while its call is open. Only the caller's own call."""
    v = venue_info(settings)
    judge = bearer(settings, v.judge)
    reviewer = bearer(settings, reviewer_account(settings))
    call = client.post("/api/judge/help", json={"message": "", "device_id": "pad-7"}, headers=judge).json()
    assert call["resolved_at"] is None
    status = client.get(f"/api/judge/help/{call['help_call_id']}", headers=judge)
    assert status.status_code == 200 and status.json() == call
    # Someone else's call, or none at all: not found, whoever asks (a chief judge's tablet is a judge's too).
    for headers, call_id in ((reviewer, call["help_call_id"]), (bearer(settings, v.chief), call["help_call_id"]),
                             (judge, call["help_call_id"] + 1000)):
        r = client.get(f"/api/judge/help/{call_id}", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text

    client.post(f"/api/venue/{v.venue_id}/help/{call['help_call_id']}/resolve", headers=bearer(settings, v.host))
    done = client.get(f"/api/judge/help/{call['help_call_id']}", headers=judge).json()
    (row,) = _rows(settings, HelpCall, HelpCall.id == call["help_call_id"])
    assert done["resolved_at"] is not None and done["created_at"] == call["created_at"]
    assert row.resolved_at is not None
    # A reviewer (no venue) asks about their own call the same way.
    mine = client.post("/api/judge/help", json={"message": "", "device_id": "pc-1"}, headers=reviewer).json()
    assert client.get(f"/api/judge/help/{mine['help_call_id']}", headers=reviewer).json()["resolved_at"] is None
