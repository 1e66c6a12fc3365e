"""Big screens in Debian Chromium against a real server: a release shows within a second, a server restart
resyncs the screen to exactly the server's state, and the countdown follows the server's clock even when the
screen's own clock is wrong."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from judging.settings import Settings
from tests.browser.conftest import LiveServer, screenshot
from tests.live import helpers

# Playwright's sync API keeps an event loop running in this thread: database helpers (asyncio.run) go to another.
_pool = ThreadPoolExecutor(1)


def _off(fn: Any, *args: Any) -> Any:
    return _pool.submit(fn, *args).result()


def bearer(s: Settings, account_id: int) -> dict[str, str]:
    return _off(helpers.bearer, s, account_id)  # type: ignore[no-any-return]


def venue_info(s: Settings) -> Any:
    return _off(helpers.venue_info, s)


def write_sheet(s: Settings, entry: int, person: int, total: str) -> None:
    _off(helpers.write_sheet, s, entry, person, total)

pytestmark = pytest.mark.browser

SKEW_MS = 7000  # the screen's clock runs 7 s fast; the countdown must not
TOTALS = ["88.5", "90", "86", "91.5", "79"]


def _settings(server: LiveServer) -> Settings:
    return Settings.from_env(server.env).with_secret()


@pytest.fixture
def screen_page(live_server: LiveServer, browser: Any) -> Any:
    s = _settings(live_server)
    v = venue_info(s)
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    ctx.add_init_script(f"""(() => {{ const now = Date.now.bind(Date); Date.now = () => now() + {SKEW_MS}; }})();""")
    page = ctx.new_page()
    page.goto(live_server.login_link(v.display))
    assert page.url.endswith(f"/screen/{v.venue_id}")
    page.wait_for_selector("[data-conn='live']", state="attached")
    yield page
    ctx.close()


def _api(server: LiveServer, headers: dict[str, str], method: str, path: str, body: Any = None) -> httpx.Response:
    r = httpx.request(method, server.local_url + path, headers=headers, json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r


def _wait(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _entry_status(server: LiveServer, chief: dict[str, str], venue_id: int, entry: int) -> str:
    state = _api(server, chief, "GET", f"/api/venue/{venue_id}/control?entry_id={entry}").json()
    return str(next(e["status"] for e in state["entries"] if e["id"] == entry))


def _ready_for_release(server: LiveServer, v: Any, s: Settings, entry: int) -> dict[str, str]:
    host, chief = bearer(s, v.host), bearer(s, v.chief)
    _api(server, host, "POST", f"/api/venue/{v.venue_id}/stage", {"entry_id": entry})
    _api(server, host, "POST", f"/api/venue/{v.venue_id}/entries/{entry}/end")
    for person, total in zip(v.panel, TOTALS, strict=True):
        write_sheet(s, entry, person, total)
    _wait(lambda: _entry_status(server, chief, v.venue_id, entry) == "unofficial")
    return chief


def test_countdown_follows_the_server_clock(live_server: LiveServer, screen_page: Any) -> None:
    s = _settings(live_server)
    v = venue_info(s)
    host = bearer(s, v.host)
    _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/stage", {"entry_id": v.entries[0]})
    timer = _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/timer", {"action": "start"}).json()
    page = screen_page
    page.wait_for_selector("[data-testid=countdown][data-running=true]")
    time.sleep(1.2)  # let a few pongs settle the clock offset
    for _ in range(3):
        shown = float(page.get_attribute("[data-testid=countdown]", "data-remaining-ms") or "nan")
        server_now = time.time() * 1000  # the server runs on this machine: its clock is ours
        expected = timer["duration_ms"] - (timer["elapsed_ms"] + server_now - timer["started_at_ms"])
        assert abs(shown - expected) <= 500, (shown, expected)
        time.sleep(0.3)
    assert page.evaluate("Date.now()") - time.time() * 1000 > SKEW_MS - 1000  # the page's clock really is off
    screenshot(page, "screen-venue-countdown")
    _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/timer", {"action": "pause"})


def test_release_shows_on_the_venue_screen_within_a_second(live_server: LiveServer, screen_page: Any) -> None:
    s = _settings(live_server)
    v = venue_info(s)
    entry = v.entries[1]
    chief = _ready_for_release(live_server, v, s, entry)
    page = screen_page
    released = _api(live_server, chief, "POST", f"/api/venue/{v.venue_id}/entries/{entry}/release", {}).json()
    page.wait_for_function(
        "text => document.querySelector('[data-testid=panel-score]')?.textContent === text",
        arg=released["display"], timeout=1000)
    assert released["display"] == "88.17"
    marks = page.locator("[data-testid=judge-mark]")
    assert marks.count() == 5
    assert page.locator(".judge.dropped.high .jscore").inner_text() == "91.50"
    assert page.locator(".judge.dropped.low .jscore").inner_text() == "79.00"
    assert page.locator("[data-testid=venue-rank]").inner_text() == "1"
    screenshot(page, "screen-venue-result")


def _server_state(server: LiveServer, headers: dict[str, str], venue_id: int) -> Any:
    return _api(server, headers, "GET", f"/api/live/venue/{venue_id}").json()


def test_screen_resyncs_exactly_after_a_server_restart(live_server: LiveServer, screen_page: Any) -> None:
    s = _settings(live_server)
    v = venue_info(s)
    page = screen_page
    live_server.stop()
    page.wait_for_selector("[data-conn='reconnecting']", timeout=5000)
    screenshot(page, "screen-venue-reconnecting")
    # Changes the screen cannot see while the server is down: sheets arrive in the database.
    entry = v.entries[2]
    live_server.start()
    chief = _ready_for_release(live_server, v, s, entry)
    _api(live_server, chief, "POST", f"/api/venue/{v.venue_id}/entries/{entry}/release", {})
    _api(live_server, bearer(s, v.host), "POST", f"/api/venue/{v.venue_id}/timer", {"action": "start"})
    display = bearer(s, v.display)
    page.wait_for_selector("[data-conn='live']", state="attached", timeout=15000)

    def same() -> bool:
        server = _server_state(live_server, display, v.venue_id)
        mine = json.loads(page.evaluate("JSON.stringify(window.__podiumFeed.state)"))
        return bool(mine == server["state"]) and page.evaluate("window.__podiumFeed.last") == server["seq"]

    _wait(same, timeout=10)
    assert page.locator("[data-testid=panel-score]").inner_text() == "88.17"


def test_leaderboard_shows_released_entries_only(live_server: LiveServer, browser: Any) -> None:
    s = _settings(live_server)
    v = venue_info(s)
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/board/{v.contest_id}")  # anonymous
    page.wait_for_selector("[data-conn='live']", state="attached")
    board = httpx.get(f"{live_server.local_url}/api/live/board/{v.contest_id}").json()["state"]
    released = [e for e in board["entries"].values() if e["status"] in ("released", "official")]
    page.wait_for_function("n => document.querySelectorAll('[data-testid=board-score]').length === n",
                           arg=len(released), timeout=3000)
    assert len(released) == len(board["results"])
    screenshot(page, "screen-leaderboard")
    ctx.close()


def test_podium_watch_prints_the_feed(live_server: LiveServer) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    s = _settings(live_server)
    v = venue_info(s)
    token = bearer(s, v.display)["Authorization"].split()[1]
    url = f"{live_server.local_url}/screen/{v.venue_id}"  # a page URL: watch finds its feed
    proc = subprocess.Popen([sys.executable, "-m", "judging", "watch", url, "--token", token, "--count", "1"],
                            env=live_server.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        if not (lines[0].startswith("connected to venue/") and lines[1].startswith("snapshot at #")
                and lines[2].startswith("synced at #")):
            proc.kill()  # say why (stderr and exit code), not just that the lines are missing
            _, err = proc.communicate(timeout=15)
            raise AssertionError(f"podium watch printed {lines!r}, exit code {proc.returncode}, stderr:\n{err}")
        _api(live_server, bearer(s, v.host), "POST", f"/api/venue/{v.venue_id}/timer", {"action": "reset"})
        out, _ = proc.communicate(timeout=15)
        assert " timer " in out and proc.returncode == 0
    finally:
        proc.kill()
