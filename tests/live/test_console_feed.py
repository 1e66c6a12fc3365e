"""The venue console's feed (``/ws/venue/{id}/console``): the venue feed plus the panel's tablets coming and going,
a tablet that went silent included (announced by the publisher's sweep, ``judging.sheets.announce_silent``)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy import select

from judging.db.models import Account, Event, Presence
from judging.sheets import PRESENCE_OFFLINE_AFTER, announce_silent
from live.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    PresenceData,
    Snapshot,
    Synced,
    TimerState,
    VenueState,
)
from live.protocol import Event as EventMsg
from live.server import FeedConfig
from tests.conftest import run_db
from tests.helpers import make_staff
from tests.live.helpers import age_presence, bearer, receive, receive_until, venue_info

BEAT = {"device_id": "pad-1", "app_version": "tablet-1", "queued": 0, "online": True}


@pytest.fixture
def feed_config() -> FeedConfig:
    return FeedConfig(poll_s=0.05, heartbeat_s=5.0, window=1000, silent_sweep_s=0.1)


def _presence(msg: Any) -> bool:
    return isinstance(msg, EventMsg) and isinstance(msg.data, PresenceData)


def _rows(settings: Any, account_id: int) -> list[Any]:
    async def go(session: Any) -> list[Any]:
        return list((await session.execute(select(Presence).where(Presence.account_id == account_id))).scalars())

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_console_feed_shows_tablets_come_go_and_fall_silent(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    judge = bearer(settings, v.judge)
    person = v.panel[1]
    with client.websocket_connect(f"/ws/venue/{v.venue_id}/console", headers=bearer(settings, v.chief)) as console, \
            client.websocket_connect(f"/ws/venue/{v.venue_id}", headers=bearer(settings, v.display)) as screen:
        first = receive_until(console, lambda m: isinstance(m, Synced))
        assert isinstance(first[1], Snapshot) and isinstance(first[1].state, VenueState)  # the screen's state
        receive_until(screen, lambda m: isinstance(m, Synced))

        assert client.post("/api/judge/heartbeat", json=BEAT, headers=judge).status_code == 200
        came = receive_until(console, _presence)[-1]
        assert isinstance(came, EventMsg) and isinstance(came.data, PresenceData)
        assert (came.data.person_id, came.data.device_id, came.data.online) == (person, "pad-1", True)

        # Silent past the threshold: the publisher's sweep announces it, once, and marks the row offline.
        age_presence(settings, v.judge, PRESENCE_OFFLINE_AFTER + timedelta(seconds=1))
        gone = receive_until(console, _presence)[-1]
        assert isinstance(gone, EventMsg) and isinstance(gone.data, PresenceData)
        assert (gone.data.person_id, gone.data.device_id, gone.data.online) == (person, "pad-1", False)
        assert gone.data.last_seen_ms > 0
        assert [r.online for r in _rows(settings, v.judge)] == [False]

        # It beats again: online again, announced as a change.
        assert client.post("/api/judge/heartbeat", json=BEAT, headers=judge).status_code == 200
        back = receive_until(console, _presence)[-1]
        assert isinstance(back, EventMsg) and isinstance(back.data, PresenceData) and back.data.online
        assert [r.online for r in _rows(settings, v.judge)] == [True]

        # The venue's screen got none of it: its next event is the timer's, with no presence before it.
        host = bearer(settings, v.host)
        assert client.post(f"/api/venue/{v.venue_id}/timer", json={"action": "start"}, headers=host).status_code == 200
        on_screen = receive_until(screen, lambda m: isinstance(m, EventMsg) and isinstance(m.data, TimerState))
        assert not any(_presence(m) for m in on_screen)
        on_console = receive_until(console, lambda m: isinstance(m, EventMsg) and isinstance(m.data, TimerState))
        assert not any(_presence(m) for m in on_console)  # announced once: no second "silent" in between

    silent = run_db(settings, lambda s: _payloads(s))
    assert [e["online"] for e in silent if e["device_id"] == "pad-1"] == [True, False, True]


async def _payloads(session: Any) -> list[dict[str, Any]]:
    return list((await session.execute(select(Event.payload).where(Event.kind == "presence")
                                       .order_by(Event.seq))).scalars())


def _sweep(settings: Any) -> int:
    """One :func:`announce_silent` round on an engine of its own (no publisher to wake: it polls anyway)."""
    from judging.db.engine import Database

    async def main() -> int:
        db = Database(settings, null_pool=True)
        try:
            return await announce_silent(db, SimpleNamespace(state=SimpleNamespace()))
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.mark.parametrize("feed_config", [FeedConfig(poll_s=0.05, silent_sweep_s=3600.0)])  # no sweep of its own
def test_announce_silent_marks_each_silent_tablet_once(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    other = venue_info(settings, "V2")
    for account, device in ((v.judge, "pad-a"), (other.judge, "pad-b")):
        beat = {**BEAT, "device_id": device, "queued": 2}
        assert client.post("/api/judge/heartbeat", json=beat, headers=bearer(settings, account)).status_code == 200
    assert _sweep(settings) == 0  # both beat just now
    age_presence(settings, v.judge, PRESENCE_OFFLINE_AFTER + timedelta(seconds=5))
    age_presence(settings, other.judge, PRESENCE_OFFLINE_AFTER - timedelta(seconds=5))  # not yet
    assert _sweep(settings) == 1
    assert _sweep(settings) == 0  # announced already: the row is offline now
    assert [r.online for r in _rows(settings, v.judge)] == [False]
    assert [r.online for r in _rows(settings, other.judge)] == [True]
    events = [e for e in run_db(settings, lambda s: _payloads(s)) if e["device_id"] == "pad-a"]
    person = run_db(settings, lambda s: _person_of(s, v.judge))
    assert [e["online"] for e in events] == [True, False]
    assert events[-1]["queued"] == 2 and events[-1]["person_id"] == person and events[-1]["venue_id"] == v.venue_id


async def _person_of(session: Any, account_id: int) -> int:
    return int((await session.execute(select(Account.person_id).where(Account.id == account_id))).scalar_one())


def test_console_feed_is_for_the_venues_host_and_chief_judge(settings: Any, demo: int, client: Any) -> None:
    v = venue_info(settings)
    other = venue_info(settings, "V2")
    path = f"/ws/venue/{v.venue_id}/console"
    refused = [(None, CLOSE_UNAUTHENTICATED)] + [(bearer(settings, a), CLOSE_FORBIDDEN)
                                                 for a in (v.display, v.judge, other.chief, other.host)]
    for headers, code in refused:
        with client.websocket_connect(path, headers=headers or {}) as ws, pytest.raises(WebSocketDisconnect) as exc:
            receive(ws)
        assert exc.value.code == code
    staff = make_staff(settings, "lin", "staff")
    for account in (v.host, v.chief, staff):
        with client.websocket_connect(path, headers=bearer(settings, account)) as ws:
            assert isinstance(receive_until(ws, lambda m: isinstance(m, Synced))[1], Snapshot)


@pytest.mark.parametrize("feed_config", [FeedConfig(poll_s=0.05, heartbeat_s=5.0, send_timeout_s=0.4,
                                                    recheck_s=0.3)])
def test_a_revoked_login_loses_its_open_feeds(settings: Any, demo: int, client: Any) -> None:
    """A socket holds its feed after the HTTP side refuses the login: the feed re-reads it (``recheck_s``) and
    closes the socket (4401) instead of streaming help calls and panel presence to a revoked host card, and a
    withdrawn role closes it with 4403."""
    from sqlalchemy import delete

    from judging.accounts import revoke_tokens
    from judging.db.models import RoleGrant

    v = venue_info(settings)
    for path, account in ((f"/ws/venue/{v.venue_id}/console", v.host), (f"/ws/venue/{v.venue_id}", v.display)):
        headers = bearer(settings, account)
        with client.websocket_connect(path, headers=headers) as ws:
            receive_until(ws, lambda m: isinstance(m, Synced))
            run_db(settings, lambda s, a=account: revoke_tokens(s, a))
            with pytest.raises(WebSocketDisconnect) as exc:
                receive_until(ws, lambda m: False, limit=1000)
        assert exc.value.code == CLOSE_UNAUTHENTICATED, path

    host = venue_info(settings, "V2").host
    with client.websocket_connect(f"/ws/venue/{v.venue_id}/console", headers=bearer(settings, v.chief)) as ws:
        receive_until(ws, lambda m: isinstance(m, Synced))
        run_db(settings, lambda s: s.execute(delete(RoleGrant).where(RoleGrant.account_id == v.chief,
                                                                    RoleGrant.role == "chief_judge")))
        with pytest.raises(WebSocketDisconnect) as exc:
            receive_until(ws, lambda m: False, limit=1000)
    assert exc.value.code == CLOSE_FORBIDDEN
    # A login that keeps its role keeps its feed across checks.
    other = venue_info(settings, "V2")
    with client.websocket_connect(f"/ws/venue/{other.venue_id}/console", headers=bearer(settings, host)) as ws:
        receive_until(ws, lambda m: isinstance(m, Synced))
        time.sleep(1.0)  # three checks
        client.post(f"/api/venue/{other.venue_id}/stage", json={}, headers=bearer(settings, host))
        assert receive_until(ws, lambda m: isinstance(m, EventMsg))
