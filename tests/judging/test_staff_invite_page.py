"""The owner invites a staff member from the staff home page ("邀请工作人员"): the same service and audit entry as
``POST /api/staff/invitations``; the page shows the one-time setup link and its QR code once. Staff who are not
the owner see no form and are refused."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select

from judging.db.models import Account, AuditLog, RoleGrant
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import PASSWORD, make_staff, staff_login


def _other_client(settings: Settings) -> TestClient[Any]:
    """Another browser (its own app instance: two test clients must not share one app's event loop)."""
    from judging.app import create_app

    return TestClient(create_app(settings), base_url="http://podium.test")


def _accounts_named(settings: Settings, name: str) -> list[tuple[int, list[str]]]:
    async def go(session: Any) -> list[tuple[int, list[str]]]:
        accounts = (await session.execute(select(Account).where(Account.display_name == name))).scalars().all()
        return [(a.id, sorted((await session.execute(select(RoleGrant.role).where(RoleGrant.account_id == a.id))
                               ).scalars())) for a in accounts]

    return run_db(settings, go)  # type: ignore[no-any-return]


def _invite_audit(settings: Settings) -> list[tuple[int | None, str, dict[str, Any]]]:
    async def go(session: Any) -> list[tuple[int | None, str, dict[str, Any]]]:
        rows = (await session.execute(select(AuditLog).where(AuditLog.action == "account.invite"))).scalars()
        return [(r.account_id, r.target, r.detail or {}) for r in rows]

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_the_owner_invites_staff_from_the_home_page(client: TestClient[Any], settings: Settings) -> None:
    owner = make_staff(settings, "owner", "owner")
    staff_login(client, "owner")
    home = client.get("/staff").text
    assert 'id="invite-staff"' in home and "邀请工作人员" in home
    assert re.search(r'<form method="post" action="/staff/invitations"', home)

    r = client.post("/staff/invitations", data={"display_name": "  王老师 "})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"  # the link is a credential until it is used
    page = r.text
    url = html.unescape(re.search(r'data-testid="setup-url">([^<]+)<', page).group(1))  # type: ignore[union-attr]
    assert url.startswith(f"{settings.base_url}/setup/")
    assert "<svg" in page[page.index('class="qr"'):]
    assert "已邀请王老师" in page and "此链接只显示这一次" in page

    [(account_id, roles)] = _accounts_named(settings, "王老师")
    assert roles == ["staff"]
    assert _invite_audit(settings) == [(owner, f"account:{account_id}", {"display_name": "王老师"})]

    # The link works once: it opens the password setup page, and the new staff member lands on the staff pages.
    token = url.rsplit("/setup/", 1)[1]
    with _other_client(settings) as new:
        setup = new.get(f"/setup/{token}")
        assert setup.status_code == 200 and "设置账号" in setup.text and 'name="password"' in setup.text
        done = new.post(f"/setup/{token}", data={"username": "wang", "password": PASSWORD, "password2": PASSWORD},
                        follow_redirects=False)
        assert done.status_code in (302, 303), done.text
        assert new.get("/api/me").json()["roles"] == [{"role": "staff", "contest_id": None, "venue_id": None}]
        assert new.get(f"/setup/{token}").status_code == 404  # used


def test_a_blank_name_creates_nothing(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "owner", "owner")
    staff_login(client, "owner")
    before = run_db(settings, lambda s: s.scalar(select(func.count(Account.id))))
    r = client.post("/staff/invitations", data={"display_name": "   "})
    assert r.status_code == 400
    assert "请填写新工作人员的姓名" in r.text and 'id="invite-staff"' in r.text  # the form again, with the reason
    assert client.post("/api/staff/invitations", json={"display_name": "  "}).status_code == 400
    assert run_db(settings, lambda s: s.scalar(select(func.count(Account.id)))) == before
    assert _invite_audit(settings) == []


def test_staff_who_are_not_the_owner_cannot_invite(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "helper", "staff")
    staff_login(client, "helper")
    home = client.get("/staff")
    assert home.status_code == 200
    assert 'id="invite-staff"' not in home.text and "/staff/invitations" not in home.text
    r = client.post("/staff/invitations", data={"display_name": "李四"}, headers={"accept": "text/html"})
    assert r.status_code == 403
    assert _accounts_named(settings, "李四") == []
    assert _invite_audit(settings) == []
