"""The audience finds the public leaderboard: each venue's big screen shows a small corner QR code of
``/board/{contest_id}`` with the caption "扫码查看实时排名", and the staff contest overview links to the board and
shows the same QR code. The address is absolute, on the base of the printed login links (``PODIUM_PUBLIC_URL``
when configured), never on the host the request came in on."""

from __future__ import annotations

import html
import re
from typing import Any

import msgspec
from litestar.testing import TestClient
from sqlalchemy import select

from judging.db.models import RoleGrant, Venue
from judging.routes.display import screen_qr
from judging.settings import Settings
from judging.staff.qr import qr_svg
from tests.conftest import run_db
from tests.helpers import account_with_role, login_link, make_staff, staff_login

PUBLIC = "https://podium.example.org/qc2025"  # not the request's host (the test client is on podium.test)


def _venue_of_screen(settings: Settings) -> tuple[int, int]:
    """(venue id, contest id) of the first venue screen account's venue."""
    display = account_with_role(settings, "display")

    async def go(session: Any) -> tuple[int, int]:
        grant = (await session.execute(select(RoleGrant).where(RoleGrant.account_id == display,
                                                               RoleGrant.role == "display"))).scalar_one()
        venue = (await session.execute(select(Venue).where(Venue.id == grant.venue_id))).scalar_one()
        return venue.id, venue.contest_id

    return run_db(settings, go)  # type: ignore[no-any-return]


def _app(settings: Settings) -> Any:
    from judging.app import create_app

    return create_app(msgspec.structs.replace(settings, public_url=PUBLIC + "/"))


def _board_qr_attr(page: str) -> str:
    m = re.search(r'data-testid="board-qr" data-board-url="([^"]+)"', page)
    assert m, "no board QR on the page"
    return html.unescape(m.group(1))


def test_the_venue_screen_shows_the_board_qr(settings: Settings, demo: int) -> None:
    venue_id, contest_id = _venue_of_screen(settings)
    token = login_link(settings, account_with_role(settings, "display"))
    board = f"{PUBLIC}/board/{contest_id}"
    with TestClient(_app(settings), base_url="http://podium.test") as client:
        assert client.get(f"/j/{token}", follow_redirects=False).status_code in (302, 303)
        r = client.get(f"/screen/{venue_id}")
        assert r.status_code == 200, r.text
        page = r.text
        assert _board_qr_attr(page) == board  # the configured public URL, not http://podium.test
        assert "podium.test/board" not in page
        assert screen_qr(board) in page  # the inline SVG encodes exactly this address
        figure = page[page.index('data-testid="board-qr"'):]
        assert figure.index("<svg") < figure.index("</figure>")
        assert "扫码查看实时排名" in figure[:figure.index("</figure>")]
        # The screen is Chinese by default; English on request.
        assert "Scan for the live rankings" in client.get(f"/screen/{venue_id}?lang=en").text
        # The address the QR code opens is the public leaderboard: no login needed.
        client.cookies.clear()
        assert client.get(f"/board/{contest_id}").status_code == 200


def test_without_a_public_url_the_qr_uses_the_login_links_base(client: TestClient[Any], settings: Settings,
                                                                 demo: int) -> None:
    venue_id, contest_id = _venue_of_screen(settings)
    token = login_link(settings, account_with_role(settings, "display"))
    assert client.get(f"/j/{token}", follow_redirects=False).status_code in (302, 303)
    page = client.get(f"/screen/{venue_id}").text
    assert _board_qr_attr(page) == f"{settings.base_url}/board/{contest_id}"  # as the QR login sheets


def test_a_separate_public_address_for_the_audience(settings: Settings, demo: int) -> None:
    """``PODIUM_BOARD_URL``: the venue's LAN address stays on the login QR codes, while the audience's QR codes
    carry an address phones on mobile data can reach."""
    from judging.app import create_app

    venue_id, contest_id = _venue_of_screen(settings)
    make_staff(settings, "helper", "staff")
    lan, internet = "http://192.168.1.10:8000", "https://qc.example.org"
    app = create_app(msgspec.structs.replace(settings, public_url=lan, board_url=internet + "/"))
    with TestClient(app, base_url="http://podium.test") as client:
        assert staff_login(client, "helper").status_code == 201
        assert _board_qr_attr(client.get(f"/staff/contests/{contest_id}").text) == f"{internet}/board/{contest_id}"
        sheet = client.post(f"/staff/contests/{contest_id}/qr/reviewers").text
        assert f"{lan}/j/" in sheet and internet not in sheet  # the judges' login links stay on the LAN
        token = login_link(settings, account_with_role(settings, "display"))
        client.cookies.clear()
        assert client.get(f"/j/{token}", follow_redirects=False).status_code in (302, 303)
        page = client.get(f"/screen/{venue_id}").text
        assert _board_qr_attr(page) == f"{internet}/board/{contest_id}"
        assert screen_qr(f"{internet}/board/{contest_id}") in page


def test_the_staff_overview_links_to_the_board(settings: Settings, demo: int) -> None:
    make_staff(settings, "helper", "staff")
    board = f"{PUBLIC}/board/{demo}"
    with TestClient(_app(settings), base_url="http://podium.test") as client:
        assert staff_login(client, "helper").status_code == 201
        r = client.get(f"/staff/contests/{demo}")
        assert r.status_code == 200, r.text
        page = r.text
        assert re.search(rf'<a href="/board/{demo}"[^>]*data-testid="board-link">公开排行榜</a>', page)
        assert _board_qr_attr(page) == board
        assert qr_svg(board, 5) in page  # the same address as the screens' QR code
        assert board in page  # printed under the QR code, to type in by hand
        assert "Public leaderboard" in client.get(f"/staff/contests/{demo}?lang=en").text
