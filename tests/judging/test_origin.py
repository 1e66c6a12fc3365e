"""Cross-site request forgery: a change (POST, PUT, PATCH, DELETE) or a feed opened by a page of another site is
refused (403 ``cross_origin``; websockets closed with 4403) and changes nothing, even with a valid session cookie
(``SameSite=Lax`` lets a sibling subdomain or another port send it). The server's own pages, the configured public
addresses, and clients that name no page (scripts, the API) pass; the public leaderboard's feed is open to all."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from sqlalchemy import func, select

from judging.db.models import Account
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login
from tests.live.helpers import receive

EVIL = "http://evil.podium.test"  # a sibling subdomain: same site, so the Lax cookie goes along


def _accounts(settings: Settings) -> int:
    return int(run_db(settings, lambda s: s.scalar(select(func.count(Account.id)))))


@pytest.mark.parametrize("header", [{"origin": EVIL}, {"referer": f"{EVIL}/attack.html"}, {"origin": "null"},
                                    {"origin": "http://podium.test:8080"}])
def test_a_change_sent_by_another_sites_page_is_refused(client: TestClient[Any], settings: Settings,
                                                         header: dict[str, str]) -> None:
    make_staff(settings)
    assert staff_login(client).status_code == 201  # the session cookie is in the jar
    before = _accounts(settings)
    for send in (lambda: client.post("/api/staff/invitations", json={"display_name": "evil"}, headers=header),
                 lambda: client.post("/staff/invitations", data={"display_name": "evil"}, headers=header),
                 lambda: client.post("/api/staff/invitations", content=b'{"display_name":"evil"}',
                                     headers={**header, "content-type": "text/plain"})):
        r = send()
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin", r.text
    assert _accounts(settings) == before
    # Reading is not a change: a link from another site still opens a page.
    assert client.get("/staff", headers=header).status_code == 200


def test_the_servers_own_pages_and_clients_naming_no_page_pass(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings)
    assert staff_login(client).status_code == 201
    for headers in ({"origin": "http://podium.test"}, {"referer": "http://podium.test/staff"},
                    {"origin": "HTTP://PODIUM.TEST"}, {}):
        r = client.post("/api/staff/invitations", json={"display_name": "王老师"}, headers=headers)
        assert r.status_code == 201, (headers, r.text)


@pytest.mark.parametrize(("host", "origin"), [
    ("podium.test:80", "http://podium.test"), ("podium.test", "http://podium.test:80"),
    ("qc.example.org", "https://qc.example.org"), ("qc.example.org:443", "https://qc.example.org"),
    ("QC.example.org", "https://qc.EXAMPLE.org:443/")])
def test_default_ports_and_case_do_not_make_a_page_foreign(host: str, origin: str) -> None:
    """A proxy's ``Host`` often drops the default port (nginx ``$host``), a browser's ``Origin`` always does."""
    from judging.origin import OriginMiddleware

    check = OriginMiddleware(app=None)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "headers": [(b"host", host.encode()), (b"origin", origin.encode())]}
    assert check._foreign(scope) is None
    other = {**scope, "headers": [(b"host", host.encode()), (b"origin", b"https://qc.example.org:8443")]}
    assert check._foreign(other) is not None


def test_a_configured_public_address_is_this_server(settings: Settings) -> None:
    """Behind a proxy that rewrites ``Host``, the browser's address is the configured public one."""
    from judging.app import create_app

    make_staff(settings)
    app = create_app(msgspec.structs.replace(settings, public_url="https://qc.example.org/"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert staff_login(client).status_code == 201
        r = client.post("/api/staff/invitations", json={"display_name": "王老师"},
                        headers={"origin": "https://qc.example.org"})
        assert r.status_code == 201, r.text


def test_feeds_opened_by_another_sites_page_are_refused(client: TestClient[Any], settings: Settings,
                                                        demo: int) -> None:
    make_staff(settings)
    assert staff_login(client).status_code == 201
    with client.websocket_connect(f"/ws/staff/{demo}", headers={"origin": EVIL}) as ws, \
            pytest.raises(WebSocketDisconnect) as exc:
        receive(ws)  # accepted, then closed at once: a browser sees the code (a refused handshake reads as 1006)
    assert exc.value.code == 4403
    with client.websocket_connect(f"/ws/staff/{demo}", headers={"origin": "http://podium.test"}) as ws:
        assert receive(ws) is not None
    # The public leaderboard (released results, no credentials) may be embedded anywhere.
    with client.websocket_connect(f"/ws/board/{demo}", headers={"origin": EVIL}) as ws:
        assert receive(ws) is not None
