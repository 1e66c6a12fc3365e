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
