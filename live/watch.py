"""``podium watch URL``: print a live feed's messages in a terminal (hosts, debugging).

Accepts a websocket URL (``ws://host:8000/ws/venue/1``) or the page URL of a screen (``http://host:8000/screen/1``,
``/board/1``), keeps its last seq and resumes after a disconnect exactly like a big screen does, and answers the
heartbeat. A login token (``--token`` or ``PODIUM_TOKEN``) is sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import time
from collections.abc import Callable
from typing import TextIO

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from live.protocol import FATAL_CLOSE_CODES, Event, Hello, Ping, Pong, Snapshot, Synced, decode_server, encode, kind_of

_PAGES = [(re.compile(r"/screen/(\d+)"), "/ws/venue/{}"), (re.compile(r"/board/(\d+)"), "/ws/board/{}"),
          (re.compile(r"/venue/(\d+)"), "/ws/venue/{}")]


def feed_url(url: str) -> str:
    """The websocket URL of a feed, from a ws URL or a screen's page URL."""
    url = url.strip()
    if url.startswith(("http://", "https://")):
        scheme, rest = url.split("://", 1)
        host, _, path = rest.partition("/")
        path = "/" + path.split("?", 1)[0]
        for pattern, target in _PAGES:
            m = pattern.search(path)
            if m:
                path = target.format(m.group(1))
                break
        url = ("wss" if scheme == "https" else "ws") + "://" + host + path
    return url.split("?", 1)[0]


def describe(msg: object) -> str:
    if isinstance(msg, Event):
        data = msgspec.to_builtins(msg.data)
        data.pop("kind", None)
        return f"#{msg.seq} {kind_of(msg.data)} {json.dumps(data, ensure_ascii=False)}"
    if isinstance(msg, Snapshot):
        state = msg.state
        return f"snapshot at #{msg.seq}: {type(state).__name__} with {len(getattr(state, 'entries', {}))} entries"
    if isinstance(msg, Synced):
        return f"synced at #{msg.seq}"
    if isinstance(msg, Hello):
        return f"connected to {msg.feed} (heartbeat {msg.heartbeat_s:g} s, resume window {msg.window} events)"
    return type(msg).__name__.lower()


async def watch(url: str, *, token: str = "", since: int = 0, count: int = 0, raw: bool = False,
                out: TextIO = sys.stdout, max_reconnects: int = 1000,
                on_message: Callable[[object], None] | None = None) -> int:
    """Print messages until ``count`` events were printed (0: forever). Returns a process exit code."""
    target = feed_url(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    last, printed, attempt = since, 0, 0
    while attempt <= max_reconnects:
        try:
            async with connect(f"{target}?since={last}", additional_headers=headers, open_timeout=10,
                               ping_interval=None, max_size=2**24) as ws:
                heartbeat = 20.0
                next_ping = time.monotonic()
                while True:
                    timeout = max(0.0, next_ping - time.monotonic())
                    try:
                        data = await asyncio.wait_for(ws.recv(), timeout)
                    except TimeoutError:
                        await ws.send(encode(Ping(t=int(time.time() * 1000))).decode())
                        next_ping = time.monotonic() + heartbeat / 2
                        continue
                    msg = decode_server(data)
                    if on_message is not None:
                        on_message(msg)
                    if isinstance(msg, Hello):
                        heartbeat = msg.heartbeat_s
                        attempt = 0
                    if isinstance(msg, Pong | Ping):
                        continue
                    if isinstance(msg, Event):
                        if msg.seq <= last:
                            continue
                        last = msg.seq
                        printed += 1
                    elif isinstance(msg, Snapshot | Synced):
                        last = max(last, msg.seq)
                    print(data if raw and isinstance(data, str) else
                          (data.decode() if raw and isinstance(data, bytes) else describe(msg)), file=out, flush=True)
                    if count and printed >= count:
                        return 0
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            reason = exc.rcvd.reason if exc.rcvd else ""
            if code in FATAL_CLOSE_CODES:
                print(f"podium watch: the server refused the feed ({code}: {reason})", file=sys.stderr)
                return 1
            print(f"podium watch: connection closed ({code} {reason}); reconnecting from #{last}", file=sys.stderr)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            print(f"podium watch: cannot connect ({exc}); retrying", file=sys.stderr)
        except InvalidURI:
            print(f"podium watch: not a feed URL: {url}", file=sys.stderr)
            return 2
        attempt += 1
        await asyncio.sleep(random.uniform(0, min(10.0, 0.5 * 2**attempt)))
    return 1
