"""Live fan-out: time from a chief judge's release request to its receipt at every viewer.

One ``podium serve`` process (SQLite, in-memory channels, demo contest) and N viewers on the public leaderboard
feed. For each release the clock starts just before the HTTP request and stops when a viewer's socket delivers
the ``result.released`` event; p50/p99/max are over every viewer and release. In the same run a bare
``websockets`` broadcast server (one process, ``websockets.broadcast`` of a message of the same size) gets the
same viewers: the ceiling for "one Python process pushing one message to N sockets".

Viewers are bare asyncio protocols (arrival time taken in ``data_received``), so the client is not the limit;
timed rounds start once every viewer has its snapshot, after one untimed warm-up round on each server.
``BENCH_ROUNDS=1`` prints every round; ``BENCH_PYSPY=/tmp/out.txt`` samples the server with py-spy.

Loopback only. On a 2-core machine the server is pinned to core 0 and the viewers (this process) to core 1.

    .venv/bin/python bench/live_fanout.py               # 1,000 and 5,000 viewers
    .venv/bin/python bench/live_fanout.py --quick       # CI-sized: 100 and 300 viewers
    .venv/bin/python bench/live_fanout.py --json        # last line: one JSON object with the headline figures

Before the timed releases, the server's CPU is measured over a quiet spell (``--idle``, 20 s) while every viewer
sends its 20 s ping (as ``feed.js``): the cost of holding the sockets (``idle_cpu_share``, ``idle_us_per_socket_s``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
PING_S = 20.0
"""A viewer's client ping interval: ``heartbeat_s`` (20 s), as ``judging/static/js/feed.js``."""
sys.path.insert(0, str(ROOT))

BARE_SERVER = r'''
import asyncio, sys
from websockets.asyncio.server import serve, broadcast
clients = set()
async def handler(ws):
    if ws.request.path.startswith("/trigger"):
        async for msg in ws:
            broadcast(clients, msg)
            await ws.send("ok")
        return
    clients.add(ws)
    try:
        async for _ in ws:
            pass
    except Exception:
        pass
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=None, ping_interval=None, backlog=8192):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(cmd: list[str], core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core), *cmd]
    return cmd


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (RFC 6455 §5.3), payloads under 64 KiB."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Viewer(asyncio.Protocol):
    """One websocket client as a bare asyncio protocol: handshake, unmasked server frames, masked client frames.

    The viewers share one core with nothing else, but a full client library per socket (a reader task, a
    ``wait_for`` task per message on Python 3.11, message assembly) costs far more than the server's send and
    turns the benchmark into a measure of its own client. Here the arrival time is taken in ``data_received``,
    before any parsing, and the only per-frame work is a header parse and a ``bytes.find``."""

    def __init__(self, owner: Viewers, host: str, path: str) -> None:
        self.owner = owner
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.open = False
        self.seen = b""
        self.synced = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(client_frame(opcode, payload))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        owner = self.owner
        if owner.marker and owner.marker != self.seen and owner.marker in data:
            self.seen = owner.marker  # the marker may straddle two reads; the slow path below catches that
            owner.hit(now)
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                owner.errors += 1
                self.done.set_result(None) if not self.done.done() else None
                if self.transport is not None:
                    self.transport.close()
                return
            self.open = True
            owner.ready += 1
            self.send(0x1, b'{"type":"ping","t":0}')
            buf = buf[end + 4:]
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            head = 2
            if b1 == 126:
                if size - pos < 4:
                    break
                b1, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif b1 == 127:
                if size - pos < 10:
                    break
                b1, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if size - pos < head + b1:
                break
            opcode = buf[pos] & 0x0F
            payload = buf[pos + head:pos + head + b1]
            pos += head + b1
            if opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                owner.closed += 1
                self.send(0x8, payload[:2])
                if self.transport is not None:
                    self.transport.close()
            elif owner.marker and owner.marker != self.seen and owner.marker in payload:
                self.seen = owner.marker
                owner.hit(now)
            if owner.payload is None and owner.marker and owner.marker in payload:
                owner.payload = payload
            elif not self.synced and payload.startswith(b'{"type":"synced"'):
                self.synced = True
                owner.synced += 1
        self.buf = buf[pos:] if pos < size else b""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class Viewers:
    """N websocket clients; each records when it sees the marker of the current round."""

    def __init__(self) -> None:
        self.marker = b""
        self.t0 = 0.0
        self.latencies: list[float] = []
        self.got = 0
        self.errors = 0
        self.closed = 0
        self.synced = 0
        self.payload: bytes | None = None
        self.after_commit: list[float] = []
        """Per receipt, ms from the event's ``at_ms`` (its row, written in the release transaction) — Podium only."""
        self.conns: list[_Viewer] = []
        self.ready = 0

    def hit(self, now: float) -> None:
        self.latencies.append(now - self.t0)
        self.got += 1

    async def _connect(self, url: str) -> None:
        u = urlsplit(url)
        loop = asyncio.get_running_loop()
        try:
            _, proto = await loop.create_connection(
                lambda: _Viewer(self, u.netloc, u.path + (f"?{u.query}" if u.query else "")), u.hostname, u.port)
            self.conns.append(proto)
        except OSError:
            self.errors += 1

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        """The feed's client heartbeat (the server closes sockets silent for 3 intervals), spread over PING_S."""
        while not stop.is_set():
            for i, conn in enumerate(list(self.conns)):
                if stop.is_set():
                    return
                if conn.open:
                    conn.send(0x1, b'{"type":"ping","t":0}')
                if i % 100 == 99:
                    await asyncio.sleep(PING_S * 100 / max(len(self.conns), 100))
            await asyncio.sleep(0.1)

    async def start(self, url: str, n: int, stop: asyncio.Event, *, synced: bool = False) -> float:
        """Connect ``n`` viewers; with ``synced``, return once every viewer has its snapshot (``synced``), so the
        rounds time live delivery, not the server still answering the connection storm."""
        started = time.monotonic()
        for i in range(0, n, 250):  # connect in waves (listen backlog)
            await asyncio.gather(*(self._connect(url) for _ in range(min(250, n - i))))
            deadline = time.monotonic() + 120
            while self.ready + self.errors < min(n, i + 250) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        deadline = time.monotonic() + 120
        while synced and self.synced + self.errors + self.closed < self.ready and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._hb = asyncio.create_task(self._heartbeats(stop))
        return time.monotonic() - started

    async def round(self, marker: bytes, trigger: Any, expected: int, timeout: float = 30.0,
                    record: bool = True) -> None:
        self.got = 0
        self.payload = None
        self.marker = marker
        wall0 = time.time()
        self.t0 = time.monotonic()
        await trigger()
        self.trigger_ms = (time.monotonic() - self.t0) * 1000
        deadline = time.monotonic() + timeout
        while self.got < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        mine = self.latencies[len(self.latencies) - self.got:]
        if not record:  # warm-up round
            del self.latencies[len(self.latencies) - self.got:]
        elif self.payload is not None and b'"at_ms":' in self.payload:
            at_ms = json.loads(self.payload)["at_ms"]
            self.after_commit.extend((wall0 + x) * 1000 - at_ms for x in mine)
        if os.environ.get("BENCH_ROUNDS"):
            lat = np.array(mine) * 1000 if mine else np.array([np.nan])
            print(f"  round {marker!r}: {self.got}/{expected} min {lat.min():.0f} p50 {np.median(lat):.0f} "
                  f"max {lat.max():.0f} ms (trigger {self.trigger_ms:.0f} ms)", file=sys.stderr, flush=True)

    async def stop(self, stop: asyncio.Event) -> None:
        stop.set()
        for conn in self.conns:
            conn.send(0x8, (1000).to_bytes(2, "big"))
        await asyncio.sleep(0.5)
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()
        await asyncio.gather(self._hb, *(c.done for c in self.conns), return_exceptions=True)


def stats(lat: list[float], expected: int) -> dict[str, Any]:
    a = np.array(lat) * 1000 if lat else np.array([np.nan])
    return {"p50_ms": round(float(np.percentile(a, 50)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1),
            "max_ms": round(float(a.max()), 1), "received": len(lat), "expected": expected}


# ------------------------------------------------------------------------------------------ podium
def prepare_podium(var: Path, port: int, releases: int) -> tuple[dict[str, str], str, int, list[tuple[int, int]]]:
    """Migrate, load the demo, make a staff token, and put ``releases`` entries in scoring with five sheets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({"PODIUM_VAR_DIR": str(var), "PODIUM_PORT": str(port), "PODIUM_HOST": "127.0.0.1",
                "PODIUM_LOG_LEVEL": "WARNING"})
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "judging", *args], env=env, cwd=ROOT, check=True, capture_output=True)
    os.environ.update({k: v for k, v in env.items() if k.startswith("PODIUM_")})
    from judging.settings import Settings
    from tests.conftest import run_db
    from tests.live import helpers

    settings = Settings.from_env(env).with_secret()
    staff = _make_staff(settings)
    token = helpers.bearer(settings, staff)["Authorization"]
    venues = [helpers.venue_info(settings, code) for code in ("V1", "V2", "V3")]
    entries: list[tuple[int, int]] = []
    for v in venues:
        for e in v.entries[1:]:
            entries.append((v.venue_id, e))
    entries = entries[:releases]
    totals = ["88.5", "90", "86", "91.5", "79"]

    async def set_status(session: Any) -> None:
        from sqlalchemy import update

        from judging.db.models import Entry
        await session.execute(update(Entry).where(Entry.id.in_([e for _, e in entries])).values(status="scoring"))

    run_db(settings, set_status)
    for venue_id, entry in entries:
        v = next(x for x in venues if x.venue_id == venue_id)
        for person, total in zip(v.panel, totals, strict=True):
            helpers.write_sheet(settings, entry, person, total)
    return env, token, venues[0].contest_id, entries


def _make_staff(settings: Any) -> int:
    from tests.helpers import make_staff

    return make_staff(settings, "bench", "staff")


async def run_podium(n: int, releases: int, work: Path, idle_s: float = 0.0) -> dict[str, Any]:
    port = free_port()
    # one more release than timed: the first after a start pays one-time costs (statement compilation, lazy
    # imports) that are not fan-out; it is run untimed, like the bare server's first broadcast
    env, token, contest, entries = await asyncio.to_thread(prepare_podium, work / f"podium-{n}", port, releases + 1)
    server = subprocess.Popen(pin([sys.executable, "-m", "judging", "serve"], 0), env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        viewers, stop = Viewers(), asyncio.Event()
        connect_s = await viewers.start(f"ws://127.0.0.1:{port}/ws/board/{contest}", n, stop, synced=True)
        await asyncio.sleep(1.0)
        idle: dict[str, float] = {}
        if idle_s > 0:
            # The sockets' upkeep with nothing to deliver: their clients' pings (every PING_S) and the server's
            # heartbeat. The server's CPU over the quiet spell, as a share of a core and per socket.
            from bench.contest_day import tree_cpu_s

            cpu0, t0 = tree_cpu_s(server.pid), time.monotonic()
            await asyncio.sleep(idle_s)
            cpu1, dt = tree_cpu_s(server.pid), time.monotonic() - t0
            if cpu0 is not None and cpu1 is not None:
                idle = {"idle_cpu_share": round((cpu1 - cpu0) / dt, 4),
                        "idle_us_per_socket_s": round((cpu1 - cpu0) / dt / max(viewers.ready, 1) * 1e6, 2)}
        if os.environ.get("BENCH_PYSPY"):
            # profiling aid: BENCH_PYSPY=/tmp/out.txt samples the server for 15 s (py-spy, not a project dependency)
            subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "--nonblocking", "-r", "250", "-d", "15",
                              "-f", "raw", "-o", os.environ["BENCH_PYSPY"], "--pid", str(server.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(1.0)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": token}, timeout=30) as http:
            for i, (venue_id, entry) in enumerate(entries):
                async def trigger(venue_id: int = venue_id, entry: int = entry) -> None:
                    r = await http.post(f"/api/venue/{venue_id}/entries/{entry}/release", json={})
                    r.raise_for_status()

                await viewers.round(f'"entry_id":{entry},'.encode(), trigger, viewers.ready, record=i > 0)
        await viewers.stop(stop)
        out = stats(viewers.latencies, viewers.ready * releases)
        if viewers.after_commit:
            a = np.array(viewers.after_commit)
            out["from_event_p50_ms"] = round(float(np.percentile(a, 50)), 1)
            out["from_event_p99_ms"] = round(float(np.percentile(a, 99)), 1)
        out.update(viewers=viewers.ready, connect_errors=viewers.errors, closed=viewers.closed,
                   connect_s=round(connect_s, 1), releases=releases, **idle)
        return out
    finally:
        server.terminate()
        server.wait(timeout=15)


async def run_bare(n: int, releases: int, payload_size: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(pin([sys.executable, "-c", BARE_SERVER, str(port)], 0), stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()
        viewers, stop = Viewers(), asyncio.Event()
        await viewers.start(f"ws://127.0.0.1:{port}/feed", n, stop)
        await asyncio.sleep(1.0)
        async with connect(f"ws://127.0.0.1:{port}/trigger", ping_interval=None) as trig:
            for i in range(-1, releases):  # round -1: untimed warm-up
                marker = f'"entry_id":{i},'.encode()
                body = (b'{"type":"event",' + marker).ljust(payload_size, b" ") + b"}"

                async def trigger(body: bytes = body) -> None:
                    await trig.send(body)

                await viewers.round(marker, trigger, viewers.ready, record=i >= 0)
                await trig.recv()
        await viewers.stop(stop)
        out = stats(viewers.latencies, viewers.ready * releases)
        out.update(viewers=viewers.ready, connect_errors=viewers.errors, closed=viewers.closed, releases=releases)
        return out
    finally:
        server.terminate()
        server.wait(timeout=15)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    sizes = [100, 300] if args.quick else [int(x) for x in args.viewers.split(",")]
    releases = 3 if args.quick else args.releases
    results: dict[str, Any] = {"cores": os.cpu_count(), "quick": args.quick, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="podium-fanout-") as tmp:
        for n in sizes:
            podium = await run_podium(n, releases, Path(tmp), 0.0 if args.quick else args.idle)
            bare = await run_bare(n, releases, 900)
            ratio = podium["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else float("nan")
            results["runs"][str(n)] = {"podium": podium, "bare": bare, "p99_ratio": round(ratio, 2)}
            if not args.json:
                print(f"{n:>6} viewers  podium p50 {podium['p50_ms']:7.1f} p99 {podium['p99_ms']:7.1f} "
                      f"max {podium['max_ms']:7.1f} ms ({podium['received']}/{podium['expected']})   "
                      f"bare p50 {bare['p50_ms']:7.1f} p99 {bare['p99_ms']:7.1f} max {bare['max_ms']:7.1f} ms   "
                      f"p99 ratio {ratio:.2f}   podium from event row p50 {podium.get('from_event_p50_ms', 0):.1f} "
                      f"p99 {podium.get('from_event_p99_ms', 0):.1f} ms", flush=True)
                if "idle_cpu_share" in podium:
                    print(f"{n:>6} viewers  idle: server {podium['idle_cpu_share']:.1%} of a core, "
                          f"{podium['idle_us_per_socket_s']:.1f} us of CPU per socket per second", flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1000,5000", help="comma-separated viewer counts")
    parser.add_argument("--releases", type=int, default=5, help="releases (rounds) per viewer count")
    parser.add_argument("--quick", action="store_true", help="CI-sized run (100 and 300 viewers, 3 releases)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--idle", type=float, default=20.0,
                        help="seconds of a quiet spell, before the releases, over which the server's CPU is measured "
                             "(the sockets' upkeep: pings and heartbeats); 0 skips it; --quick skips it")
    ns = parser.parse_args()
    res = asyncio.run(main(ns))
    if ns.json:
        print(json.dumps(res))
