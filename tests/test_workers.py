"""Scaled-out mode with real processes: PostgreSQL + Redis, several ``podium serve`` processes.

Two separate server processes on two ports share one PostgreSQL database and one Redis: a sheet submitted to
one reaches a venue websocket held by the other, both ways (only one process publishes — it holds the advisory
lock — so one direction crosses Redis from the publisher, the other needs the publisher to find an event
written by the other process). Then ``podium serve --workers 2`` on one port: every socket, whichever worker
holds it, receives the event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from bench._contest_seed import ContestPlan, seed_contest
from judging.settings import Settings
from tests.conftest import PG_URL, REDIS_URL, create_pg_database, drop_pg_database, missing
from tests.realserver import (
    LiveServer,
    bearer,
    event_kind,
    full_values,
    new_cid,
    new_server,
    read_until,
    session_token,
    synced,
)

pytestmark = [pytest.mark.pg, pytest.mark.redis]
SECRET = "w" * 40


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        missing("PostgreSQL (PODIUM_TEST_PG_URL)")
    if not REDIS_URL:
        missing("Redis (PODIUM_TEST_REDIS_URL)")
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def _prepare(tmp_path: Path, url: str, names: list[str], workers: int = 1) -> tuple[list[LiveServer], ContestPlan]:
    servers = [new_server(tmp_path / n, database_url=url, redis_url=REDIS_URL, secret=SECRET) for n in names]
    for s in servers:
        s.env["PODIUM_WORKERS"] = str(workers)
    servers[0].podium("db", "upgrade")
    plan = seed_contest(Settings(var_dir=str(tmp_path / names[0]), database_url=url, secret=SECRET),
                        venues=2, judges=5, entries=3)
    return servers, plan


def _submit(base: str, token: str, entry_id: int) -> dict[str, Any]:
    state = httpx.get(f"{base}/api/judge/state", headers=bearer(token), timeout=30).json()
    body = {"client_submission_id": new_cid(), "entry_id": entry_id, "stage": "onsite",
            "values": full_values(state, entry_id), "device_id": "tab-workers"}
    r = httpx.post(f"{base}/api/judge/sheets", json=body, headers=bearer(token), timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _ws_url(server: LiveServer, venue_id: int) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/venue/{venue_id}"


def _sheet_of(person_id: int | None, entry_id: int) -> Any:
    def pred(msg: Any) -> bool:
        return event_kind(msg) == "sheet.submitted" and msg.data.person_id == person_id \
            and msg.data.entry_id == entry_id

    return pred


def test_sheet_submitted_to_one_process_reaches_a_socket_held_by_another(tmp_path: Path, pg_url: str) -> None:
    (a, b), plan = _prepare(tmp_path, pg_url, ["a", "b"])
    a.start()
    b.start()
    try:
        venue = plan.venues[0]
        entry = venue.entries[0]
        display_b = session_token(b.local_url, venue.display.link)
        display_a = session_token(a.local_url, venue.display.link)
        staff = session_token(a.local_url, plan.staff.link if plan.staff else "")
        leaders = [httpx.get(s.local_url + "/api/staff/status", headers=bearer(staff), timeout=30).json()
                   for s in (a, b)]
        assert sorted(x["publisher"]["leader"] for x in leaders) == [False, True]  # one publisher at a time
        assert {x["channels"] for x in leaders} == {"redis"} and {x["database"] for x in leaders} == {"postgresql"}

        host = session_token(a.local_url, venue.host.link)
        with connect(_ws_url(b, venue.venue_id), additional_headers=bearer(display_b), open_timeout=30) as ws:
            read_until(ws, synced)
            status_b = httpx.get(b.local_url + "/api/staff/status", headers=bearer(staff), timeout=30).json()
            assert status_b["connections"] == 1
            r = httpx.post(f"{a.local_url}/api/venue/{venue.venue_id}/stage", json={}, headers=bearer(host),
                           timeout=30)
            assert r.status_code == 200, r.text
            read_until(ws, lambda m: event_kind(m) == "venue.current" and m.data.entry_id == entry)
            judge = venue.judges[1]
            receipt = _submit(a.local_url, session_token(a.local_url, judge.link), entry)
            msgs = read_until(ws, _sheet_of(judge.person_id, entry))
            assert msgs[-1].data.version == receipt["version"] == 1

        # The other way round: the socket on A, the sheet submitted to B.
        with connect(_ws_url(a, venue.venue_id), additional_headers=bearer(display_a), open_timeout=30) as ws:
            read_until(ws, synced)
            judge = venue.judges[2]
            _submit(b.local_url, session_token(b.local_url, judge.link), entry)
            read_until(ws, _sheet_of(judge.person_id, entry))
    finally:
        a.stop()
        b.stop()


def test_serve_with_two_workers_on_one_port(tmp_path: Path, pg_url: str) -> None:
    (server,), plan = _prepare(tmp_path, pg_url, ["w"], workers=2)
    server.start()
    try:
        venue = plan.venues[1]
        entry = venue.entries[0]
        display = session_token(server.local_url, venue.display.link)
        with contextlib.ExitStack() as stack:
            sockets = [stack.enter_context(connect(_ws_url(server, venue.venue_id), additional_headers=bearer(display),
                                                   open_timeout=30)) for _ in range(6)]
            for ws in sockets:
                read_until(ws, synced)
            judge = venue.judges[0]
            _submit(server.local_url, session_token(server.local_url, judge.link), entry)
            for ws in sockets:
                read_until(ws, _sheet_of(judge.person_id, entry))
    finally:
        server.stop()


def test_publisher_wakes_on_events_committed_by_another_process(tmp_path: Path, pg_url: str) -> None:
    """The publisher runs in one process (advisory lock); an event committed through another engine (another
    worker, the CLI) wakes it through NOTIFY at commit, not at its next poll (set to a minute here)."""
    import asyncio

    from judging import migrate
    from judging.db.engine import Database
    from judging.events import append_event
    from judging.feed import Publisher

    settings = Settings(var_dir=str(tmp_path / "var"), database_url=pg_url, secret=SECRET)
    migrate.upgrade(settings)

    class NoChannels:
        async def publish_many(self, messages: Any) -> list[bool]:
            return [True] * len(messages)

    async def main() -> None:
        leader_db, other_db = Database(settings), Database(settings)
        wake = asyncio.Event()
        publisher = Publisher(leader_db, NoChannels(), wake, poll_s=60)  # type: ignore[arg-type]
        try:
            await publisher._acquire_leadership()
            await asyncio.sleep(0.2)
            assert not wake.is_set()
            async with other_db.write() as session:  # two events, one transaction: one notification is enough
                await append_event(session, "timer", {"venue_id": 1})
                await append_event(session, "timer", {"venue_id": 1})
                await asyncio.sleep(0.3)
                assert not wake.is_set()  # NOTIFY is delivered at commit, not before
            await asyncio.wait_for(wake.wait(), 10)
        finally:
            await publisher.close()
            await leader_db.dispose()
            await other_db.dispose()

    asyncio.run(main())


def test_events_are_numbered_at_commit_in_commit_order(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL numbers events in a deferred trigger during COMMIT (migration 0002): a transaction that has
    written events but not committed holds no lock on the counter, so another event-writing transaction commits
    past it without waiting, and seqs follow commit order, gap-free."""
    import asyncio

    from sqlalchemy import select, text

    from judging import migrate
    from judging.db.engine import Database
    from judging.db.models import Event
    from judging.events import append_event

    settings = Settings(var_dir=str(tmp_path / "var"), database_url=pg_url, secret=SECRET)
    migrate.upgrade(settings)

    async def main() -> None:
        db = Database(settings)
        try:
            async with db.write() as session:
                await append_event(session, "timer", {"venue_id": 1})
            async with db.engine.connect() as slow:
                await slow.execute(text(
                    "INSERT INTO event (seq, kind, payload, created_at) "
                    "VALUES (-nextval('event_pending_seq'), 'timer', '{\"venue_id\": 2}', now())"))
                # "slow" has inserted its event and not committed; this one must not wait for it
                async def fast() -> None:
                    async with db.write() as session:
                        await append_event(session, "timer", {"venue_id": 3})
                await asyncio.wait_for(fast(), 5)
                await slow.commit()
            async with db.read() as session:
                rows = (await session.execute(select(Event.seq, Event.payload).order_by(Event.seq))).all()
            assert [(seq, payload["venue_id"]) for seq, payload in rows] == [(1, 1), (2, 3), (3, 2)]
        finally:
            await db.dispose()

    asyncio.run(main())


def test_row_locks_do_not_block_foreign_key_checks(tmp_path: Path, pg_url: str) -> None:
    """Host controls and releases lock their venue and entry rows with FOR NO KEY UPDATE: a concurrent transaction
    that only *references* those rows (an event's venue, a new sheet's entry: a foreign-key check takes KEY SHARE)
    is not blocked. With FOR UPDATE, the lifecycle check (entry locked, then an event naming the venue) and a
    release (venue locked, then the entry) deadlocked: PostgreSQL broke each cycle after deadlock_timeout (1 s),
    the release's retry came later still (several per national benchmark day)."""
    import asyncio

    from judging import migrate
    from judging.db.engine import Database
    from judging.db.models import Entry
    from judging.events import append_event
    from judging.venue_control import load_entry, load_venue

    settings = Settings(var_dir=str(tmp_path / "var"), database_url=pg_url, secret=SECRET)
    migrate.upgrade(settings)
    plan = seed_contest(settings, venues=1, judges=2, entries=1)
    venue_id, entry_id = plan.venues[0].venue_id, plan.venues[0].entries[0]

    async def main() -> None:
        db = Database(settings)
        try:
            async with db.write() as release_tx:  # a release: venue first, then (below) the entry
                venue = await load_venue(release_tx, venue_id, lock=True)

                async def lifecycle() -> None:  # the "panel complete?" check: the entry, then an event
                    async with db.write() as session:
                        entry = await session.get(Entry, entry_id, with_for_update={"key_share": True})
                        assert entry is not None
                        await append_event(session, "entry.status", {"entry_id": entry_id, "status": "unofficial"},
                                           contest_id=plan.contest_id, venue_id=venue_id)

                # the event's foreign key to the locked venue must not wait for the release to finish
                await asyncio.wait_for(lifecycle(), 5)
                await load_entry(release_tx, venue, entry_id, lock=True)
        finally:
            await db.dispose()

    asyncio.run(main())
