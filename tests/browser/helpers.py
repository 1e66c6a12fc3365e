"""Helpers for browser tests that drive the server through its API while a page watches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from judging.settings import Settings
from tests.browser.conftest import LiveServer

# Playwright's sync API keeps an event loop running in this thread: database helpers (asyncio.run) go to another.
_pool = ThreadPoolExecutor(1)


def off(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a worker thread (for helpers that call ``asyncio.run``)."""
    return _pool.submit(fn, *args).result()


def settings_of(server: LiveServer) -> Settings:
    return Settings.from_env(server.env).with_secret()


def api(server: LiveServer, headers: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    """A request to the live server that must answer 200; its JSON."""
    r = httpx.request(method, server.local_url + path, headers=headers, json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()
