"""The venue big screen's corner QR code of the public leaderboard, in Debian Chromium at 1920x1080 (and on a
1280x720 projector): visible, small, inside the screen, and never over the ranking/result area, the strip or the
countdown — while idle, while an entry presents with the timer running, and with a released result on screen
while the next entry presents. The address it carries opens the leaderboard without a login, and the staff
overview shows the same code and link."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.helpers import api as _api
from tests.browser.helpers import off as _off
from tests.browser.helpers import settings_of as _settings
from tests.live import helpers

pytestmark = pytest.mark.browser

TOTALS = ["88.5", "90", "86", "91.5", "79"]

# Every box the QR code must stay clear of (hidden elements have empty boxes and are skipped).
LAYOUT = """() => {
  const fig = document.querySelector('[data-testid=board-qr]');
  const qr = fig.getBoundingClientRect();
  const hit = (r) => r.width > 0 && r.height > 0 && r.left < qr.right && qr.left < r.right
    && r.top < qr.bottom && qr.top < r.bottom;
  const keep = '[data-main], [data-main] *, [data-strip], [data-strip] *, [data-countdown], [data-countdown] *, '
    + '.screen-bar, .screen-bar *';
  const over = [...document.querySelectorAll(keep)].filter((el) => hit(el.getBoundingClientRect()))
    .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
  const svg = fig.querySelector('svg').getBoundingClientRect();
  return {qr: {left: qr.left, top: qr.top, right: qr.right, bottom: qr.bottom}, svg: {w: svg.width, h: svg.height},
          over, vw: innerWidth, vh: innerHeight, mode: document.querySelector('[data-venue-screen]').dataset.mode,
          main: document.querySelector('[data-main]').getBoundingClientRect().right};
}"""


def _status(server: LiveServer, chief: dict[str, str], venue_id: int, entry: int) -> str:
    state = _api(server, chief, "GET", f"/api/venue/{venue_id}/control?entry_id={entry}")
    return str(next(e["status"] for e in state["entries"] if e["id"] == entry))


def _wait(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _clear_of_everything(page: Any, mode: str) -> dict[str, Any]:
    page.wait_for_function("m => document.querySelector('[data-venue-screen]').dataset.mode === m", arg=mode)
    assert page.locator("[data-testid=board-qr] svg").is_visible()
    assert page.locator("[data-testid=board-qr] figcaption").inner_text() == "扫码查看实时排名"
    got = page.evaluate(LAYOUT)
    assert got["over"] == [], f"the QR code covers {got['over']} ({mode})"
    qr, vw, vh = got["qr"], got["vw"], got["vh"]
    assert qr["left"] >= 0 and qr["top"] >= 0 and qr["right"] <= vw and qr["bottom"] <= vh, got  # on the screen
    assert qr["left"] > vw * 0.75 and qr["top"] > vh * 0.7, got  # in the bottom-right corner
    assert qr["right"] - qr["left"] <= vw * 0.1 and qr["bottom"] - qr["top"] <= vh * 0.2, got  # small
    assert got["svg"]["w"] >= vh * 0.12 and got["svg"]["w"] == got["svg"]["h"], got  # still big enough to scan
    assert got["main"] <= qr["left"], got  # the ranking/result column ends before the QR code's column
    return got


def test_the_screen_qr_stays_clear_of_the_result(live_server: LiveServer, browser: Any) -> None:
    s = _settings(live_server)
    v = _off(helpers.venue_info, s)
    host, chief = _off(helpers.bearer, s, v.host), _off(helpers.bearer, s, v.chief)
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(live_server.login_link(v.display))
        assert page.url.endswith(f"/screen/{v.venue_id}")
        page.wait_for_selector("[data-conn='live']", state="attached")
        board = f"{live_server.url}/board/{v.contest_id}"  # PODIUM_PUBLIC_URL of the test server
        assert page.get_attribute("[data-testid=board-qr]", "data-board-url") == board

        _clear_of_everything(page, "idle")
        screenshot(page, "screen-board-qr-idle")

        # An entry presents, the timer runs: the big countdown sits above the QR code in the right column.
        first, second = v.entries[0], v.entries[1]
        _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/stage", {"entry_id": first})
        _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/timer", {"action": "start"})
        page.wait_for_selector("[data-testid=countdown][data-running=true]")
        _clear_of_everything(page, "presenting")
        screenshot(page, "screen-board-qr-presenting")

        # The first entry's result is released while the second presents: result, strip and small countdown.
        _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/entries/{first}/end")
        _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/stage", {"entry_id": second})
        _api(live_server, host, "POST", f"/api/venue/{v.venue_id}/timer", {"action": "start"})
        for person, total in zip(v.panel, TOTALS, strict=True):
            _off(helpers.write_sheet, s, first, person, total)
        _wait(lambda: _status(live_server, chief, v.venue_id, first) == "unofficial")
        released = _api(live_server, chief, "POST", f"/api/venue/{v.venue_id}/entries/{first}/release", {})
        page.wait_for_function("t => document.querySelector('[data-testid=panel-score]')?.textContent === t",
                               arg=released["display"], timeout=3000)
        assert page.locator("[data-strip] .strip-title").is_visible()
        assert page.locator("[data-testid=countdown]").is_visible()
        _clear_of_everything(page, "result")
        screenshot(page, "screen-board-qr-result")

        # A 1280x720 projector: everything scales with the height, the QR code stays clear.
        page.set_viewport_size({"width": 1280, "height": 720})
        _clear_of_everything(page, "result")
        screenshot(page, "screen-board-qr-result-720p")
    finally:
        ctx.close()

    # What the audience's phones open: the leaderboard, without logging in, with the released result.
    anon = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = anon.new_page()
        page.goto(board)
        page.wait_for_selector("[data-conn='live']", state="attached")
        page.wait_for_function("() => document.querySelectorAll('[data-testid=board-score]').length >= 1",
                               timeout=3000)
    finally:
        anon.close()


def test_the_staff_overview_shows_the_board_link_and_qr(live_server: LiveServer, context: Any) -> None:
    s = _settings(live_server)
    v = _off(helpers.venue_info, s)
    out = live_server.podium("users", "invite-staff", "值班员")
    account = int(re.search(r"staff account (\d+)", out).group(1))  # type: ignore[union-attr]
    token = _off(helpers.bearer, s, account)["Authorization"].split()[1]
    context.add_cookies([{"name": "podium_session", "value": token, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/staff/contests/{v.contest_id}")
    qr = page.locator("#public-board [data-testid=board-qr]")
    assert qr.get_attribute("data-board-url") == f"{live_server.url}/board/{v.contest_id}"
    assert qr.locator("svg").is_visible()
    link = page.locator("#public-board [data-testid=board-link]")
    assert link.inner_text() == "公开排行榜"
    screenshot(page, "staff-board-link")
    with page.expect_popup() as popup:
        link.click()
    board = popup.value
    board.wait_for_load_state()
    assert board.url == f"{live_server.url}/board/{v.contest_id}"
    board.wait_for_selector("[data-conn='live']", state="attached")
