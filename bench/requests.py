"""Service time of the tablet's hot endpoints, in process, one request at a time (no load, no network).

Seeds a contest (``bench/_contest_seed.py``; default the provincial shape, 40 venues x 7 judges x 4 entries)
in a temporary ``PODIUM_VAR_DIR`` migrated with ``python -m judging db upgrade``, builds the app with
``judging.app.create_app`` and calls it in process (its lifespan, then ``httpx.ASGITransport`` on the same event
loop: no server, socket or thread, so the figures are the app's own work plus a small constant client cost) as
logged-in judges (login link -> session cookie). Timed, each N times, sequentially:

* ``GET /api/judge/state`` (a judge with submitted sheets),
* ``POST /api/judge/heartbeat`` unchanged (the steady case: no event) and changed (``queued`` differs: an event),
* ``POST /api/judge/sheets``: a new sheet (201), a replay of the same client submission id (200, the original
  receipt) and a correction with ``base_version`` (201).

Then a venue's cycle on venues the sheets above did not touch, as the host's console and the chief judge drive it:
``POST /api/venue/{id}/stage``, ``.../timer`` (start), ``.../entries/{id}/end``, every panel sheet (untimed),
``.../entries/{id}/release`` and the console's ``GET /api/venue/{id}/control`` as the host and as the chief judge
(who also gets the pre-release preview).

Printed: median and p90 per endpoint in ms, and the median number of SQL statements sent while the request ran
(counted on the engine, so background work it triggers — the event publisher, the "panel complete?" check — is
included when it runs meanwhile). ``--trace`` prints the statements of each endpoint's first timed request.
``--json``: the last line is one JSON object.

    .venv/bin/python bench/requests.py                    # SQLite, N=200
    .venv/bin/python bench/requests.py -n 400 --json
    .venv/bin/python bench/requests.py --pg-url postgresql+asyncpg://podium:podium@127.0.0.1:5432/podium
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/, where this file would shadow the "requests" package: put the root there.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

from bench._contest_seed import ContestPlan, seed_contest  # noqa: E402
from bench.contest_day import _pg_admin, scratch_database  # noqa: E402


def summary(samples: list[float]) -> dict[str, float | int]:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return {"median_ms": round(statistics.median(ms), 2), "p90_ms": round(p90, 2), "n": len(ms)}


async def measure(settings: Any, plan: ContestPlan, n: int, warmup: int,
                  trace: bool = False) -> dict[str, dict[str, float | int]]:
    import httpx
    from sqlalchemy import event

    from judging.app import create_app
    from judging.observability import configure_logging

    app = create_app(settings)
    statements: list[str] = []  # SQL sent during the current timed request (SAVEPOINT/COMMIT included)
    judges = [(j, v) for v in plan.venues for j in v.judges]
    pairs = [(j, e) for j, v in judges for e in v.entries]  # every (judge, entry) may get one new sheet
    rounds = n + warmup
    if len(pairs) < rounds:
        raise SystemExit(f"the seeded contest has {len(pairs)} judge x entry pairs; need {rounds} (raise --venues)")
    times: dict[str, list[float]] = {k: [] for k in (
        "state", "heartbeat", "heartbeat_changed", "sheet_new", "sheet_replay", "sheet_correction",
        "venue_stage", "venue_timer", "venue_end", "venue_release", "venue_control", "venue_control_chief")}
    counts: dict[str, list[int]] = {k: [] for k in times}
    cpu_times: dict[str, list[float]] = {k: [] for k in times}  # this process's CPU (app + the in-process client)

    # The app's lifespan (the event publisher, stores) and plain ASGI calls on this event loop: no server, no
    # socket, no thread hop, so the time is the app's own work plus a small, constant client cost.
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://podium.test", timeout=60) as client:
        def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
            statements.append(sql)

        event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", count)
        configure_logging("WARNING")  # as `podium serve` with PODIUM_LOG_LEVEL=WARNING: no access-log line
        logging.getLogger("httpx").setLevel(logging.WARNING)
        tokens: dict[int, str] = {}

        async def token(account_id: int, link: str) -> str:
            if account_id not in tokens:
                r = await client.get(f"/j/{link}", follow_redirects=False)
                tokens[account_id] = str(r.cookies["podium_session"])
                client.cookies.clear()
            return tokens[account_id]

        async def timed(kind: str, i: int, method: str, url: str, cookie: str, expect: int,
                        body: dict[str, Any] | None = None) -> Any:
            headers = {"Cookie": f"podium_session={cookie}"}
            statements.clear()
            c0, t0 = time.process_time(), time.perf_counter()
            r = await client.request(method, url, json=body, headers=headers)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            if i == warmup and trace:
                print(f"--- {kind}: {len(statements)} statements",
                      *(" " + " ".join(s.split())[:160] for s in statements), sep="\n", flush=True)
            if r.status_code != expect:
                raise SystemExit(f"{kind}: {r.status_code} (expected {expect}): {r.text[:300]}")
            if i >= warmup:
                times[kind].append(elapsed)
                cpu_times[kind].append(cpu)
                counts[kind].append(len(statements))
            return r.json()

        rubric_items: dict[int, list[dict[str, Any]]] = {}

        async def first_sheet(cookie: str, entry: int) -> dict[str, Any]:
            """A first on-site sheet for ``entry``, each item at its step (rubrics read from a judge's state once)."""
            if entry not in rubric_items:
                state = (await client.get("/api/judge/state", headers={"Cookie": f"podium_session={cookie}"})).json()
                rubrics = {r["id"]: r["items"] for r in state["rubrics"]}
                rubric_items.update({e["id"]: rubrics[e["rubric_id"]] for e in state["entries"] if e["rubric_id"]})
            return {"client_submission_id": uuid.uuid4().hex, "entry_id": entry, "stage": "onsite",
                    "values": {it["key"]: it["step"] for it in rubric_items[entry]}, "base_version": 0,
                    "device_id": "bench"}

        for i, (judge, entry) in enumerate(pairs[:rounds]):
            cookie = await token(judge.account_id, judge.link)
            body = await first_sheet(cookie, entry)
            new = await timed("sheet_new", i, "POST", "/api/judge/sheets", cookie, 201, body)
            again = await timed("sheet_replay", i, "POST", "/api/judge/sheets", cookie, 200, body)
            if again != new:
                raise SystemExit(f"a replay answered another receipt: {again} != {new}")
            edit = {**body, "client_submission_id": uuid.uuid4().hex, "base_version": new["version"],
                    "values": {it["key"]: it["max"] for it in rubric_items[entry]}}
            await timed("sheet_correction", i, "POST", "/api/judge/sheets", cookie, 201, edit)

        scored = list({j.account_id: j for j, _ in pairs[:rounds]}.values())  # judges with sheets, all entries
        for i in range(rounds):
            judge = scored[i % len(scored)]
            cookie = await token(judge.account_id, judge.link)
            await timed("state", i, "GET", "/api/judge/state", cookie, 200)
            # queued differs from this device's previous beat (an event), then the same beat again (none)
            beat = {"device_id": f"tab-{judge.account_id}", "app_version": "bench",
                    "queued": (i // len(scored)) % 2}
            await timed("heartbeat_changed", i, "POST", "/api/judge/heartbeat", cookie, 200, beat)
            await timed("heartbeat", i, "POST", "/api/judge/heartbeat", cookie, 200, beat)

        # A venue's cycle, as the host's console and the chief judge's tablet drive it, on venues the sheets above
        # did not touch: stage, timer start, end, every panel sheet (untimed), release, the console's re-read.
        touched = {e for _, e in pairs[:rounds]}
        used = {v.venue_id for v in plan.venues if touched & set(v.entries)}
        cycle = [(v, e) for v in reversed(plan.venues) if v.venue_id not in used for e in v.entries]
        for i, (v, entry) in enumerate(cycle[:rounds]):
            host = await token(v.host.account_id, v.host.link)
            chief = await token(v.judges[0].account_id, v.judges[0].link)
            base = f"/api/venue/{v.venue_id}"
            await timed("venue_stage", i, "POST", f"{base}/stage", host, 200, {"entry_id": entry})
            await timed("venue_timer", i, "POST", f"{base}/timer", host, 200, {"action": "start"})
            await timed("venue_end", i, "POST", f"{base}/entries/{entry}/end", host, 200, {})
            for judge in v.judges:
                cookie = await token(judge.account_id, judge.link)
                body = await first_sheet(cookie, entry)
                r = await client.post("/api/judge/sheets", json=body, headers={"Cookie": f"podium_session={cookie}"})
                if r.status_code != 201:
                    raise SystemExit(f"panel sheet: {r.status_code}: {r.text[:300]}")
            await timed("venue_release", i, "POST", f"{base}/entries/{entry}/release", chief, 200, {})
            await timed("venue_control", i, "GET", f"{base}/control", host, 200)
            await timed("venue_control_chief", i, "GET", f"{base}/control?entry_id={entry}", chief, 200)
    return {k: {**summary(v), "cpu_ms": round(1000 * statistics.median(cpu_times[k]), 2),
                "statements": statistics.median(counts[k])} for k, v in times.items() if v}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="timed requests per endpoint (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed rounds first (default 20)")
    parser.add_argument("--venues", type=int, default=40)
    parser.add_argument("--judges", type=int, default=7)
    parser.add_argument("--entries", type=int, default=4)
    parser.add_argument("--pg-url", default="", help="run on a fresh database on this PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--trace", action="store_true", help="print the SQL of the first timed request of each kind")
    args = parser.parse_args()
    log = (lambda *_: None) if args.json else (lambda msg: print(msg, flush=True))

    with tempfile.TemporaryDirectory(prefix="podium-requests-") as tmp:
        secret = "r" * 40
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update({"PODIUM_VAR_DIR": tmp, "PODIUM_SECRET": secret, "PODIUM_LOG_LEVEL": "WARNING"})
        db_url = db_name = ""
        if args.pg_url:
            db_url, db_name = scratch_database(args.pg_url, "podium_req_")
            await _pg_admin(args.pg_url, f'CREATE DATABASE "{db_name}"')
            env["PODIUM_DATABASE_URL"] = db_url
        try:
            subprocess.run([sys.executable, "-m", "judging", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                           capture_output=True)
            from judging.settings import Settings

            settings = Settings(var_dir=tmp, database_url=db_url, secret=secret, log_level="WARNING")
            plan = seed_contest(settings, venues=args.venues, judges=args.judges, entries=args.entries)
            backend = "postgresql" if db_url else "sqlite"
            log(f"requests: {args.venues} venues x {args.judges} judges x {args.entries} entries, {backend}, "
                f"n={args.n} (+{args.warmup} warm-up), one request at a time, in process")
            results = await measure(settings, plan, args.n, args.warmup, trace=args.trace)
        finally:
            if db_url:
                with contextlib.suppress(Exception):
                    await _pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    labels = {"state": "GET  /api/judge/state", "heartbeat": "POST /api/judge/heartbeat (unchanged)",
              "heartbeat_changed": "POST /api/judge/heartbeat (changed)", "sheet_new": "POST /api/judge/sheets (new)",
              "sheet_replay": "POST /api/judge/sheets (replay)",
              "sheet_correction": "POST /api/judge/sheets (correction)"}
    labels.update({f"venue_{k}": f"{m} /api/venue/{{id}}/{u}" for k, m, u in (
        ("stage", "POST", "stage"), ("timer", "POST", "timer (start)"), ("end", "POST", "entries/{id}/end"),
        ("release", "POST", "entries/{id}/release"), ("control", "GET ", "control"),
        ("control_chief", "GET ", "control (chief)"))})
    for key, label in labels.items():
        if key not in results:
            continue
        r = results[key]
        log(f"  {label:<42} median {r['median_ms']:7.2f} ms   p90 {r['p90_ms']:7.2f} ms   "
            f"CPU {r['cpu_ms']:6.2f} ms   {r['statements']:g} SQL statements")
    if args.json:
        print(json.dumps({"backend": backend, "n": args.n, "venues": args.venues, "judges": args.judges,
                          "entries": args.entries, **results}))


if __name__ == "__main__":
    asyncio.run(main())
