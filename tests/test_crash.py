"""Crash test: ``kill -9`` the server at random moments under load, restart it, and check that nothing
acknowledged was lost or doubled, the event log has no gaps, and a screen that reconnects resyncs.

Load: every judge of two venues runs a tablet (one request at a time, like the real outbox: a submission whose
answer was lost is retried with the SAME client submission id until a receipt arrives; heartbeats in between;
some acknowledged submissions replayed on purpose), and a host puts entries on stage. A venue-screen client
holds ``/ws/venue/<id>``, folds the events into its state and reconnects with ``?since=<last seq>`` after every
kill. Meanwhile the server is killed (SIGKILL) ``PODIUM_CRASH_KILLS`` times (default 6; the full run is 20) at
random moments and restarted.

Afterwards: every acknowledged submission (201 or 200 receipt) is stored exactly once with the acknowledged
sheet and version; nothing unacknowledged is stored; each sheet's versions are 1..n with one current; each
version has exactly one ``sheet.submitted`` event; event seqs are exactly 1..head; the screen's folded state
equals the server's snapshot. On SQLite, and on PostgreSQL + Redis with ``PODIUM_TEST_DB=pg``.

    PODIUM_CRASH_KILLS=20 .venv/bin/pytest tests/test_crash.py -q            # the full run
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench._contest_seed import ContestPlan, Person, seed_contest
from judging.db.models import Event, EventCounter, ScoreSheet, SheetVersion
from judging.settings import Settings
from live.projection import apply
from live.protocol import Event as EventMsg
from live.protocol import Snapshot, State, decode_server
from tests.conftest import BACKEND, REDIS_URL, create_pg_database, drop_pg_database, run_db
from tests.realserver import LiveServer, bearer, new_server, session_token

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("PODIUM_CRASH_KILLS", "6"))
SECRET = "c" * 40
RETRYABLE = (httpx.TransportError,)


@dataclass
class Ack:
    cid: str
    sheet_id: int
    version: int
    status: int


@dataclass
class Totals:
    acks: dict[str, Ack] = field(default_factory=dict)
    sent: int = 0
    retries: int = 0
    replays: int = 0
    resent: int = 0
    """Submissions sent again after a transport failure (the answer, or the request, was lost)."""
    errors: list[str] = field(default_factory=list)


class Tablet:
    """One judge's tablet: sequential requests, a submission is retried with its id until a receipt arrives."""

    def __init__(self, base: str, token: str, entries: list[int], totals: Totals, rng: random.Random) -> None:
        self.http = httpx.AsyncClient(base_url=base, headers=bearer(token), timeout=10)
        self.entries = entries
        self.totals = totals
        self.rng = rng
        self.version: dict[int, int] = {}
        self.rubric: dict[int, dict[str, Any]] = {}
        self.device = f"crash-{rng.getrandbits(32):08x}"

    async def request(self, method: str, url: str, stop: asyncio.Event, **kw: Any) -> httpx.Response | None:
        """Retry transport failures (the server is down or died mid-request) until an HTTP answer arrives."""
        for _attempt in range(600):
            try:
                return await self.http.request(method, url, **kw)
            except RETRYABLE:
                self.totals.retries += 1
                await asyncio.sleep(0.05 + self.rng.random() * 0.1)
                if stop.is_set() and method == "GET":
                    return None
        raise AssertionError(f"{method} {url}: no answer after 600 attempts")

    async def load_state(self, stop: asyncio.Event) -> None:
        r = await self.request("GET", "/api/judge/state", stop)
        if r is None:
            return
        state = r.json()
        rubrics = {x["id"]: x for x in state["rubrics"]}
        for e in state["entries"]:
            if e["stage"] == "onsite" and e["rubric_id"] is not None:
                self.rubric[e["id"]] = rubrics[e["rubric_id"]]

    def values(self, entry: int) -> dict[str, str]:
        out = {}
        for item in self.rubric[entry]["items"]:
            steps = int(float(item["max"]) / float(item["step"]))
            out[item["key"]] = f"{self.rng.randint(steps // 2, steps) * float(item['step']):g}"
        return out

    async def submit(self, entry: int, stop: asyncio.Event) -> None:
        cid = f"{self.rng.getrandbits(128):032x}"
        body = {"client_submission_id": cid, "entry_id": entry, "stage": "onsite", "values": self.values(entry),
                "base_version": self.version.get(entry, 0), "device_id": self.device}
        self.totals.sent += 1
        before = self.totals.retries
        r = await self.request("POST", "/api/judge/sheets", stop, json=body)
        self.totals.resent += self.totals.retries > before
        assert r is not None
        if r.status_code not in (200, 201):
            self.totals.errors.append(f"{r.status_code} {r.text[:200]}")
            return
        receipt = r.json()
        self.totals.acks[cid] = Ack(cid, receipt["sheet_id"], receipt["version"], r.status_code)
        self.version[entry] = receipt["version"]
        if self.rng.random() < 0.15:  # a deliberate replay of an acknowledged submission: the same receipt
            self.totals.replays += 1
            again = await self.request("POST", "/api/judge/sheets", stop, json=body)
            assert again is not None
            if again.status_code != 200 or again.json()["version"] != receipt["version"]:
                self.totals.errors.append(f"replay answered {again.status_code} {again.text[:200]}")

    async def run(self, stop: asyncio.Event) -> None:
        await self.load_state(stop)
        n = 0
        while not stop.is_set():
            n += 1
            if n % 5 == 0:
                await self.request("POST", "/api/judge/heartbeat", stop,
                                   json={"device_id": self.device, "queued": n % 3, "online": True})
            await self.submit(self.rng.choice(self.entries), stop)
            await asyncio.sleep(self.rng.random() * 0.05)
        await self.http.aclose()


class Screen:
    """A venue screen: folds events into its state, reconnects with its last seq after a disconnect."""

    def __init__(self, ws_base: str, venue_id: int, token: str) -> None:
        self.url = f"{ws_base}/ws/venue/{venue_id}"
        self.token = token
        self.state: State | None = None
        self.last = 0
        self.connects = 0
        self.snapshots = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with connect(f"{self.url}?since={self.last}", additional_headers=bearer(self.token),
                                   open_timeout=5, ping_interval=None, max_size=2**24) as ws:
                    self.connects += 1
                    last_ping = time.monotonic()
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            raw = None
                        if time.monotonic() - last_ping > 5:
                            await ws.send('{"type":"ping","t":0}')
                            last_ping = time.monotonic()
                        if raw is None:
                            continue
                        msg = decode_server(raw)
                        if isinstance(msg, Snapshot):
                            self.state, self.last = msg.state, msg.seq
                            self.snapshots += 1
                        elif isinstance(msg, EventMsg) and msg.seq > self.last and self.state is not None:
                            apply(self.state, msg.data, msg.seq)
                            self.last = msg.seq
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake):  # killed: reconnect from last seq
                await asyncio.sleep(0.1)


async def host_loop(base: str, token: str, venue_id: int, stop: asyncio.Event, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=base, headers=bearer(token), timeout=10) as http:
        n = 0
        while not stop.is_set():
            await asyncio.sleep(0.2 + rng.random() * 0.3)
            n += 1
            with contextlib.suppress(httpx.TransportError):  # the server is down: the host tries again later
                if n % 3 == 0:
                    await http.post(f"/api/venue/{venue_id}/stage", json={})
                else:
                    await http.post(f"/api/venue/{venue_id}/timer", json={"action": "start" if n % 3 == 1 else "pause"})


async def load(server: LiveServer, plan: ContestPlan, kills: int, seed: int) -> tuple[Totals, list[Screen], int]:
    rng = random.Random(seed)
    base = server.local_url
    totals = Totals()
    stop = asyncio.Event()

    def token(p: Person) -> str:
        return session_token(base, p.link)

    tablets = [Tablet(base, token(j), v.entries, totals, random.Random(rng.random()))
               for v in plan.venues for j in v.judges]
    screens = [Screen(f"ws://127.0.0.1:{server.port}", v.venue_id, token(v.display)) for v in plan.venues]
    tasks = [asyncio.create_task(t.run(stop)) for t in tablets]
    tasks += [asyncio.create_task(host_loop(base, token(v.host), v.venue_id, stop, random.Random(rng.random())))
              for v in plan.venues]
    screens_stop = asyncio.Event()
    screen_tasks = [asyncio.create_task(s.run(screens_stop)) for s in screens]
    done = 0
    try:
        for _ in range(kills):
            await asyncio.sleep(0.3 + rng.random() * 1.2)  # a random moment under load
            await asyncio.to_thread(server.stop, True)
            done += 1
            await asyncio.sleep(rng.random() * 0.3)
            await asyncio.to_thread(server.start)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)  # tablets flush their outboxes, hosts stop
        await compare_screens(base, screens)
    except BaseException:
        for task in tasks:  # the server could not come back: do not let tablets retry for minutes
            task.cancel()
        raise
    finally:
        stop.set()
        screens_stop.set()
        await asyncio.gather(*tasks, *screen_tasks, return_exceptions=True)
    return totals, screens, done


async def compare_screens(base: str, screens: list[Screen]) -> None:
    """Each screen's folded state must come to equal the server's snapshot (bounded wait)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        deadline = time.monotonic() + 30
        while True:
            pending = []
            for s in screens:
                venue_id = int(s.url.rsplit("/", 1)[1])
                raw = (await http.get(f"/api/live/venue/{venue_id}", headers=bearer(s.token))).content
                snap = msgspec.json.decode(raw, type=Snapshot)
                if s.state != snap.state:
                    pending.append(venue_id)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"screens of venues {pending} did not resync to the server's state")
            await asyncio.sleep(0.2)


@pytest.fixture
def crash_server(tmp_path: Path) -> Iterator[tuple[LiveServer, ContestPlan, Settings]]:
    url = create_pg_database() if BACKEND == "pg" else ""
    try:
        server = new_server(tmp_path / "var", database_url=url, redis_url=REDIS_URL if url else "", secret=SECRET)
        settings = Settings(var_dir=str(tmp_path / "var"), database_url=url, secret=SECRET)
        server.podium("db", "upgrade")
        plan = seed_contest(settings, venues=2, judges=5, entries=6)
        server.start()
        try:
            yield server, plan, settings
        finally:
            server.stop()
    finally:
        if url:
            drop_pg_database(url)


def test_kill_9_under_load_loses_and_doubles_nothing(crash_server: tuple[LiveServer, ContestPlan, Settings]
                                                     ) -> None:
    server, plan, settings = crash_server
    with ThreadPoolExecutor(1) as pool:  # asyncio.run refuses to run inside Playwright's loop (browser suite)
        totals, screens, kills = pool.submit(asyncio.run, _run_all(server, plan)).result()
    assert kills == KILLS
    assert totals.errors == []
    assert totals.acks and totals.replays > 0
    server.stop()  # read the database quietly

    async def stored(session: Any) -> tuple[list[Any], list[int], int, list[Any]]:
        versions = (await session.execute(
            select(SheetVersion.client_submission_id, SheetVersion.sheet_id, SheetVersion.version,
                   SheetVersion.is_current, ScoreSheet.entry_id, ScoreSheet.person_id)
            .join(ScoreSheet, ScoreSheet.id == SheetVersion.sheet_id))).all()
        seqs = list((await session.execute(select(Event.seq).order_by(Event.seq))).scalars())
        head = int((await session.execute(select(EventCounter.last_seq))).scalar() or 0)
        sheet_events = (await session.execute(
            select(Event.payload).where(Event.kind == "sheet.submitted"))).scalars().all()
        return list(versions), seqs, head, list(sheet_events)

    versions, seqs, head, sheet_events = run_db(settings, stored)
    by_cid = Counter(v.client_submission_id for v in versions)
    # Every acknowledged submission stored exactly once, as acknowledged; nothing else stored.
    assert set(by_cid) == set(totals.acks), (len(by_cid), len(totals.acks))
    assert max(by_cid.values()) == 1
    for v in versions:
        ack = totals.acks[v.client_submission_id]
        assert (v.sheet_id, v.version) == (ack.sheet_id, ack.version)
    # Each sheet: versions 1..n, exactly one current (the last).
    per_sheet: dict[int, list[Any]] = {}
    for v in versions:
        per_sheet.setdefault(v.sheet_id, []).append(v)
    for rows in per_sheet.values():
        assert sorted(r.version for r in rows) == list(range(1, len(rows) + 1))
        assert [r.version for r in rows if r.is_current] == [len(rows)]
    # One sheet.submitted event per stored version.
    events = Counter((p["entry_id"], p["person_id"], p["version"]) for p in sheet_events)
    assert events == Counter((v.entry_id, v.person_id, v.version) for v in versions)
    # The event log: seq 1..head, no gaps, no extras.
    assert seqs == list(range(1, head + 1))
    # Screens reconnected after the kills and resynced (compared inside the run).
    assert all(s.connects >= 2 for s in screens)
    print(f"\ncrash test ({BACKEND}): {kills} kills, {len(totals.acks)} acknowledged submissions "
          f"({totals.resent} sent again after a lost answer, {sum(a.status == 200 for a in totals.acks.values())} "
          f"of them had been stored before the kill), {totals.replays} "
          f"replays, {totals.retries} transport retries, {head} events, screen connects "
          f"{[s.connects for s in screens]}")


async def _run_all(server: LiveServer, plan: ContestPlan) -> tuple[Totals, list[Screen], int]:
    return await load(server, plan, KILLS, seed=int(os.environ.get("PODIUM_CRASH_SEED", str(time.time_ns()))))
