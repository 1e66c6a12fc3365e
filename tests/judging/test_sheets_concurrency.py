"""300 judges' sheets submitted concurrently, plus a replay of every one, against ONE real server process:
exactly 300 current sheets, no error responses, no duplicate versions, every replay answered with its original
receipt."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from judging import migrate
from judging.auth import issue_token
from judging.db.models import (
    Account,
    Entry,
    Event,
    PanelMember,
    Person,
    RoleGrant,
    Rubric,
    RubricItem,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.settings import Settings
from tests.browser.conftest import LiveServer, free_port
from tests.conftest import BACKEND, REDIS_URL, create_pg_database, drop_pg_database, run_db

JUDGES = 30  # x 10 entries of the venue = 300 sheets
SECRET = "c" * 40
RETRIES = [0]  # connections dropped and retried by the test client


def _in_thread(fn: Any, *args: Any) -> Any:
    """Run in a worker thread: after browser tests, Playwright's event loop still runs in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, Settings]]:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    pg_url = create_pg_database() if BACKEND == "pg" else ""
    settings = Settings(var_dir=str(var_dir), database_url=pg_url, secret=SECRET,
                        redis_url=REDIS_URL if pg_url else "")
    _in_thread(migrate.upgrade, settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({"PODIUM_VAR_DIR": str(var_dir), "PODIUM_PORT": str(port), "PODIUM_HOST": "127.0.0.1",
                "PODIUM_SECRET": SECRET, "PODIUM_LOG_LEVEL": "WARNING"})
    if pg_url:
        env.update({"PODIUM_DATABASE_URL": pg_url, "PODIUM_REDIS_URL": REDIS_URL})
    live = LiveServer(var_dir, port, env)
    try:
        yield live, settings
    finally:
        live.stop()
        if pg_url:
            drop_pg_database(pg_url)


async def _setup(session: Any) -> list[dict[str, Any]]:
    """The demo, 30 extra judges on venue V1's panel, a session token each; returns one sheet body per pair."""
    from judging.demo import seed_demo

    contest = await seed_demo(session)
    venue = (await session.execute(select(Venue).where(Venue.contest_id == contest.id, Venue.code == "V1"))
             ).scalar_one()
    entries = (await session.execute(select(Entry).where(Entry.venue_id == venue.id))).scalars().all()
    items: dict[int, list[tuple[str, Decimal, Decimal]]] = {}
    for e in entries:
        rows = (await session.execute(
            select(RubricItem.key, RubricItem.max_points, RubricItem.step)
            .join(Rubric, Rubric.id == RubricItem.rubric_id).join(Stage, Stage.id == Rubric.stage_id)
            .where(Rubric.topic_type_id == e.topic_type_id, Stage.kind == "onsite"))).all()
        items[e.id] = [(k, Decimal(m), Decimal(s)) for k, m, s in rows]
    rng = random.Random(7)
    jobs = []
    for n in range(JUDGES):
        person = Person(contest_id=contest.id, name=f"加评委{n:02d}")
        session.add(person)
        await session.flush()
        session.add(PanelMember(venue_id=venue.id, person_id=person.id))
        account = Account(display_name=person.name, person_id=person.id)
        session.add(account)
        await session.flush()
        session.add(RoleGrant(account_id=account.id, role="judge", contest_id=contest.id, venue_id=venue.id))
        raw, _ = await issue_token(session, SECRET, "session", account.id)
        for e in entries:
            values = {k: str((mx * Decimal(rng.randint(50, 100)) / 100 / st).to_integral_value() * st)
                      for k, mx, st in items[e.id]}
            jobs.append({"token": raw, "person_id": person.id, "body": {
                "client_submission_id": secrets.token_hex(16), "entry_id": e.id, "values": values,
                "device_id": f"pad-{n}"}})
    return jobs


async def _fire(url: str, jobs: list[dict[str, Any]]) -> list[tuple[str, int, Any]]:
    calls = [(job, attempt) for job in jobs for attempt in ("first", "replay")]
    random.Random(11).shuffle(calls)
    # All 600 requests are in flight at once; 100 connections stand in for the tablets (the server's database pool
    # is 20 connections, so most requests queue either way; the order they land in is what the test stresses).
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def one(job: dict[str, Any]) -> tuple[str, int, Any]:
            # Like the tablet's outbox: a dropped connection is retried with the same client id (on a loaded
            # machine uvicorn occasionally drops a kept-alive connection); an HTTP error response is never retried.
            for attempt in range(5):
                try:
                    r = await client.post("/api/judge/sheets", json=job["body"],
                                          headers={"Authorization": f"Bearer {job['token']}"})
                    return job["body"]["client_submission_id"], r.status_code, r.json()
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                    RETRIES[0] += 1
                    await asyncio.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")

        return await asyncio.gather(*(one(job) for job, _ in calls))


def test_300_concurrent_sheets_and_replays_exactly_once(server: tuple[LiveServer, Settings]) -> None:
    live, settings = server
    jobs = run_db(settings, _setup)
    assert len(jobs) == 300
    live.start()
    results = _in_thread(asyncio.run, _fire(live.local_url, jobs))

    errors = [(status, body) for _, status, body in results if status not in (200, 201)]
    assert errors == []
    created = sum(1 for _, status, _ in results if status == 201)
    # One 201 per sheet; a 201 lost with a dropped connection comes back as a 200 replay on the retry.
    assert 300 - RETRIES[0] <= created <= 300
    receipts: dict[str, list[Any]] = {}
    for cid, _, body in results:
        receipts.setdefault(cid, []).append(body)
    assert len(receipts) == 300
    for pair in receipts.values():
        assert len(pair) == 2 and pair[0] == pair[1]  # the replay got the original receipt
        assert pair[0]["version"] == 1

    people = sorted({job["person_id"] for job in jobs})

    async def check(session: Any) -> tuple[int, int, int, int, int]:
        sheet_ids = select(ScoreSheet.id).where(ScoreSheet.person_id.in_(people))
        versions = await session.scalar(select(func.count()).select_from(SheetVersion)
                                        .where(SheetVersion.sheet_id.in_(sheet_ids)))
        current = await session.scalar(select(func.count()).select_from(SheetVersion)
                                       .where(SheetVersion.sheet_id.in_(sheet_ids), SheetVersion.is_current))
        distinct = await session.scalar(select(func.count(func.distinct(SheetVersion.sheet_id)))
                                        .where(SheetVersion.sheet_id.in_(sheet_ids)))
        sheets = await session.scalar(select(func.count()).select_from(ScoreSheet)
                                      .where(ScoreSheet.person_id.in_(people)))
        events = await session.scalar(select(func.count()).select_from(Event).where(Event.kind == "sheet.submitted"))
        return versions, current, distinct, sheets, events

    assert run_db(settings, check) == (300, 300, 300, 300, 300)
