"""Structured logs with request ids.

Every HTTP request gets an id (the client's ``X-Request-ID`` when it is a sane token, else a new one), echoed in
the response header, and one JSON access-log line: time, id, method, path, status, duration, account.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import secrets
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("podium.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "podium", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("podium")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


_CREDENTIAL_PATH = re.compile(r"^/(j|setup)/[^/]+")
"""Paths whose last segment is a credential: a personal login link (``/j/<token>``, valid until revoked) and a
one-time setup link. The access log keeps the route, never the token (anyone reading the logs could log in)."""


def loggable_path(path: str) -> str:
    return _CREDENTIAL_PATH.sub(lambda m: f"/{m.group(1)}/<token>", path)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):  # (a busy server logs at WARNING: no record to build)
                user = scope.get("user")
                access_log.info(
                    "request",
                    extra={"podium": {
                        "request_id": request_id, "method": scope.get("method"),
                        "path": loggable_path(scope.get("path") or ""),
                        "status": status, "ms": round((time.perf_counter() - started) * 1000, 2),
                        "account": getattr(user, "account_id", None),
                    }},
                )


class GcPauses:
    """How long this process's cyclic garbage collector has paused it, per generation (``gc.callbacks``), for the
    status page: the figures the thresholds in judging/app.py were judged by. Installed once per process; the two
    callbacks per collection cost a microsecond or so."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]
        self._started = 0.0
        self._installed = False

    def install(self) -> None:
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if not self._started:  # installed while a collection ran
            return
        generation = info["generation"]
        took = time.perf_counter() - self._started
        self._started = 0.0
        self.collections[generation] += 1
        self.seconds[generation] += took
        self.max_ms[generation] = max(self.max_ms[generation], took * 1000)


gc_pauses = GcPauses()
