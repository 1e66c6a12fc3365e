"""Scaled-out mode smoke tests with real Redis (and PostgreSQL): state that must be shared between server
processes really is shared."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from judging.settings import Settings
from tests.conftest import REDIS_URL, missing
from tests.helpers import PASSWORD, make_staff


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        missing("Redis (PODIUM_TEST_REDIS_URL)")
    return REDIS_URL


@pytest.mark.redis
def test_login_rate_limit_shared_between_processes(settings: Settings, redis_url: str) -> None:
    """Two app instances (as two worker processes would be) count failures for one account together."""
    from judging.app import create_app

    shared = msgspec.structs.replace(settings, redis_url=redis_url)
    user = "u" + uuid.uuid4().hex[:8]
    make_staff(shared, user, "staff")
    with TestClient(create_app(shared)) as a, TestClient(create_app(shared)) as b:
        for n in range(shared.login_max_failures):
            client = a if n % 2 else b
            assert client.post("/api/auth/login", json={"username": user, "password": "wrong-wrong"}).status_code == 401
        assert a.post("/api/auth/login", json={"username": user, "password": PASSWORD}).status_code == 429
        assert b.post("/api/auth/login", json={"username": user, "password": PASSWORD}).status_code == 429


@pytest.mark.redis
@pytest.mark.anyio
async def test_channel_message_crosses_backends(redis_url: str) -> None:
    """A message published through one Redis channels backend reaches a subscriber of another."""
    from live.channels import make_backend

    channel = "test-" + uuid.uuid4().hex[:8]
    pub, sub = make_backend(redis_url, key_prefix="podium-test"), make_backend(redis_url, key_prefix="podium-test")
    await pub.on_startup()
    await sub.on_startup()
    try:
        await sub.subscribe([channel])
        received: list[Any] = []

        async def listen() -> None:
            async for _, payload in sub.stream_events():
                received.append(payload)
                return

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        await pub.publish(b"hello", [channel])
        await asyncio.wait_for(task, timeout=10)
        assert received == [b"hello"]
    finally:
        await pub.on_shutdown()
        await sub.on_shutdown()


@pytest.mark.redis
@pytest.mark.anyio
async def test_publish_many_is_one_ordered_batch(redis_url: str) -> None:
    """A batch published in one pipeline reaches a subscriber of another backend complete and in order per
    channel, and the streams keep (at least) STREAM_MAXLEN entries: a reader that falls behind loses nothing."""
    from live.channels import STREAM_MAXLEN, make_backend

    a, b = ("test-" + uuid.uuid4().hex[:8] for _ in range(2))
    pub, sub = make_backend(redis_url, key_prefix="podium-test"), make_backend(redis_url, key_prefix="podium-test")
    await pub.on_startup()
    await sub.on_startup()
    try:
        n = 300
        batch = [(a if i % 3 else b, f"{i}".encode()) for i in range(n)]
        assert await pub.publish_many(batch) == [True] * n
        await sub.subscribe([a, b])  # subscribed after the publish: reads the streams from their start
        received: dict[str, list[bytes]] = {a: [], b: []}

        async def listen() -> None:
            async for channel, payload in sub.stream_events():
                received[channel].append(payload)
                if sum(map(len, received.values())) == n:
                    return

        await asyncio.wait_for(listen(), timeout=10)
        for channel in (a, b):
            assert received[channel] == [d for c, d in batch if c == channel]
        assert n < STREAM_MAXLEN
    finally:
        await pub.on_shutdown()
        await sub.on_shutdown()


@pytest.mark.pg
def test_app_on_postgresql(tmp_path: Any) -> None:
    from judging import migrate
    from judging.app import create_app
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        s = Settings(var_dir=str(tmp_path), database_url=url, secret="p" * 40, redis_url=REDIS_URL)
        migrate.upgrade(s)
        make_staff(s, "pg-owner", "owner")
        with TestClient(create_app(s)) as client:
            assert client.get("/healthz").json()["database"] == "ok"
            ok = client.post("/api/auth/login", json={"username": "pg-owner", "password": PASSWORD})
            assert ok.status_code == 201
            assert client.get("/api/staff/audit").json()[0]["action"] == "auth.login"
    finally:
        drop_pg_database(url)


def _terminate_connections(url: str) -> None:
    """What a PostgreSQL restart does to every pooled connection of the app (on this one database only)."""
    from tests.conftest import PG_URL, _pg_admin, _pg_exec

    _, name = _pg_admin(url)
    _pg_exec(PG_URL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")


@pytest.mark.pg
def test_dead_pooled_connections_are_replaced_not_500(tmp_path: Any) -> None:
    """No pool_pre_ping (a round trip per checkout): a connection found dead on use renews the pool; a single
    read and a write transaction run again on a fresh connection, any other read reports "unavailable" (503 /
    1013), and the app's requests after a restart get answers, never a 500."""
    from sqlalchemy import text

    from judging import migrate
    from judging.app import create_app
    from judging.db.engine import Database, unavailable
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        s = Settings(var_dir=str(tmp_path), database_url=url, secret="p" * 40, redis_url=REDIS_URL)
        migrate.upgrade(s)

        async def direct() -> None:
            db = Database(s)
            try:
                assert (await db.select_rows(text("SELECT 1")))[0][0] == 1  # a pooled connection now exists
                _terminate_connections(url)
                assert (await db.select_rows(text("SELECT 2")))[0][0] == 2  # ran again on a fresh one

                async def write(session: Any) -> int:
                    return int((await session.execute(text("SELECT 3"))).scalar_one())

                _terminate_connections(url)
                assert await db.transaction(write) == 3
                _terminate_connections(url)
                with pytest.raises(Exception) as caught:
                    async with db.read() as session:
                        await session.execute(text("SELECT 4"))
                assert unavailable(caught.value)
            finally:
                await db.dispose()

        asyncio.run(direct())

        make_staff(s, "pg-owner", "owner")
        with TestClient(create_app(s)) as client:
            assert client.post("/api/auth/login", json={"username": "pg-owner", "password": PASSWORD}).status_code \
                == 201
            for _ in range(2):
                _terminate_connections(url)
                answer = client.get("/api/staff/audit")
                assert answer.status_code in (200, 503), answer.text
            assert client.get("/api/staff/audit").status_code == 200
    finally:
        drop_pg_database(url)
