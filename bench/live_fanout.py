"""Live fan-out: time from a chief judge's release request to its receipt at every viewer.

One ``podium serve`` process (SQLite, in-memory channels, demo contest) and N viewers on the public leaderboard
feed. For each release the clock starts just before the HTTP request and stops when a viewer's socket delivers
the ``result.released`` event; p50/p99/max are over every viewer and release. In the same run a bare
``websockets`` broadcast server (one process, ``websockets.broadcast`` of a message of the same size) gets the
same viewers: the ceiling for "one Python process pushing one message to N sockets".

Loopback only. On a 2-core machine the server is pinned to core 0 and the viewers (this process) to core 1.

    .venv/bin/python bench/live_fanout.py               # 1,000 and 5,000 viewers
    .venv/bin/python bench/live_fanout.py --quick       # CI-sized: 100 and 300 viewers
    .venv/bin/python bench/live_fanout.py --json        # last line: one JSON object with the headline figures
"""

from __future__ import annotations

import argparse
import asyncio
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

import httpx
import numpy as np
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
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


class Viewers:
    """N websocket clients; each records when it sees the marker of the current round."""

    def __init__(self) -> None:
        self.marker = b""
        self.t0 = 0.0
        self.latencies: list[float] = []
        self.got = 0
        self.errors = 0
        self.closed = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = 0

    async def viewer(self, url: str, stop: asyncio.Event) -> None:
        try:
            async with connect(url, open_timeout=60, ping_interval=None, max_queue=None, max_size=2**24) as ws:
                self.ready += 1
                await ws.send('{"type":"ping","t":0}')
                last_ping = time.monotonic()
                seen = b""
                while not stop.is_set():
                    try:
                        msg = await asyncio.wait_for(ws.recv(decode=False), 10)
                    except TimeoutError:
                        msg = b""
                    if self.marker and self.marker != seen and self.marker in msg:
                        seen = self.marker
                        self.latencies.append(time.monotonic() - self.t0)
                        self.got += 1
                    if time.monotonic() - last_ping > 10:
                        await ws.send('{"type":"ping","t":0}')
                        last_ping = time.monotonic()
        except Exception:
            self.errors += 1

    async def start(self, url: str, n: int, stop: asyncio.Event) -> float:
        started = time.monotonic()
        for i in range(0, n, 250):  # connect in waves (listen backlog)
            for _ in range(min(250, n - i)):
                self.tasks.append(asyncio.create_task(self.viewer(url, stop)))
            deadline = time.monotonic() + 120
            while self.ready + self.errors < min(n, i + 250) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def round(self, marker: bytes, trigger: Any, expected: int, timeout: float = 30.0) -> None:
        self.got = 0
        self.marker = marker
        self.t0 = time.monotonic()
        await trigger()
        deadline = time.monotonic() + timeout
        while self.got < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def stop(self, stop: asyncio.Event) -> None:
        stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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


async def run_podium(n: int, releases: int, work: Path) -> dict[str, Any]:
    port = free_port()
    env, token, contest, entries = await asyncio.to_thread(prepare_podium, work / f"podium-{n}", port, releases)
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
        connect_s = await viewers.start(f"ws://127.0.0.1:{port}/ws/board/{contest}", n, stop)
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": token}, timeout=30) as http:
            for venue_id, entry in entries:
                async def trigger(venue_id: int = venue_id, entry: int = entry) -> None:
                    r = await http.post(f"/api/venue/{venue_id}/entries/{entry}/release", json={})
                    r.raise_for_status()

                await viewers.round(f'"entry_id":{entry},'.encode(), trigger, viewers.ready)
        await viewers.stop(stop)
        out = stats(viewers.latencies, viewers.ready * len(entries))
        out.update(viewers=viewers.ready, connect_errors=viewers.errors, connect_s=round(connect_s, 1),
                   releases=len(entries))
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
            for i in range(releases):
                marker = f'"entry_id":{i},'.encode()
                body = (b'{"type":"event",' + marker).ljust(payload_size, b" ") + b"}"

                async def trigger(body: bytes = body) -> None:
                    await trig.send(body)

                await viewers.round(marker, trigger, viewers.ready)
                await trig.recv()
        await viewers.stop(stop)
        out = stats(viewers.latencies, viewers.ready * releases)
        out.update(viewers=viewers.ready, connect_errors=viewers.errors, releases=releases)
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
            podium = await run_podium(n, releases, Path(tmp))
            bare = await run_bare(n, releases, 900)
            ratio = podium["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else float("nan")
            results["runs"][str(n)] = {"podium": podium, "bare": bare, "p99_ratio": round(ratio, 2)}
            if not args.json:
                print(f"{n:>6} viewers  podium p50 {podium['p50_ms']:7.1f} p99 {podium['p99_ms']:7.1f} "
                      f"max {podium['max_ms']:7.1f} ms ({podium['received']}/{podium['expected']})   "
                      f"bare p50 {bare['p50_ms']:7.1f} p99 {bare['p99_ms']:7.1f} max {bare['max_ms']:7.1f} ms   "
                      f"p99 ratio {ratio:.2f}", flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1000,5000", help="comma-separated viewer counts")
    parser.add_argument("--releases", type=int, default=5, help="releases (rounds) per viewer count")
    parser.add_argument("--quick", action="store_true", help="CI-sized run (100 and 300 viewers, 3 releases)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ns = parser.parse_args()
    res = asyncio.run(main(ns))
    if ns.json:
        print(json.dumps(res))
