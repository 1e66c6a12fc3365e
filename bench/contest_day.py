"""A simulated contest day against a real ``podium serve`` (spawned as a subprocess), with its ceilings.

V venues x K judges run as tablets (one HTTP/1.1 keep-alive client each, ``BareHTTP``; the real protocol: login link
-> session, the venue feed open on ``/ws/venue/<id>``, a heartbeat every 20 s sent over that feed (a ``beat``
message; a request only while the feed is not open), submissions with a client submission
id, some replayed (a lost acknowledgement: the same id again -> 200 and the same receipt) and some corrected (a new
id with ``base_version``)). As judging/static/js/tablet.js, a tablet reads ``GET /api/judge/state`` when its feed
(re)connects and every 120 s as a safety poll, and otherwise applies the feed's ``venue.current``, ``entry.status``
and ``result.released`` events and its own submission receipts to its local state (its own ``sheet.submitted`` event
polls nothing); it would re-read on ``sheet.locked``/``sheet.reopened``, a newer version of its own sheet,
``result.corrected`` or ``grades.finalized``, none of which this day produces. A host per venue puts each entry on
stage, starts the timer and ends the presentation; the chief judge releases once the panel's sheets are
acknowledged; N viewers hold live feeds (one venue screen per venue on ``/ws/venue/<id>``, the rest on the public
``/ws/board/<contest>``; every tablet's venue feed counts too). The host and the chief judge each have the venue's
control page open (``Console``, since the ninth stop; ``--no-consoles`` leaves them out as before): the venue's console
feed (``/ws/venue/<id>/console``: the venue feed plus the panel's tablets coming and going) and ``GET
/api/venue/<id>/control`` re-read as judging/static/js/control.js does it (debounced 250 ms, one read at a time, every
60 s regardless; no read for events its state already reflects, for sheets, status changes after the stage,
released results, tablets' presence or the timer; the chief judge's read of an entry before releasing it). Their
reads are counted as requests and printed (``control_read``, ``control_reads_by_cause``);
``--console-rereads-all`` gives the console as it was before the ninth stop (the venue feed, a re-read after every
event and every 15 s).

Every feed socket of the generator is a bare asyncio protocol (hand-written handshake, a header parser for the
server's unmasked frames, masked client frames, pong to pings, close to close, the feed's client ping every
20 s), as in bench/live_fanout.py: a websocket client library per socket cost the generator a whole core at
2,000 sockets (pure-Python frame parsing), so the day measured its own client. A frame costs a header parse and
a ``bytes.find``; only ``result.released`` events are decoded. With ``--board-process`` (the national profile's
default) the public board's sockets run in a process of their own (``BoardProcess``): a release reaches all of
them at once, and reading that burst delays the tablets' and hosts' own timers and responses in a shared process
(included in their latencies).

Printed: submit latency p50/p99/max (every ``POST /api/judge/sheets``), release->screen latency p50/p99/max over
every viewer and release (clock starts just before the chief's release request, stops when a viewer's socket
delivers the ``result.released`` event), requests/s during the day, error count, and a reconciliation read
from the database (acknowledged submissions = stored versions, duplicates = 0), and the CPU time used during the
day by this generator (``time.process_time``) and by the server's processes (``/proc``), to show which side is
saturated, and this generator's own event-loop lag (how late a 10 ms timer fires: every latency it measures
includes that much of its own backlog). Then the ceilings, measured in the same run on the same machine: a bare
Litestar JSON endpoint (a tiny app in a subprocess, closed loop) and a bare ``websockets`` broadcast to the same
number of viewers; our figures are printed as ratios of them.

Profiles: ``provincial`` (40 x 7, 2,000 viewers, SQLite embedded, 1 process), ``national`` (100 x 9, 5,000
viewers, PostgreSQL + Redis, ``podium serve --workers 2``), ``--quick`` (4 x 5, 100 viewers; CI).
Loopback only. On 2 cores the single-process server is pinned to core 0 and this load generator to core 1;
the national profile is not pinned (2 workers, PostgreSQL and Redis share both cores with the generator).

    .venv/bin/python bench/contest_day.py --quick
    .venv/bin/python bench/contest_day.py --profile provincial
    .venv/bin/python bench/contest_day.py --profile national      # needs PostgreSQL and Redis (see --pg-url)
    .venv/bin/python bench/contest_day.py --profile national --tempo 1   # the stress run: twice the national pace
    .venv/bin/python bench/contest_day.py --quick --json          # last line: one JSON object

The profiles' schedule is compressed: an entry's turn (``presentation_s`` + ``scoring_s``) lasts seconds instead of
a real ~21 minutes (``compression`` in the output): 1/210 for provincial, 1/90 for national (its profile's tempo 2,
see ``PROFILES``). ``--tempo`` stretches it to find how much load the targets hold to; heartbeats, polls and pings keep
their real intervals. ``machine_busy`` tells whether the machine itself was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._contest_seed import ContestPlan, seed_contest  # noqa: E402
from bench.live_fanout import client_frame, free_port, pin, run_bare  # noqa: E402

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"venues": 4, "judges": 5, "viewers": 100, "entries": 3, "backend": "sqlite", "workers": 1,
              "presentation_s": 1.0, "scoring_s": 2.0, "stagger_s": 2.0, "board_process": False},
    "provincial": {"venues": 40, "judges": 7, "viewers": 2000, "entries": 4, "backend": "sqlite", "workers": 1,
                   "presentation_s": 2.0, "scoring_s": 4.0, "stagger_s": 8.0, "board_process": False},
    "national": {"venues": 100, "judges": 9, "viewers": 5000, "entries": 3, "backend": "pg", "workers": 2,
                 "presentation_s": 2.0, "scoring_s": 5.0, "stagger_s": 10.0, "board_process": True, "tempo": 2.0},
}
"""``tempo`` (1 when absent; ``--tempo`` overrides it): the schedule stretched by this factor. The national day runs
at tempo 2 since the fifteenth stop: an entry's turn is 1/90 of a real one; 2,700 sheets (~44 a second; ~54
submissions with replays and corrections) and ~5 releases a second, about six times the peak of a real national day
whose 100 venues all start at the same minute (bench/README.md, "Results after the fifteenth stop"). At tempo 1
(1/180) the day is a stress run: it keeps both cores of the benchmark machine saturated through its middle
(``machine_busy``), so its p99s measure the queue for a core."""
"""``board_process``: the public board's viewers in a process of their own (``--board-process`` /
``--no-board-process`` override it). On for the national day since the eleventh stop: its generator is not pinned,
and in one process the bursts of reading 4,000 board sockets per release put 57–92 ms (p99) of the generator's own
loop lag into every tablet's and host's measured latency; a separate process keeps that lag at ~4 ms. Off for the
provincial day, whose generator is pinned to one core: two processes there share it (seventh stop)."""
REPLAY_SHARE = 0.10
"""Share of first submissions sent twice with the same id (a lost acknowledgement)."""
EDIT_SHARE = 0.15
"""Share of judges who correct their sheet (a new version with base_version)."""
POLL_S = 120.0  # as judging/static/js/tablet.js while its venue feed is live (POLL_WHILE_LIVE_MS)
HEARTBEAT_S = 20.0  # tablet.js HEARTBEAT_MS; over the venue feed while it is open
CONSOLE_DEBOUNCE_S = 0.25
"""feed.js ``liveRefresh``'s debounce: a venue console re-reads its state this long after a feed message."""
CONSOLE_FALLBACK_S = 60.0
"""control.js's safety re-read (every change, a tablet going silent included, arrives on its feed)."""
OLD_CONSOLE_FALLBACK_S = 15.0
"""control.js's re-read before the tenth stop, when nothing announced a tablet going silent."""
FEED_PING_S = 20.0
"""Client ping on every feed socket, as judging/static/js/feed.js (the server closes a socket silent for 3 x its
20 s heartbeat)."""
REAL_CYCLE_S = (15 + 5 + 1) * 60
"""One entry's turn on a real day: the 15 + 5 minutes presentation and questions that PRODUCT.md gives as the
default timing, and about a minute for the last judge's sheet. A benchmark cycle (``presentation_s`` +
``scoring_s``) is far shorter: ``compression`` in the output is the ratio."""
WAVE = 250
"""Feed sockets opened at a time (listen backlog)."""
TLS = ssl.create_default_context()
"""One TLS context for every client (plain HTTP here; a client would otherwise load the CA store per instance,
~40 ms each: most of the set-up time of a provincial day)."""

BARE_LITESTAR = r'''
import sys
from typing import Any
import uvicorn
from litestar import Litestar, post

@post("/echo", status_code=201)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "items": len(data.get("values", {}))}

uvicorn.run(Litestar([echo]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
'''


def pct(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    a = np.array(values) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1),
            "max_ms": round(float(a.max()), 1), "n": len(values)}


# ------------------------------------------------------------------------------------------ the day
@dataclass
class Day:
    http_requests: int = 0
    errors: list[str] = field(default_factory=list)
    submit_latency: list[float] = field(default_factory=list)
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)
    """client submission id -> (sheet id, version), from 201/200 receipts."""
    release_t0: dict[int, float] = field(default_factory=dict)
    screen_latency: list[float] = field(default_factory=list)
    release_latency: list[float] = field(default_factory=list)
    """How long the chief's release request took (the first part of release->screen)."""
    expected_receipts: int = 0
    replays: int = 0
    edits: int = 0
    releases: int = 0
    retried: int = 0
    """Requests sent again after the server closed an idle keep-alive connection under them."""
    released_venues: list[int] = field(default_factory=list)
    state_refetches: int = 0
    """Tablets that had to re-read their state to find an entry's rubric (expected 0)."""
    beats_on_feed: int = 0
    """Tablet heartbeats sent as a ``beat`` on the venue feed (the others were requests)."""
    beating: set[str] = field(default_factory=set)
    """Devices that sent at least one heartbeat: each must have a presence row at the end."""
    control_latency: list[float] = field(default_factory=list)
    """Every venue console's ``GET /api/venue/<id>/control`` (its feed-driven and safety re-reads)."""
    console_applied: int = 0
    """Feed events the consoles applied without a re-read."""
    console_presence: int = 0
    """Tablets' ``presence`` events on the consoles' feeds (among ``console_applied``)."""
    control_causes: Counter[str] = field(default_factory=Counter)
    """What started each console re-read (the event kind that opened its debounce window, the safety poll, ...)."""
    console_seen: int = 0
    """Feed events the consoles' state already reflected (at or below its seq)."""

    def error(self, what: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(what)
        else:
            self.errors.append("...")


class _Data(msgspec.Struct):
    kind: str = ""
    entry_id: int = 0
    version: int = 0
    stage: str = ""
    status: str = ""


class _Msg(msgspec.Struct):
    type: str
    data: _Data | None = None


_decode = msgspec.json.Decoder(_Msg).decode
RELEASED = b'"kind":"result.released"'
"""How a ``result.released`` event shows on the wire (live/protocol.py: msgspec writes the tag first)."""
PING = b'{"type":"ping","t":0}'


class _Feed(asyncio.Protocol):
    """One live-feed socket as a bare asyncio protocol: hand-written handshake, unmasked server frames read by a
    header parser, masked client frames (as bench/live_fanout.py's ``_Viewer``).

    A client library per socket (a reader task, per-frame parsing in pure Python) cost the generator a full core
    at 2,000 sockets, so the benchmark measured its own client. Here the arrival time is taken in
    ``data_received`` before any parsing; a frame costs a header parse and a ``bytes.find``, and only a frame
    holding a ``result.released`` event is decoded (for its entry id). Protocol pings are answered with a pong,
    a close frame with a close; any close or loss before the end of the day is an error."""

    __slots__ = ("close_sent", "closed", "done", "have", "need", "on_frame", "open", "owner", "parts", "request",
                 "seen", "transport", "venue")

    def __init__(self, owner: Viewers, host: str, path: str, token: str | None, venue: int | None) -> None:
        self.owner = owner
        self.venue = venue
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n{auth}\r\n").encode()
        self.transport: asyncio.Transport | None = None
        self.parts: list[bytes] = []
        """Bytes received but not parsed yet (the tail of a frame, or a handshake in pieces)."""
        self.have = 0
        self.need = 0
        """Bytes ``parts`` must hold before parsing is worth it (the length of the frame in progress; 0: unknown)."""
        self.open = False
        self.closed = False
        """A close frame arrived (or the socket was lost)."""
        self.close_sent = False
        self.seen: set[int] = set()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_frame: Callable[[bytes], None] | None = None
        """A console's hook: called with every data frame's payload (feed.js hands every message to the page)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(client_frame(opcode, payload))

    def _fail(self, what: str) -> None:
        owner = self.owner
        if not owner.stopping:
            owner.day.error(what)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self.parts:
            self.parts.append(data)
            self.have += len(data)
            if self.have < self.need:
                return  # a large frame still arriving: join once, when it is complete
            buf = b"".join(self.parts)
            self.parts, self.have, self.need = [], 0, 0
        else:
            buf = data
        owner = self.owner
        pos = 0
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.parts, self.have = [buf], len(buf)
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                owner.failed += 1
                self.closed = True
                status = buf[:buf.find(b"\r\n")].decode(errors="replace")
                self._fail(f"viewer handshake: {status}")
                return
            self.open = True
            owner.ready += 1
            owner.opened.append(self)
            pos = end + 4
        size = len(buf)
        while size - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            start, end = pos + head, pos + head + length
            if end > size:
                self.need = end - pos
                break
            opcode = buf[pos] & 0x0F
            pos = end
            if opcode in (0x1, 0x2):
                if buf.find(RELEASED, start, end) >= 0:
                    self._released(buf[start:end], now)
                if self.on_frame is not None:
                    self.on_frame(buf[start:end])
            elif opcode == 0x9:
                self.owner.pongs += 1
                self.send(0xA, buf[start:end])
            elif opcode == 0x8:
                self._closed(buf[start:end])
                return
        if pos < size:
            rest = buf[pos:]
            self.parts, self.have = [rest], len(rest)
            if self.need <= self.have:
                self.need = 0

    def _released(self, payload: bytes, now: float) -> None:
        # Every viewer of a feed gets the same bytes: decode them once (a quarter of the generator's parsing on a
        # national day was decoding the same release thousands of times).
        decoded = self.owner.released_ids
        entry = decoded.get(payload, -1)
        if entry == -1:
            try:
                msg = _decode(payload)
            except msgspec.DecodeError:
                self.owner.day.error(f"viewer: undecodable frame {payload[:80]!r}")
                return
            ok = msg.type == "event" and msg.data is not None and msg.data.kind == "result.released"
            entry = decoded[payload] = msg.data.entry_id if ok else None  # type: ignore[union-attr]
        if entry is None or entry in self.seen:
            return
        owner = self.owner
        if owner.arrivals is not None:  # the board's own process: the release times are the parent's
            self.seen.add(entry)
            owner.arrivals.setdefault(entry, []).append(now)
            owner.receipts += 1
            return
        t0 = owner.day.release_t0.get(entry)
        if t0 is not None:
            self.seen.add(entry)
            owner.day.screen_latency.append(now - t0)

    def _closed(self, payload: bytes) -> None:
        self.closed = True
        if not self.owner.stopping:
            self.owner.closed += 1
        if not self.close_sent:
            self.close_sent = True
            self.send(0x8, payload[:2])
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        self._fail(f"viewer: the server closed the feed ({code} {payload[2:].decode(errors='replace')})")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            if not self.open:
                self.owner.failed += 1
            self._fail(f"viewer: connection lost {'' if self.open else 'before the handshake '}"
                       f"({type(exc).__name__ if exc else 'EOF'})")
        if not self.done.done():
            self.done.set_result(None)

    def stop(self) -> None:
        if self.open and not self.closed and not self.close_sent:
            self.close_sent = True
            self.send(0x8, (1000).to_bytes(2, "big"))
        elif self.transport is not None and not self.open:
            self.transport.close()


class Viewers:
    """Every live-feed socket of the day (screens, the public, the tablets' venue feeds) in this one process."""

    def __init__(self, day: Day) -> None:
        self.day = day
        self.conns: list[_Feed] = []
        self.opened: list[_Feed] = []
        """Sockets whose handshake succeeded, in order."""
        self.ready = 0
        self.failed = 0
        self.closed = 0
        """Close frames from the server before the end of the day."""
        self.pongs = 0
        """Protocol pings from the server answered."""
        self.released_ids: dict[bytes, int | None] = {}
        """A frame payload holding ``RELEASED`` -> its ``result.released`` entry id (None: another event)."""
        self.stopping = False
        self._hb: asyncio.Task[None] | None = None
        self.by_token: dict[str, _Feed] = {}
        """The socket opened with each login token (a tablet's own venue feed carries its heartbeat)."""
        self.by_tag: dict[str, _Feed] = {}
        """Sockets opened with a tag (a console's feed: its login token may also hold a tablet's feed)."""
        self.arrivals: dict[int, list[float]] | None = None
        """In the board process: entry id -> when each socket received its ``result.released`` (monotonic clock,
        the same on both sides), turned into latencies by the parent, which knows when each release started."""
        self.receipts = 0

    async def _connect(self, url: str, token: str | None, venue: int | None, tag: str | None = None) -> None:
        u = urlsplit(url)
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(loop.create_connection(
                lambda: _Feed(self, u.netloc, u.path + (f"?{u.query}" if u.query else ""), token, venue),
                u.hostname, u.port), 60)
            self.conns.append(proto)
            if tag is not None:
                self.by_tag[tag] = proto
            elif token is not None:
                self.by_token[token] = proto
        except (OSError, TimeoutError) as exc:
            self.failed += 1
            self.day.error(f"viewer: connect failed: {type(exc).__name__}: {exc}")

    async def _heartbeats(self) -> None:
        """The feed's client ping on every open socket, spread evenly over FEED_PING_S (as the pages do)."""
        while not self.stopping:
            conns = list(self.opened)
            for i, conn in enumerate(conns):
                if self.stopping:
                    return
                if not conn.closed:
                    conn.send(0x1, PING)
                if i % 100 == 99:
                    await asyncio.sleep(FEED_PING_S * 100 / max(len(conns), 100))
            await asyncio.sleep(FEED_PING_S * (len(conns) % 100 or 100) / max(len(conns), 100))

    async def start(self, feeds: list[tuple[Any, ...]]) -> None:
        """Open ``feeds`` (url, bearer token or None, venue id or None for the board[, tag]) in waves of WAVE."""
        self._hb = asyncio.create_task(self._heartbeats())
        for i in range(0, len(feeds), WAVE):
            wave = feeds[i:i + WAVE]
            await asyncio.gather(*(self._connect(*f) for f in wave))
            target = min(len(feeds), i + WAVE)
            deadline = time.monotonic() + 120
            while self.ready + self.failed < target and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if self.ready + self.failed < target:
                for conn in self.conns:
                    if not conn.open and not conn.closed and not conn.done.done():
                        self.failed += 1
                        self.day.error("viewer: no handshake answer in 120 s")
                        conn.closed = True
                        if conn.transport is not None:
                            conn.transport.close()

    async def stop(self) -> None:
        """Close every socket cleanly (close frame, wait for the server's close), then drop what is left."""
        self.stopping = True
        for conn in self.conns:
            conn.stop()
        pending = [c.done for c in self.conns if not c.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=5)
        for conn in self.conns:
            if conn.transport is not None and not conn.done.done():
                conn.transport.abort()
        if self._hb is not None:
            self._hb.cancel()
            await asyncio.gather(self._hb, return_exceptions=True)


class BoardProcess:
    """The public board's viewers (most of the day's sockets) in a process of their own, on its own event loop.

    Every release reaches thousands of board sockets within a few milliseconds; reading them is a burst of
    work (~15 us a frame) that, in one process with the tablets and hosts, delayed their timers and responses too
    (the generator's loop lag p99 was 80-100 ms on a national day at tempo 1, included in every submit latency it
    measured). Here the burst is this process's alone; the kernel schedules both. Arrival times are taken on the
    same monotonic clock and turned into release->screen latencies by the parent at the end. Off by default
    (``--board-process``): on the provincial day, where the generator is pinned to one core, the two processes
    shared it and the tablets' submit p99 came out worse, not better (bench/README.md, seventh stop)."""

    def __init__(self, loop: str) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=board_process_main, args=(child, loop), name="podium-bench-board", daemon=True)
        self.proc.start()
        child.close()

    async def call(self, *msg: Any) -> Any:
        self.conn.send(msg)
        answer = await asyncio.to_thread(self.conn.recv)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        await asyncio.to_thread(self.proc.join, 10)
        if self.proc.is_alive():
            self.proc.kill()


def board_process_main(conn: Any, loop: str) -> None:
    """The board process: ``start`` (connect the feeds; answers how many opened), ``mark`` (the day starts: CPU and
    loop lag from now), ``count`` (receipts so far), ``stop`` (answers the arrivals and counts, closes every socket
    and ends)."""

    async def serve() -> None:
        day = Day()
        viewers = Viewers(day)
        viewers.arrivals = {}
        lags: list[float] = []
        stop = asyncio.Event()
        lag_task: asyncio.Task[None] | None = None
        cpu0 = time.process_time()
        while True:
            op, *args = await asyncio.to_thread(conn.recv)
            if op == "start":
                await viewers.start(args[0])
                conn.send(len(viewers.opened))
            elif op == "mark":
                cpu0 = time.process_time()
                lag_task = asyncio.create_task(loop_lag(lags, stop))
                conn.send(None)
            elif op == "count":
                conn.send(viewers.receipts)
            elif op == "stop":
                cpu = time.process_time() - cpu0
                stop.set()
                if lag_task is not None:
                    await lag_task
                await viewers.stop()
                conn.send({"arrivals": viewers.arrivals, "errors": day.errors, "closed": viewers.closed,
                           "pongs": viewers.pongs, "failed": viewers.failed, "cpu_s": cpu, "loop_lag": pct(lags)})
                return

    try:
        if loop == "uvloop":
            import uvloop

            uvloop.run(serve())
        else:
            asyncio.run(serve())
    except Exception as exc:  # the parent re-raises it
        with contextlib.suppress(Exception):
            conn.send(RuntimeError(f"board process: {type(exc).__name__}: {exc}"))


class Dropped(Exception):
    """The server closed the keep-alive connection under a request (it was not processed)."""


class BareResponse:
    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class BareHTTP:
    """A minimal HTTP/1.1 client for the tablets and hosts (bearer token, JSON bodies, Content-Length or chunked
    responses) on asyncio streams, with a pool of keep-alive connections (a tablet's heartbeat may overlap its
    submission). httpx cost a third of the generator's CPU on a national day (py-spy), CPU the server then did not
    get on a 2-core machine; the request pattern is kept: a connection idle for ``IDLE_S`` is replaced before
    uvicorn's 5 s keep-alive timeout closes it (as httpx's ``keepalive_expiry`` was set)."""

    IDLE_S = 4.0

    def __init__(self, base: str, token: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = TLS if parts.scheme == "https" else None
        self.head = f"Host: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
        self.timeout = timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def request(self, method: str, url: str, *, json: Any = None) -> BareResponse:
        body = b"" if json is None else msgspec.json.encode(json)
        kind = "Content-Type: application/json\r\n" if json is not None else ""
        data = f"{method} {url} HTTP/1.1\r\n{self.head}{kind}Content-Length: {len(body)}\r\n\r\n".encode() + body
        now = time.monotonic()
        while self.idle and now - self.idle[-1][2] > self.IDLE_S:
            self.idle.pop()[1].close()
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.tls)
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(data)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    raise Dropped() from exc
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                pairs = (line.partition(":") for line in lines[1:] if line)
                headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                        chunks.append(await reader.readexactly(size + 2))
                    await reader.readuntil(b"\r\n")
                    content = b"".join(c[:-2] for c in chunks)
                else:
                    content = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return BareResponse(status, content)

    async def post(self, url: str, json: Any) -> BareResponse:
        return await self.request("POST", url, json=json)

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for _reader, writer, _at in idle:
            writer.close()


DROPPED = (Dropped, ConnectionError, asyncio.IncompleteReadError)
"""A request that never reached the server's handler: sent again once, as a browser would."""
FAILED = (OSError, TimeoutError, ValueError)
"""Anything else that kept a request from an answer (refused, timed out, a malformed response)."""


async def send(day: Day, http: BareHTTP, method: str, url: str, expect: tuple[int, ...],
               **kw: Any) -> BareResponse | None:
    """One request of a tablet or host; a dropped keep-alive connection is retried (as browsers do; submissions
    are idempotent by their client id), a timeout is retried like the tablet's outbox does and counted."""
    r = None
    for attempt in range(3):
        day.http_requests += 1
        try:
            r = await http.request(method, url, **kw)
            break
        except DROPPED as exc:
            day.retried += 1
            if attempt == 2:
                day.error(f"{method} {url}: {type(exc).__name__}")
                return None
        except FAILED as exc:
            day.error(f"{method} {url}: {type(exc).__name__}")
            if attempt == 2:
                return None
    assert r is not None
    if r.status_code not in expect:
        day.error(f"{method} {url}: {r.status_code} {r.text[:160]}")
        return None
    return r


class Tablet:
    def __init__(self, day: Day, base: str, token: str, person_id: int, rng: random.Random) -> None:
        self.day = day
        self.http = BareHTTP(base, token)
        self.person_id = person_id
        self.rng = rng
        self.device = f"bench-{rng.getrandbits(48):012x}"
        self.rubrics: dict[int, dict[str, Any]] = {}
        self.token = token
        self.feed: _Feed | None = None
        """This tablet's venue feed (set once the viewers are connected)."""

    async def call(self, method: str, url: str, expect: tuple[int, ...], **kw: Any) -> BareResponse | None:
        return await send(self.day, self.http, method, url, expect, **kw)

    async def poll(self) -> None:
        r = await self.call("GET", "/api/judge/state", (200,))
        if r is not None:
            state = r.json()
            rubrics = {x["id"]: x for x in state["rubrics"]}
            for e in state["entries"]:
                if e["stage"] == "onsite" and e["rubric_id"] in rubrics:
                    self.rubrics[e["id"]] = rubrics[e["rubric_id"]]

    async def background(self, stop: asyncio.Event) -> None:
        """Heartbeats and state polls on the tablet page's timers (random phase). As tablet.js, the heartbeat is a
        ``beat`` message on the tablet's venue feed while that socket is open, else a request."""
        next_poll = time.monotonic() + self.rng.random() * POLL_S
        next_beat = time.monotonic() + self.rng.random() * HEARTBEAT_S
        beat = {"device_id": self.device, "app_version": "bench", "queued": 0}
        beat_frame = json.dumps({"type": "beat", **beat}).encode()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S
                feed = self.feed
                if feed is not None and feed.open and not feed.closed:
                    feed.send(0x1, beat_frame)
                    self.day.beats_on_feed += 1
                    self.day.beating.add(self.device)
                elif await self.call("POST", "/api/judge/heartbeat", (200,), json=beat) is not None:
                    self.day.beating.add(self.device)
            if now >= next_poll:
                next_poll = now + POLL_S
                await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.05, min(next_poll, next_beat) - time.monotonic()))

    def values(self, entry: int) -> dict[str, str]:
        out = {}
        for item in self.rubrics[entry]["items"]:
            steps = int(float(item["max"]) / float(item["step"]))
            out[item["key"]] = f"{self.rng.randint(steps * 6 // 10, steps) * float(item['step']):g}"
        return out

    async def post_sheet(self, body: dict[str, Any], expect: int) -> dict[str, Any] | None:
        t0 = time.monotonic()
        r = await self.call("POST", "/api/judge/sheets", (expect,), json=body)
        self.day.submit_latency.append(time.monotonic() - t0)
        if r is None:
            return None
        receipt = r.json()
        # the receipt is applied to the tablet's state: its own sheet.submitted event (same version) polls nothing
        self.day.acked[body["client_submission_id"]] = (receipt["sheet_id"], receipt["version"])
        return dict(receipt)

    async def score(self, entry: int, delay: float) -> None:
        """Score one entry: submit, maybe replay (lost acknowledgement), maybe correct."""
        await asyncio.sleep(delay)
        if entry not in self.rubrics:  # not expected: the first state lists every panel entry with its rubric
            self.day.state_refetches += 1
            await self.poll()
        if entry not in self.rubrics:
            self.day.error(f"entry {entry} not on the tablet of person {self.person_id}")
            return
        body = {"client_submission_id": uuid.UUID(int=self.rng.getrandbits(128)).hex, "entry_id": entry,
                "stage": "onsite", "values": self.values(entry), "base_version": 0, "device_id": self.device}
        receipt = await self.post_sheet(body, 201)
        if receipt is None:
            return
        if self.rng.random() < REPLAY_SHARE:
            self.day.replays += 1
            again = await self.post_sheet(body, 200)
            if again is not None and (again["version"], again["server_time"]) != (receipt["version"],
                                                                                  receipt["server_time"]):
                self.day.error("a replay answered another receipt")
        if self.rng.random() < EDIT_SHARE:
            self.day.edits += 1
            await asyncio.sleep(self.rng.random() * 0.5)
            edit = {**body, "client_submission_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
                    "values": self.values(entry), "base_version": receipt["version"]}
            await self.post_sheet(edit, 201)


class Console:
    """A venue control page (judging/static/js/control.js) as the host or the chief judge has it open: its own
    venue feed, and ``GET /api/venue/<id>/control`` re-read as feed.js ``liveRefresh`` does it — a message on the
    feed that the page does not apply itself starts a 250 ms timer, the messages until it fires share one read,
    at most one read is in flight (a message meanwhile schedules exactly one more), and every 60 s regardless.
    Which messages the page applies itself is decided by ``applies``, the same rule as control.js ``applyLocally``."""

    def __init__(self, day: Day, base: str, token: str, venue_id: int) -> None:
        self.day = day
        self.http = BareHTTP(base, token)
        self.url = f"/api/venue/{venue_id}/control"
        self.timer: asyncio.TimerHandle | None = None
        self.inflight = False
        self.again = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopped = False
        self.cause = ""
        self.seq = 0
        """``ControlState.seq`` of the state shown (0 for ``--console-rereads-all``: control.js had none)."""
        self.rereads_all = False
        self.focused = False
        """The state shown has a focus entry, so its panel: control.js moves the focus itself only then."""

    def frame(self, payload: bytes) -> None:
        """A data frame on the console's feed (its pings and pongs aside): schedule a re-read unless the state
        shown already reflects the event (its seq is at or below the last read's) or the page applies it."""
        head = payload[:24]
        if not head.startswith((b'{"type":"event"', b'{"type":"snapshot"', b'{"type":"synced"')):
            return
        if head.startswith(b'{"type":"event"'):
            if (self.seq and event_seq(payload) <= self.seq) or payload.find(TIMER) >= 0:
                self.day.console_seen += 1  # shown already, or the timer (the page's countdown has it)
                return
            if applies(payload) and (self.focused or payload.find(VENUE_CURRENT) < 0):
                self.day.console_applied += 1
                self.day.console_presence += payload.find(PRESENCE) >= 0
                if self.inflight:  # that read may have been answered before the sheet committed
                    self.again = True
                return
            start = payload.find(b'"kind":"') + 8
            self.schedule(CONSOLE_DEBOUNCE_S, payload[start:payload.find(b'"', start)].decode() if start >= 8
                          else "event")
        else:
            self.schedule(CONSOLE_DEBOUNCE_S, "feed (re)connected")

    def shown(self, r: BareResponse | None) -> None:
        """A control state the page shows (a read's or an action's answer): its seq, unless older than shown."""
        if r is not None:
            shown = _decode_shown(r.content)
            if shown.seq >= self.seq:
                self.seq = shown.seq
                self.focused = shown.focus_entry_id is not None

    def frame_all(self, payload: bytes) -> None:
        """As ``frame``, for control.js before it applied sheets itself (``--console-rereads-all``)."""
        head = payload[:24]
        if head.startswith((b'{"type":"event"', b'{"type":"snapshot"', b'{"type":"synced"')):
            self.schedule(CONSOLE_DEBOUNCE_S, "any message")

    def schedule(self, delay: float, cause: str) -> None:
        if self.timer is None and not self.stopped:
            self.cause = cause
            self.timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self.timer = None
        if self.inflight:
            self.again = True
            return
        self.day.control_causes[self.cause] += 1
        task = asyncio.ensure_future(self.read())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def read(self) -> None:
        self.inflight = True
        t0 = time.monotonic()
        try:
            r = await send(self.day, self.http, "GET", self.url, (200,))
            if r is not None:
                self.day.control_latency.append(time.monotonic() - t0)
                if not self.rereads_all:
                    self.shown(r)
        finally:
            self.inflight = False
        if self.again:
            self.again = False
            self.schedule(CONSOLE_DEBOUNCE_S, "message during a read")

    async def read_entry(self, entry: int) -> None:
        """The chief judge's read of one entry's panel before confirming its release (control.js)."""
        self.day.control_causes["before a release"] += 1
        t0 = time.monotonic()
        r = await send(self.day, self.http, "GET", f"{self.url}?entry_id={entry}", (200,))
        if r is not None:
            self.day.control_latency.append(time.monotonic() - t0)
            self.shown(r)

    async def fallback(self, stop: asyncio.Event) -> None:
        every = OLD_CONSOLE_FALLBACK_S if self.rereads_all else CONSOLE_FALLBACK_S
        await asyncio.sleep(random.random() * every)
        while not stop.is_set():
            self.schedule(0, f"every {every:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def aclose(self) -> None:
        self.stopped = True
        if self.timer is not None:
            self.timer.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()


SHEET_SUBMITTED = b'"kind":"sheet.submitted"'
TIMER = b'"kind":"timer"'
PRESENCE = b'"kind":"presence"'
VENUE_CURRENT = b'"kind":"venue.current"'


class _Shown(msgspec.Struct):
    """What a console keeps of a control state it shows."""

    seq: int = 0
    focus_entry_id: int | None = None


_decode_shown = msgspec.json.Decoder(_Shown).decode


def event_seq(payload: bytes) -> int:
    """An event frame's seq (``{"type":"event","seq":N,...``: msgspec writes the fields in order)."""
    start = payload.find(b'"seq":') + 6
    end = payload.find(b",", start)
    return int(payload[start:end]) if start >= 6 and end > start else 0


def applies(payload: bytes) -> bool:
    """Whether control.js applies this event to its state without re-reading (``applyLocally``): an on-site sheet
    (``sheet.submitted``: a first one adds a submitter, a correction changes no count), the status changes after
    the stage (``entry.status`` to scoring, unofficial or released; on this day each comes from the status before
    it that control.js requires), a released result (``result.released``: its score, the ranks worked out again
    in the page), a tablet's presence (its judge's line, or nothing when the judge is not on the panel shown), an
    entry put on stage (``entry.status`` presenting, then ``venue.current``: the focus moves to it with a panel built
    from the state's recusals; control.js reads instead when the entry already has sheets, which this day never
    has, or when no panel is shown yet: ``Console.frame`` checks that)."""
    if payload.find(PRESENCE) >= 0 or payload.find(VENUE_CURRENT) >= 0:
        return True
    if payload.find(SHEET_SUBMITTED) < 0 and payload.find(RELEASED) < 0 and payload.find(b'"kind":"entry.status"') < 0:
        return False
    try:
        msg = _decode(payload)
    except msgspec.DecodeError:
        return False
    data = msg.data
    if data is None:
        return False
    return (data.kind == "sheet.submitted" and data.stage == "onsite") or data.kind == "result.released" or \
        (data.kind == "entry.status" and data.status in ("presenting", "scoring", "unofficial", "released"))


async def venue_day(day: Day, base: str, venue: Any, host_token: str, tablets: list[Tablet], entries: list[int],
                    prof: dict[str, Any], rng: random.Random, host_console: Console | None = None,
                    chief_console: Console | None = None) -> None:
    """One venue's schedule. With consoles (control.js), an action answered with the console's state (stage,
    end) shows it; the timer's and the release's own feed events update the page."""
    host = BareHTTP(base, host_token)
    chief = tablets[0]

    async def call(client: BareHTTP, url: str, body: dict[str, Any], console: Console | None = None,
                   answers_state: bool = False) -> bool:
        r = await send(day, client, "POST", url, (200,), json=body)
        if console is not None and r is not None:
            if answers_state:
                if not console.rereads_all:
                    console.shown(r)
            elif console.rereads_all:  # control.js before the ninth stop re-read after any other action
                console.schedule(0, "after an action")
        return r is not None

    try:
        await asyncio.sleep(rng.random() * prof["stagger_s"])
        v = venue.venue_id
        for entry in entries:
            # venue.current, entry.status and result.released on the feed are applied by the tablets locally
            await call(host, f"/api/venue/{v}/stage", {"entry_id": entry}, host_console, True)
            await call(host, f"/api/venue/{v}/timer", {"action": "start"}, host_console)  # its event updates the page
            await asyncio.sleep(prof["presentation_s"] * (0.8 + 0.4 * rng.random()))
            await call(host, f"/api/venue/{v}/entries/{entry}/end", {}, host_console, True)
            await asyncio.gather(*(t.score(entry, rng.random() * prof["scoring_s"]) for t in tablets))
            await asyncio.sleep(0.2)
            if chief_console is not None and not chief_console.rereads_all:
                # control.js reads the entry's panel before the release is confirmed
                await chief_console.read_entry(entry)
            day.release_t0[entry] = time.monotonic()
            day.released_venues.append(v)
            # the release's events update the console
            if await call(chief.http, f"/api/venue/{v}/entries/{entry}/release", {}, chief_console):
                day.releases += 1
                day.release_latency.append(time.monotonic() - day.release_t0[entry])
    finally:
        await host.aclose()


async def login(base: str, link: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=120, verify=TLS) as http:
        for attempt in range(5):
            try:
                r = await http.get(f"/j/{link}", follow_redirects=False)
                token = r.cookies.get("podium_session")
                if token:
                    return str(token)
            except httpx.HTTPError:
                if attempt == 4:
                    raise
            await asyncio.sleep(0.5)
    raise RuntimeError("login link did not open a session")


async def bounded(n: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def run_day(base: str, ws_base: str, plan: ContestPlan, prof: dict[str, Any], seed: int,
                  log: Any, server_pid: int | None = None) -> tuple[Day, dict[str, Any]]:
    rng = random.Random(seed)
    day = Day()
    venues = plan.venues
    log(f"  logging in {sum(len(v.judges) + 2 for v in venues)} devices through their login links")
    judge_tokens = await bounded(32, [login(base, j.link) for v in venues for j in v.judges])
    host_tokens = await bounded(32, [login(base, v.host.link) for v in venues])
    display_tokens = await bounded(32, [login(base, v.display.link) for v in venues])
    tablets: list[list[Tablet]] = []
    it = iter(judge_tokens)
    for v in venues:
        tablets.append([Tablet(day, base, next(it), j.person_id or 0, random.Random(rng.random())) for j in v.judges])

    # Viewers: a screen per venue plus the public on the board, connected in waves before the day starts.
    stop = asyncio.Event()
    feeds: list[tuple[str, str | None, int | None]] = []
    for v, tok in zip(venues, display_tokens, strict=True):
        feeds.append((f"{ws_base}/ws/venue/{v.venue_id}", tok, v.venue_id))
    # Every tablet holds its venue's feed too (to follow the stage); they count among the viewers.
    for v, group in zip(venues, tablets, strict=True):
        for t in group:
            feeds.append((f"{ws_base}/ws/venue/{v.venue_id}", t.token, v.venue_id))
    # A host's and a chief judge's venue console per venue (control.js), each on a console feed of its own (the
    # venue feed before the tenth stop).
    consoles: list[tuple[str, Console]] = []
    if prof["consoles"]:
        console_path = "" if prof["console_rereads_all"] else "/console"
        for n, v in enumerate(venues):
            for role, token in (("host", host_tokens[n]), ("chief", tablets[n][0].token)):
                tag = f"{role}:{v.venue_id}"
                consoles.append((tag, Console(day, base, token, v.venue_id)))
                feeds.append((f"{ws_base}/ws/venue/{v.venue_id}{console_path}", token, v.venue_id, tag))
    for _ in range(max(0, prof["viewers"] - len(venues))):
        feeds.append((f"{ws_base}/ws/board/{plan.contest_id}", None, None))
    t_conn = time.monotonic()
    viewers = Viewers(day)
    board = BoardProcess(prof["loop"]) if prof.get("board_process") else None
    board_feeds = [f for f in feeds if f[2] is None] if board is not None else []
    await viewers.start([f for f in feeds if f[2] is not None] if board is not None else feeds)
    board_opened = await board.call("start", board_feeds) if board is not None else 0
    connected = viewers.ready + board_opened
    log(f"  {connected}/{len(feeds)} viewers connected in {time.monotonic() - t_conn:.1f} s"
        + (f" ({board_opened} on the board in a process of their own)" if board is not None else ""))

    for group in tablets:  # the feed is open: each tablet reads its state (as the page does on (re)connect)
        for t in group:
            t.feed = viewers.by_token.get(t.token)
            await t.poll()
    bg = [asyncio.create_task(t.background(stop)) for group in tablets for t in group]
    for tag, console in consoles:  # the page reads its state on load, then follows its feed
        feed = viewers.by_tag.get(tag)
        console.rereads_all = prof["console_rereads_all"]
        if feed is not None:
            feed.on_frame = console.frame if not console.rereads_all else console.frame_all
        console.schedule(random.random() * 0.5, "page load")
        bg.append(asyncio.create_task(console.fallback(stop)))
    await asyncio.sleep(0.5)
    day.http_requests = 0
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags, stop))
    if board is not None:
        await board.call("mark")
    t_day = time.monotonic()
    busy = MachineBusy()
    busy.start()
    cpu0, server0 = time.process_time(), tree_cpu_s(server_pid)
    by_tag = dict(consoles)
    await asyncio.gather(*(venue_day(day, base, v, host_tokens[n], tablets[n], v.entries, prof,
                                     random.Random(rng.random()), by_tag.get(f"host:{v.venue_id}"),
                                     by_tag.get(f"chief:{v.venue_id}"))
                           for n, v in enumerate(venues)))
    # Wait (bounded) for the last releases to reach every viewer.
    on_board = board_opened + sum(1 for c in viewers.opened if c.venue is None)
    per_venue = Counter(c.venue for c in viewers.opened if c.venue is not None)
    expected = sum(on_board + per_venue[venue] for venue in day.released_venues)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and \
            len(day.screen_latency) + (await board.call("count") if board is not None else 0) < expected:
        await asyncio.sleep(0.05)
    day_s = time.monotonic() - t_day
    generator_cpu = time.process_time() - cpu0
    server1 = tree_cpu_s(server_pid)
    machine_busy = busy.stop()
    day.expected_receipts = expected
    stop.set()
    await lag_task
    far: dict[str, Any] = {"closed": 0, "pongs": 0, "cpu_s": 0.0}
    if board is not None:
        far = await board.call("stop")
        await board.close()
        for entry, times in far["arrivals"].items():
            t0 = day.release_t0.get(entry)
            if t0 is not None:
                day.screen_latency.extend(t - t0 for t in times)
        for err in far["errors"]:
            day.error(err)
        generator_cpu += far["cpu_s"]
    await viewers.stop()
    await asyncio.gather(*bg, return_exceptions=True)
    for _, console in consoles:
        await console.aclose()
    for group in tablets:
        for t in group:
            await t.http.aclose()
    meta: dict[str, Any] = {"day_s": round(day_s, 1), "viewers_connected": connected,
                            "viewers_closed_by_server": viewers.closed + far["closed"],
                            "viewer_pongs": viewers.pongs + far["pongs"],
                            "generator_cpu_s": round(generator_cpu, 2),
                            "generator_cpu_share": round(generator_cpu / day_s, 3) if day_s else float("nan"),
                            "generator_loop_lag": pct(lags), "machine_busy": machine_busy}
    if board is not None:
        meta["board_loop_lag"] = far["loop_lag"]
    if server0 is not None and server1 is not None:
        meta["server_cpu_s"] = round(server1 - server0, 2)
        meta["server_cpu_share"] = round((server1 - server0) / day_s, 3) if day_s else float("nan")
    return day, meta


LAG_TICK_S = 0.01
BUSY_TICK_S = 0.25
SATURATED = 0.95


class MachineBusy:
    """How busy the whole machine is during the day: every ``BUSY_TICK_S`` the share of all cores' time that was not
    idle since the last tick (``/proc/stat``; the server, PostgreSQL, Redis, this generator and anything else
    running; time a virtual machine's host took for others, *steal*, counts as busy: the cores were not ours), read
    by a thread so that the generator's own backlog does not skew it. ``saturated_share``: the share of ticks with at
    least ``SATURATED`` of the cores busy, when requests queue for a core whatever the server does. A tick spans 25
    clock ticks per core (USER_HZ 100), fine enough for a 95 % threshold. Nothing without ``/proc/stat``."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="machine-busy", daemon=True)

    @staticmethod
    def _times() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                # user nice system idle iowait irq softirq steal (guest time is already in user)
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    def _run(self) -> None:
        last = self._times()
        while last is not None and not self._stop.wait(BUSY_TICK_S):
            now = self._times()
            if now is None:
                return
            total = now[0] - last[0]
            if total > 0:
                self.samples.append(1.0 - (now[1] - last[1]) / total)
            last = now

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float] | None:
        self._stop.set()
        self._thread.join()
        if not self.samples:
            return None
        n = len(self.samples)
        return {"mean": round(sum(self.samples) / n, 3),
                "saturated_share": round(sum(1 for x in self.samples if x >= SATURATED) / n, 3), "n": n}


async def loop_lag(out: list[float], stop: asyncio.Event) -> None:
    """How late this generator's event loop wakes a 10 ms timer, all day: every latency it measures includes up
    to this much of its own backlog (a saturated generator inflates the server's figures)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(LAG_TICK_S)
        out.append(max(0.0, loop.time() - t0 - LAG_TICK_S))


def tree_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a process and its descendants (the server and its workers), from /proc;
    None where /proc is not readable (not Linux)."""
    if pid is None:
        return None
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # fields from the 3rd (state); comm may hold spaces
        child, parent = int(stat.parent.name), int(fields[1])
        children.setdefault(parent, []).append(child)
        ticks[child] = int(fields[11]) + int(fields[12])  # utime, stime
    if pid not in ticks:
        return None
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += ticks.get(p, 0)
        todo += children.get(p, [])
    return total / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------ reconciliation
def reconcile(settings: Any, day: Day, contest_id: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from judging.db.models import Entry, Presence, ScoreSheet, SheetVersion
    from tests.conftest import run_db

    async def read(session: Any) -> tuple[list[Any], int, set[str]]:
        rows = (await session.execute(
            select(SheetVersion.client_submission_id, SheetVersion.sheet_id, SheetVersion.version)
            .join(ScoreSheet, ScoreSheet.id == SheetVersion.sheet_id).join(Entry, Entry.id == ScoreSheet.entry_id)
            .where(Entry.contest_id == contest_id, SheetVersion.source == "tablet"))).all()
        dup_versions = (await session.execute(
            select(func.count()).select_from(
                select(SheetVersion.sheet_id, SheetVersion.version).group_by(SheetVersion.sheet_id,
                                                                             SheetVersion.version)
                .having(func.count() > 1).subquery()))).scalar()
        present = set((await session.execute(select(Presence.device_id))).scalars())
        return list(rows), int(dup_versions or 0), present

    rows, dup_versions, present = run_db(settings, read)
    stored = {r.client_submission_id: (r.sheet_id, r.version) for r in rows}
    acked = day.acked
    return {
        "acknowledged": len(acked), "stored": len(rows),
        "lost": len(set(acked) - set(stored)), "unacknowledged_stored": len(set(stored) - set(acked)),
        "mismatched": sum(1 for k, v in acked.items() if k in stored and stored[k] != v),
        "duplicates": (len(rows) - len(stored)) + dup_versions,
        "presence_missing": len(day.beating - present),
    }


# ------------------------------------------------------------------------------------------ ceilings
async def bare_litestar(concurrency: int, seconds: float, body: dict[str, Any]) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(pin([sys.executable, "-c", BARE_LITESTAR, str(port)], 0), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                async with httpx.AsyncClient(verify=TLS) as c:
                    await c.post(base + "/echo", json=body)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        lat: list[float] = []
        errors = 0
        clients = [BareHTTP(base, "-") for _ in range(concurrency)]  # the day's client: ratios compare like
        end = time.monotonic() + seconds

        async def loop(c: BareHTTP) -> None:
            nonlocal errors
            while time.monotonic() < end:
                t0 = time.monotonic()
                try:
                    r = await c.post("/echo", json=body)
                    if r.status_code != 201:
                        errors += 1
                except (*DROPPED, *FAILED):
                    errors += 1
                lat.append(time.monotonic() - t0)

        t0 = time.monotonic()
        await asyncio.gather(*(loop(c) for c in clients))
        elapsed = time.monotonic() - t0
        for c in clients:
            await c.aclose()
        return {**pct(lat), "requests_per_s": round(len(lat) / elapsed, 1), "concurrency": concurrency,
                "errors": errors}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# ------------------------------------------------------------------------------------------ set-up
def scratch_database(url: str, prefix: str) -> tuple[str, str]:
    """(URL of a fresh database next to ``url``'s, its name): the same server, user and options (e.g. a Unix socket
    given as ``?host=/var/run/postgresql``), another database name."""
    from sqlalchemy.engine import make_url

    name = prefix + uuid.uuid4().hex[:10]
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def start_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "judging", "serve"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    else:
        cmd = pin(cmd, 0)
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log_path.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited:\n" + log_path.read_text()[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start:\n" + log_path.read_text()[-3000:])


def day_profile(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The profile's name and its settings after the command line's overrides; ``--tempo`` stretches the venues'
    schedule (presentations, scoring windows, start times), not the devices' heartbeat, poll and ping intervals."""
    name = "quick" if args.quick else args.profile
    prof = dict(PROFILES[name])
    for key in ("venues", "judges", "viewers", "entries", "backend", "workers"):
        if getattr(args, key) is not None:
            prof[key] = getattr(args, key)
    prof["tempo"] = args.tempo if args.tempo is not None else prof.get("tempo", 1.0)
    for key in ("presentation_s", "scoring_s", "stagger_s"):
        prof[key] *= prof["tempo"]
    prof["compression"] = round(REAL_CYCLE_S / (prof["presentation_s"] + prof["scoring_s"]))
    if args.board_process is not None:
        prof["board_process"] = args.board_process
    prof["loop"] = args.loop
    prof["consoles"] = args.consoles
    prof["console_rereads_all"] = args.console_rereads_all
    return name, prof


async def main(args: argparse.Namespace) -> dict[str, Any]:
    name, prof = day_profile(args)
    log = (lambda *_: None) if args.json else (lambda msg: print(msg, flush=True))
    if prof["workers"] == 1 and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    seed = args.seed
    out: dict[str, Any] = {"profile": name, "cores": os.cpu_count(), "seed": seed,
                           **{k: prof[k] for k in ("venues", "judges", "viewers", "entries", "backend", "workers")},
                           "tempo": prof["tempo"], "compression": prof["compression"],
                           "board_process": prof["board_process"], "consoles": prof["consoles"],
                           "console_rereads_all": prof["console_rereads_all"]}
    log(f"contest day '{name}': {prof['venues']} venues x {prof['judges']} judges, {prof['entries']} entries per "
        f"venue, {prof['viewers']} viewers, {prof['backend']}, {prof['workers']} process(es), seed {seed}")
    with tempfile.TemporaryDirectory(prefix="podium-day-") as tmp:
        var = Path(tmp)
        port = free_port()
        secret = "b" * 40
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update({"PODIUM_VAR_DIR": str(var), "PODIUM_PORT": str(port), "PODIUM_HOST": "127.0.0.1",
                    "PODIUM_LOG_LEVEL": "WARNING", "PODIUM_SECRET": secret})
        db_url = db_name = ""
        if prof["backend"] == "pg":
            db_url, db_name = scratch_database(args.pg_url, "podium_day_")
            await _pg_admin(args.pg_url, f'CREATE DATABASE "{db_name}"')
            env.update({"PODIUM_DATABASE_URL": db_url, "PODIUM_REDIS_URL": args.redis_url})
        proc = None
        try:
            subprocess.run([sys.executable, "-m", "judging", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                           capture_output=True)
            from judging.settings import Settings

            settings = Settings(var_dir=str(var), database_url=db_url, secret=secret)
            t = time.monotonic()
            plan = seed_contest(settings, venues=prof["venues"], judges=prof["judges"], entries=prof["entries"])
            log(f"  seeded in {time.monotonic() - t:.1f} s")
            proc = start_server(env, port, prof["workers"], var / "server.log")
            base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
            day, meta = await run_day(base, ws_base, plan, prof, seed, log, proc.pid)
            out.update(meta)
            proc.terminate()
            proc.wait(timeout=30)
            proc = None
            rec = reconcile(settings, day, plan.contest_id)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
            if os.environ.get("BENCH_SERVER_LOG") and (var / "server.log").exists():
                shutil.copy(var / "server.log", os.environ["BENCH_SERVER_LOG"])  # keep it for a post-mortem
            if db_url:
                with contextlib.suppress(Exception):
                    await _pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    submit = pct(day.submit_latency)
    screen = pct(day.screen_latency)
    missed = max(0, day.expected_receipts - len(day.screen_latency))
    errors = len(day.errors) + missed
    out.update({
        "submit": submit, "release_to_screen": screen, "release_request": pct(day.release_latency),
        "control_read": pct(day.control_latency),
        "control_reads_per_s": round(len(day.control_latency) / meta["day_s"], 1),
        "console_events_applied": day.console_applied, "console_presence_events": day.console_presence,
        "console_events_seen": day.console_seen,
        "control_reads_by_cause": dict(day.control_causes.most_common()),
        "releases": day.releases,
        "screen_receipts": len(day.screen_latency), "screen_receipts_expected": day.expected_receipts,
        "requests": day.http_requests, "requests_per_s": round(day.http_requests / meta["day_s"], 1),
        "submissions_per_s": round(submit["n"] / meta["day_s"], 1),
        "releases_per_s": round(day.releases / meta["day_s"], 2),
        "replays": day.replays, "edits": day.edits, "errors": errors, "missed_screen_receipts": missed,
        "keepalive_retries": day.retried, "state_refetches": day.state_refetches, "beats_on_feed": day.beats_on_feed,
        "error_samples": day.errors[:10],
        "reconciliation": rec,
    })
    log(f"  day: {meta['day_s']} s, {day.http_requests} requests ({out['requests_per_s']} /s), {day.releases} "
        f"releases ({out['releases_per_s']} /s), {submit['n']} submissions ({out['submissions_per_s']} /s), "
        f"{day.replays} replays, {day.edits} corrections; tempo x{prof['tempo']:g}: an entry's turn is "
        f"1/{out['compression']} of a real one")
    log(f"  submit latency      p50 {submit['p50_ms']} ms  p99 {submit['p99_ms']} ms  max {submit['max_ms']} ms "
        f"({submit['n']} submissions)")
    log(f"  release->screen     p50 {screen['p50_ms']} ms  p99 {screen['p99_ms']} ms  max {screen['max_ms']} ms "
        f"({len(day.screen_latency)}/{day.expected_receipts} receipts; of which the release request itself: p50 "
        f"{out['release_request']['p50_ms']} ms, p99 {out['release_request']['p99_ms']} ms)")
    if prof["consoles"]:
        ctl = out["control_read"]
        log(f"  console re-reads    p50 {ctl['p50_ms']} ms  p99 {ctl['p99_ms']} ms  max {ctl['max_ms']} ms "
            f"({ctl['n']} reads, {out['control_reads_per_s']} /s; without one: {day.console_applied} events "
            f"applied ({day.console_presence} tablets' presence), {day.console_seen} events already shown)")
    log(f"  errors {errors} ({missed} screen receipts missed; {day.retried} requests retried on a dropped "
        f"keep-alive connection; {day.state_refetches} state re-reads for a missing rubric; {day.beats_on_feed} "
        "heartbeats sent on the venue feed)"
        + (f": {day.errors[:5]}" if day.errors else ""))
    server_cpu = (f", server {meta['server_cpu_s']} s ({meta['server_cpu_share']:.0%} of a core)"
                  if "server_cpu_s" in meta else "")
    log(f"  CPU during the day: generator {meta['generator_cpu_s']} s ({meta['generator_cpu_share']:.0%} of a core)"
        f"{server_cpu}")
    if meta["machine_busy"] is not None:
        mb = meta["machine_busy"]
        log(f"  machine busy        {mb['mean']:.0%} of all cores on average; {mb['saturated_share']:.0%} of the day "
            f"at >= {SATURATED:.0%} (saturated: requests queue for a core)")
    lag = meta["generator_loop_lag"]
    log(f"  generator loop lag  p50 {lag['p50_ms']} ms  p99 {lag['p99_ms']} ms  max {lag['max_ms']} ms (included in "
        "the latencies above)")
    if "board_loop_lag" in meta:
        lag = meta["board_loop_lag"]
        log(f"  board process lag   p50 {lag['p50_ms']} ms  p99 {lag['p99_ms']} ms  max {lag['max_ms']} ms (included "
            "in the board's release->screen latencies)")
    log(f"  reconciliation: {rec}")

    # Ceilings, same run, same machine.
    sample = {"client_submission_id": "0" * 32, "entry_id": 1, "stage": "onsite", "base_version": 0,
              "device_id": "bench-000000000000", "values": {k: "10" for k in
                                                             ("topic", "cause", "measures", "effect", "report",
                                                              "features")}}
    conc = min(64, prof["venues"] * prof["judges"])
    bare_http = await bare_litestar(conc, 5.0 if args.quick else 10.0, sample)
    log(f"  ceiling: bare Litestar JSON, closed loop x{conc}: {bare_http['requests_per_s']} req/s, "
        f"p50 {bare_http['p50_ms']} ms p99 {bare_http['p99_ms']} ms")
    bare_one = await bare_litestar(1, 3.0, sample)
    log(f"  ceiling: bare Litestar JSON, one client at a time: p50 {bare_one['p50_ms']} ms "
        f"p99 {bare_one['p99_ms']} ms")
    bare_ws = await run_bare(prof["viewers"], 3 if args.quick else 5, 900)
    log(f"  ceiling: bare websockets broadcast to {bare_ws['viewers']}: p50 {bare_ws['p50_ms']} ms "
        f"p99 {bare_ws['p99_ms']} ms max {bare_ws['max_ms']} ms")

    def ratio(a: float, b: float) -> float:
        return round(a / b, 2) if b and a == a and b == b else float("nan")

    out["ceilings"] = {"litestar_json": bare_http, "litestar_json_unloaded": bare_one,
                       "websockets_broadcast": bare_ws}
    out["ratios"] = {
        "submit_p50_vs_bare_json_unloaded": ratio(submit["p50_ms"], bare_one["p50_ms"]),
        "submit_p99_vs_bare_json_unloaded": ratio(submit["p99_ms"], bare_one["p99_ms"]),
        "submit_p50_vs_bare_json": ratio(submit["p50_ms"], bare_http["p50_ms"]),
        "submit_p99_vs_bare_json": ratio(submit["p99_ms"], bare_http["p99_ms"]),
        "requests_per_s_vs_bare_json_max": ratio(out["requests_per_s"], bare_http["requests_per_s"]),
        "screen_p50_vs_bare_broadcast": ratio(screen["p50_ms"], bare_ws["p50_ms"]),
        "screen_p99_vs_bare_broadcast": ratio(screen["p99_ms"], bare_ws["p99_ms"]),
    }
    log(f"  ratios: {out['ratios']}")
    limit = 1.0 if name != "national" else 2.0
    out["targets"] = {
        "submit_p99_ms": 100 * limit, "release_to_screen_p99_ms": 250 * limit,
        "met": bool(submit["p99_ms"] <= 100 * limit and screen["p99_ms"] <= 250 * limit and errors == 0
                    and rec["lost"] == 0 and rec["duplicates"] == 0 and rec["unacknowledged_stored"] == 0),
    }
    log(f"  targets (p99 submit <= {100 * limit:g} ms, release->screen <= {250 * limit:g} ms, zero errors, "
        f"zero lost): {'met' if out['targets']['met'] else 'NOT met'}")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="provincial")
    parser.add_argument("--quick", action="store_true", help="CI-sized run (4 venues x 5 judges, 100 viewers)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--venues", type=int)
    parser.add_argument("--judges", type=int)
    parser.add_argument("--viewers", type=int)
    parser.add_argument("--entries", type=int, help="entries per venue")
    parser.add_argument("--tempo", type=float,
                        help="stretch the day: presentations, scoring windows and venue start times x this (2: "
                             "half the submissions and releases per second of tempo 1); heartbeats, polls and pings "
                             "keep their real intervals (default: the profile's, 2 for national, else 1)")
    parser.add_argument("--backend", choices=["sqlite", "pg"], help="override the profile's database")
    parser.add_argument("--workers", type=int, help="override the profile's server processes (pg only)")
    parser.add_argument("--board-process", action=argparse.BooleanOptionalAction, default=None,
                        help="run the public board's viewers in a process of their own (BoardProcess): the tablets' "
                             "and hosts' latencies then exclude the board's read bursts, at some generator CPU "
                             "(default: on for national, off for provincial and --quick)")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="the generator's event loop (uvloop: its viewers and clients cost less CPU and add less "
                             "of their own lag to what they measure; the server always runs uvloop)")
    parser.add_argument("--no-consoles", dest="consoles", action="store_false",
                        help="leave out the venue consoles (a host's and a chief judge's control page per venue, each "
                             "re-reading its state on feed events); the benchmark before the ninth stop had none")
    parser.add_argument("--console-rereads-all", action="store_true",
                        help="the consoles re-read on every feed event, sheets included (control.js before it "
                             "applied a judge's first sheet itself)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless the day was correct: zero errors, nothing acknowledged lost, no "
                             "duplicates, nothing stored unacknowledged, a presence row for every tablet that sent "
                             "a heartbeat (latency is reported, not checked)")
    parser.add_argument("--pg-url", default=os.environ.get(
        "PODIUM_TEST_PG_URL", "postgresql+asyncpg://podium:podium@127.0.0.1:5432/podium"))
    parser.add_argument("--redis-url", default=os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = build_parser()
    ns = p.parse_args(argv)
    if ns.tempo is not None and not ns.tempo > 0:
        p.error("--tempo must be a positive number")
    return ns


if __name__ == "__main__":
    ns = parse_args()
    if ns.loop == "uvloop":
        import uvloop

        result = uvloop.run(main(ns))
    else:
        result = asyncio.run(main(ns))
    result["generator_event_loop"] = ns.loop
    if ns.json:
        print(json.dumps(result))
    rec = result["reconciliation"]
    if ns.check and (result["errors"] or rec["lost"] or rec["duplicates"] or rec["unacknowledged_stored"]
                     or rec["mismatched"] or rec["presence_missing"]):
        print("contest day NOT correct: errors, lost, duplicated or unacknowledged sheets, or a tablet's heartbeats "
              "not recorded (see above)",
              file=sys.stderr)
        sys.exit(1)
