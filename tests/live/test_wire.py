"""Events written straight to the transport (live.wire): the frame bytes, and that a real ``podium serve``
(uvicorn, websockets-sansio) takes that path while clients receive every event intact."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.sync.client import connect
from websockets.uri import parse_uri

from bench._contest_seed import seed_contest
from judging.settings import Settings
from live.wire import frame_bytes, raw_writer
from tests.conftest import BACKEND, REDIS_URL, create_pg_database, drop_pg_database
from tests.live.helpers import write_sheet
from tests.realserver import bearer, event_kind, new_server, read_until, session_token, synced


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
def test_frame_bytes_parse_as_one_binary_message(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    client = ClientProtocol(parse_uri("ws://podium.test/"), state=State.OPEN, max_size=None)
    client.receive_data(frame_bytes(payload))
    frames = client.events_received()
    assert len(frames) == 1 and frames[0].opcode is Opcode.BINARY and frames[0].fin
    assert frames[0].data == payload


def test_raw_writer_only_for_a_known_protocol() -> None:
    async def plain_send(_message: object) -> None:
        return None

    assert raw_writer(None) is None and raw_writer(plain_send) is None

    class NotAProtocol:
        transport = None

        async def send(self, _message: object) -> None:
            return None

    assert raw_writer(NotAProtocol().send) is None


def test_real_server_writes_live_events_to_the_transport(tmp_path: Path) -> None:
    url = create_pg_database() if BACKEND == "pg" else ""
    server = new_server(tmp_path / "srv", database_url=url, redis_url=REDIS_URL if url else "", secret="r" * 40)
    try:
        server.podium("db", "upgrade")
        settings = Settings(var_dir=str(tmp_path / "srv"), database_url=url, secret="r" * 40)
        plan = seed_contest(settings, venues=1, judges=3, entries=3)
        server.start()
        venue = plan.venues[0]
        staff = session_token(server.local_url, plan.staff.link if plan.staff else "")
        host = session_token(server.local_url, venue.host.link)
        display = session_token(server.local_url, venue.display.link)
        chief = session_token(server.local_url, venue.judges[0].link)
        ws_url = f"ws://127.0.0.1:{server.port}/ws/venue/{venue.venue_id}"
        with connect(ws_url, additional_headers=bearer(display), open_timeout=30) as ws, \
                connect(f"ws://127.0.0.1:{server.port}/ws/board/{plan.contest_id}", open_timeout=30) as board:
            read_until(ws, synced)
            read_until(board, synced)
            for entry in venue.entries[:2]:
                r = httpx.post(f"{server.local_url}/api/venue/{venue.venue_id}/stage", json={"entry_id": entry},
                               headers=bearer(host), timeout=30)
                assert r.status_code == 200, r.text
                msgs = read_until(ws, lambda m, e=entry: event_kind(m) == "venue.current" and m.data.entry_id == e)
                seqs = [m.seq for m in msgs if hasattr(m, "seq") and event_kind(m)]
                assert seqs == sorted(seqs)  # every event arrives, in order, decoded by a real client library
            first = venue.entries[0]
            for n, judge in enumerate(venue.judges):
                write_sheet(settings, first, judge.person_id or 0, f"{80 + n}")
            r = httpx.post(f"{server.local_url}/api/venue/{venue.venue_id}/entries/{first}/release", json={},
                           headers=bearer(chief), timeout=30)
            assert r.status_code == 200, r.text
            for sock in (ws, board):
                msgs = read_until(sock, lambda m: event_kind(m) == "result.released")
                assert msgs[-1].data.display == "81.00"
            # The board follows results only: none of the stage's events reached it (live.protocol.PUBLIC_KINDS).
            assert {event_kind(m) for m in msgs if event_kind(m)} == {"result.released"}
            for sock in (ws, board):  # a client's ping is answered on the transport too, its t echoed
                sock.send('{"type":"ping","t":424242}')
                read_until(sock, lambda m: type(m).__name__ == "Pong" and m.t == 424242)
            status = httpx.get(f"{server.local_url}/api/staff/status", headers=bearer(staff), timeout=30).json()
            assert status["queues"]["wire_writes"] >= 4 and status["queues"]["flush_lag_ms"] >= 0, status["queues"]
            assert status["queues"]["control_writes"] >= 2, status["queues"]
            assert status["gc_frozen_objects"] > 10_000  # podium serve settles its start-up heap
    finally:
        server.stop()
        if url:
            drop_pg_database(url)
