"""Helpers for tests against real ``podium serve`` processes (scaled-out mode, crash test): environments on the
selected backend, sessions from login links, full score sheets from the judge's own state, a feed reader."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from live.protocol import Event, ServerMessage, Snapshot, Synced, decode_server
from tests.browser.conftest import LiveServer, free_port


def server_env(var_dir: Path, port: int, *, database_url: str = "", redis_url: str = "",
               secret: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({"PODIUM_VAR_DIR": str(var_dir), "PODIUM_PORT": str(port), "PODIUM_HOST": "127.0.0.1",
                "PODIUM_LOG_LEVEL": "WARNING"})
    if database_url:
        env["PODIUM_DATABASE_URL"] = database_url
    if redis_url:
        env["PODIUM_REDIS_URL"] = redis_url
    if secret:
        env["PODIUM_SECRET"] = secret
    return env


def new_server(var_dir: Path, **kw: Any) -> LiveServer:
    var_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return LiveServer(var_dir, port, server_env(var_dir, port, **kw))


def session_token(base_url: str, link: str) -> str:
    """Open a login link like a tablet does and return the session token (used as a Bearer token)."""
    r = httpx.get(f"{base_url}/j/{link}", follow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text
    token = r.cookies.get("podium_session")
    assert token
    return str(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def full_values(state: dict[str, Any], entry_id: int, bump: int = 0) -> dict[str, str]:
    """A valid value for every item of the entry's rubric (from ``GET /api/judge/state``)."""
    entry = next(e for e in state["entries"] if e["id"] == entry_id and e["stage"] == "onsite")
    rubric = next(r for r in state["rubrics"] if r["id"] == entry["rubric_id"])
    out = {}
    for n, item in enumerate(rubric["items"]):
        step, top = float(item["step"]), float(item["max"])
        value = top - step * ((n + bump) % 3)
        out[item["key"]] = f"{value:g}"
    return out


def new_cid() -> str:
    return uuid.uuid4().hex


def read_until(ws: Any, pred: Any, timeout: float = 15.0) -> list[ServerMessage]:
    """Messages from a ``websockets`` sync client up to the first one matching ``pred``."""
    out: list[ServerMessage] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            raw = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        msg = decode_server(raw)
        out.append(msg)
        if pred(msg):
            return out
    raise AssertionError(f"no matching message within {timeout} s; got {[type(m).__name__ for m in out][-10:]}")


def synced(msg: Any) -> bool:
    return isinstance(msg, Synced)


def event_kind(msg: Any) -> str | None:
    return msg.data.__struct_config__.tag if isinstance(msg, Event) else None


__all__ = ["Event", "LiveServer", "Snapshot", "bearer", "event_kind", "full_values", "new_cid", "new_server",
           "read_until", "server_env", "session_token", "synced"]
