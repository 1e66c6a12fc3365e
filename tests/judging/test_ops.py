"""``GET /api/staff/status``: staff only; live connections per feed, event lag, tablets online, queues."""

from __future__ import annotations

from typing import Any

from judging.feed import head_seq
from live.protocol import Hello, Snapshot, Synced
from tests.conftest import run_db
from tests.helpers import make_staff
from tests.live.helpers import bearer, receive, venue_info, wait_for


def _status(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get("/api/staff/status", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_status_is_for_staff_only(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    assert client.get("/api/staff/status").status_code == 401
    for account in (v.judge, v.chief, v.host, v.display):
        r = client.get("/api/staff/status", headers=bearer(settings, account))
        assert r.status_code == 403, (account, r.status_code)
    staff = make_staff(settings, "ops-staff", "staff")
    assert client.get("/api/staff/status", headers=bearer(settings, staff)).status_code == 200


def test_status_reports_connections_lag_and_tablets(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    staff = bearer(settings, make_staff(settings, "ops-staff", "staff"))
    before = _status(client, staff)
    assert before["connections"] == 0 and before["feeds"] == []
    assert before["database"] == ("sqlite" if settings.is_sqlite else "postgresql")
    assert before["channels"] == ("redis" if settings.redis_url else "memory")

    # A tablet reports two queued sheets; another is offline.
    judge = bearer(settings, v.judge)
    assert client.post("/api/judge/heartbeat", json={"device_id": "tab-1", "queued": 2},
                       headers=judge).status_code == 200
    assert client.post("/api/judge/heartbeat", json={"device_id": "tab-2", "online": False},
                       headers=judge).status_code == 200

    with client.websocket_connect(f"/ws/venue/{v.venue_id}", headers=bearer(settings, v.display)) as ws:
        assert isinstance(receive(ws), Hello)
        assert isinstance(receive(ws), Snapshot)
        assert isinstance(receive(ws), Synced)
        now = _status(client, staff)
        assert now["connections"] == 1
        assert {"feed": f"venue/{v.venue_id}", "connections": 1} in now["feeds"]
        assert now["tablets"] == {"devices": 2, "online": 1, "offline": 1, "queued_sheets": 2,
                                  "devices_with_queue": 1}
        assert now["queues"]["socket_max"] >= 0

        # Events written by the host are published: the lag goes back to zero and the head matches the log.
        assert client.post(f"/api/venue/{v.venue_id}/stage", json={}, headers=bearer(settings, v.host)
                           ).status_code == 200
        head = int(run_db(settings, head_seq))
        wait_for(lambda: _status(client, staff)["events"]["published_seq"] == head, timeout=10)
        done = _status(client, staff)
        assert done["events"] == {"head_seq": head, "published_seq": head, "lag": 0, "unpublished": 0,
                                  "oldest_unpublished_s": None}
        assert done["publisher"]["leader"] is True and done["publisher"]["cursor"] == head
    wait_for(lambda: _status(client, staff)["connections"] == 0, timeout=10)


def test_status_reports_garbage_collector_pauses(settings: Any, demo: int, client: Any) -> None:
    import gc

    staff = bearer(settings, make_staff(settings, "ops-gc", "staff"))
    before = _status(client, staff)["gc"]
    gc.collect()  # one full collection in this (the server's) process
    after = _status(client, staff)["gc"]
    assert after["collections"][2] >= before["collections"][2] + 1
    assert after["seconds"][2] > before["seconds"][2]
    assert after["max_pause_ms"][2] > 0
    assert all(a >= b for a, b in zip(after["collections"], before["collections"], strict=True))


def test_start_up_loads_what_request_handlers_import_lazily() -> None:
    """``podium serve`` loads, before it freezes its heap, the modules that handlers import on first use: an import
    runs on the event loop, and the first sheet after a start used to import numpy and the grading code (~120 ms
    during which every request waited). Checked in a fresh interpreter, where the app alone does not load them."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import gc, json, sys\n"
        "from judging.app import WARM_MODULES, _settle_heap, create_app\n"
        "wanted = WARM_MODULES + ('scoring', 'numpy')\n"
        "before = [m for m in wanted if m in sys.modules]\n"
        "_settle_heap()\n"
        "print(json.dumps([list(WARM_MODULES), before, [m for m in wanted if m not in sys.modules],"
        " gc.get_freeze_count()]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr
    warm, before, missing, frozen = json.loads(run.stdout.splitlines()[-1])
    assert "judging.staff.grading" in warm  # what a sheet submission imports
    assert before == [] and missing == [], (before, missing)
    assert frozen > 0  # and they were frozen with the rest of the start-up heap
