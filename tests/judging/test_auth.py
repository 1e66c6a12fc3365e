"""Accounts done right: owner setup link, password login, per-account rate limit, login links, revocation,
guards by audience, audit entries."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from judging import accounts
from judging.db.models import Account, AuditLog, AuthToken, RoleGrant
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import PASSWORD, account_with_role, login_link, make_staff, staff_login


def _second_client(settings: Settings) -> TestClient[Any]:
    """Another browser: a client of its own app instance (as another server process would be). Two test
    clients must not share one app: each runs its own event loop, and loop-bound objects would be shared."""
    from judging.app import create_app

    return TestClient(create_app(settings), base_url="http://podium.test")


def _setup_token(settings: Settings) -> str:
    async def go(session: Any) -> str | None:
        return await accounts.new_owner_setup_token(session, settings.secret)

    token = run_db(settings, go)
    assert token
    return str(token)


def _audit_actions(settings: Settings) -> list[str]:
    async def go(session: Any) -> list[str]:
        return list((await session.execute(select(AuditLog.action).order_by(AuditLog.id))).scalars())

    return list(run_db(settings, go))


def test_owner_setup_link_creates_owner_once(client: TestClient[Any], settings: Settings) -> None:
    token = _setup_token(settings)
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200 and "password" in page.text
    weak = client.post(f"/setup/{token}", data={"username": "li", "password": "short", "password2": "short"})
    assert weak.status_code == 400 and "10" in weak.text
    ok = client.post(f"/setup/{token}", data={"username": "li", "display_name": "李主任", "password": PASSWORD,
                                              "password2": PASSWORD}, follow_redirects=False)
    assert ok.status_code in (302, 303) and ok.headers["location"] == "/staff"
    assert client.get("/staff").status_code == 200  # logged in by the setup
    again = client.post(f"/setup/{token}", data={"username": "x", "password": PASSWORD, "password2": PASSWORD})
    assert again.status_code == 404

    async def owner(session: Any) -> tuple[str | None, str | None]:
        a = (await session.execute(select(Account).where(Account.username == "li"))).scalar_one()
        g = (await session.execute(select(RoleGrant).where(RoleGrant.account_id == a.id))).scalar_one()
        return a.password_hash, g.role

    hashed, role = run_db(settings, owner)
    assert role == "owner" and hashed and hashed.startswith("$argon2") and PASSWORD not in hashed
    # While an owner exists no new owner setup link is issued.
    assert run_db(settings, lambda s: accounts.new_owner_setup_token(s, settings.secret)) is None
    assert "account.setup" in _audit_actions(settings)


def test_no_default_credentials_exist(settings: Settings, demo: int) -> None:
    async def go(session: Any) -> list[Any]:
        return list((await session.execute(select(Account.password_hash).where(Account.password_hash.is_not(None))))
                    .scalars())

    assert run_db(settings, go) == []  # the demo creates no password at all


def test_password_login_and_wrong_password(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "zhang", "staff")
    bad = client.post("/api/auth/login", json={"username": "zhang", "password": "nope-nope-nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_credentials"
    ok = staff_login(client, "zhang")
    assert ok.status_code == 201 and ok.json()["roles"] == ["staff"]
    assert client.get("/api/staff/contests").status_code == 200
    # Bearer tokens work too (API clients).
    fresh = _second_client(settings)
    with fresh:
        r = fresh.get("/api/staff/contests", headers={"Authorization": f"Bearer {ok.json()['token']}"})
        assert r.status_code == 200


def test_login_rate_limited_per_account(client: TestClient[Any], settings: Settings) -> None:
    # Unique names: with Redis the failure counters outlive the test's database.
    wang, zhao = f"wang-{uuid.uuid4().hex[:8]}", f"zhao-{uuid.uuid4().hex[:8]}"
    make_staff(settings, wang, "staff")
    make_staff(settings, zhao, "staff")
    for _ in range(settings.login_max_failures):
        assert client.post("/api/auth/login", json={"username": wang, "password": "wrong-wrong"}).status_code == 401
    limited = client.post("/api/auth/login", json={"username": wang, "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) > 0
    # Another account behind the same address is not affected (venue tablets share one NAT address).
    assert staff_login(client, zhao).status_code == 201
    # The HTML form says so too.
    page = client.post("/login", data={"username": wang, "password": PASSWORD})
    assert page.status_code == 429 and "秒后再试" in page.text


def test_login_link_revocation_takes_effect_on_next_request(client: TestClient[Any], settings: Settings,
                                                            demo: int) -> None:
    judge = account_with_role(settings, "judge")
    token = login_link(settings, judge)
    r = client.get(f"/j/{token}", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"] == "/judge"
    assert client.get("/api/judge/home").status_code == 200

    make_staff(settings)
    staff = _second_client(settings)
    with staff:
        assert staff_login(staff).status_code == 201
        revoked = staff.post(f"/api/staff/accounts/{judge}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_tokens"] >= 2
    after = client.get("/api/judge/home")
    assert after.status_code == 401 and after.json()["error"]["code"] == "not_authenticated"
    assert client.get(f"/j/{token}").status_code == 404  # the link itself is dead too
    assert "token.revoke" in _audit_actions(settings)


def test_reissue_replaces_link(client: TestClient[Any], settings: Settings, demo: int) -> None:
    judge = account_with_role(settings, "judge")
    old = login_link(settings, judge)
    make_staff(settings)
    assert staff_login(client).status_code == 201
    r = client.post(f"/api/staff/accounts/{judge}/login-link")
    assert r.status_code == 200
    new_url = r.json()["url"]
    assert "/j/" in new_url and old not in new_url
    anon = _second_client(settings)
    with anon:
        assert anon.get(f"/j/{old}").status_code == 404
        assert anon.get("/j/" + new_url.rsplit("/j/", 1)[1], follow_redirects=False).status_code in (302, 303)
    page = client.post(f"/staff/accounts/{judge}/reissue", data={"reason": "平板丢失", "back": "/staff"})
    assert page.status_code == 200 and "/j/" in page.text
    assert page.headers["cache-control"] == "no-store"  # the page shows a credential
    # Staff accounts never get login links.
    owner = account_with_role(settings, "owner")
    assert client.post(f"/api/staff/accounts/{owner}/login-link").status_code == 409
    assert "token.reissue" in _audit_actions(settings)


def test_guards_by_audience(client: TestClient[Any], settings: Settings, demo: int) -> None:
    assert client.get("/api/staff/contests").status_code == 401
    assert client.get("/api/judge/home").status_code == 401
    judge = account_with_role(settings, "judge")
    client.get(f"/j/{login_link(settings, judge)}")
    denied = client.get("/api/staff/contests")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    screen = account_with_role(settings, "display")
    other = _second_client(settings)
    with other:
        r = other.get(f"/j/{login_link(settings, screen)}", follow_redirects=False)
        assert r.headers["location"].startswith("/screen/")
        assert other.get("/api/judge/home").status_code == 403
        assert other.get(r.headers["location"]).status_code == 200
        assert other.get("/screen/99999").status_code == 403  # another venue's screen


def test_html_pages_redirect_to_login(client: TestClient[Any]) -> None:
    r = client.get("/staff", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"] == "/login?next=/staff"


def test_staff_invitation_by_owner_only(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "owner", "owner")
    make_staff(settings, "helper", "staff")
    helper = _second_client(settings)
    with helper:
        staff_login(helper, "helper")
        assert helper.post("/api/staff/invitations", json={"display_name": "新同事"}).status_code == 403
    staff_login(client, "owner")
    r = client.post("/api/staff/invitations", json={"display_name": "新同事"})
    assert r.status_code == 201
    token = r.json()["setup_url"].rsplit("/setup/", 1)[1]
    new = _second_client(settings)
    with new:
        done = new.post(f"/setup/{token}", data={"username": "xin", "password": PASSWORD, "password2": PASSWORD},
                        follow_redirects=False)
        assert done.status_code in (302, 303)
        assert new.get("/api/me").json()["roles"] == [{"role": "staff", "contest_id": None, "venue_id": None}]


def test_tokens_stored_hashed(settings: Settings, demo: int) -> None:
    judge = account_with_role(settings, "judge")
    token = login_link(settings, judge)

    async def go(session: Any) -> list[str]:
        return list((await session.execute(select(AuthToken.token_hash))).scalars())

    hashes = run_db(settings, go)
    assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_logout_revokes_session(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings)
    staff_login(client)
    assert client.get("/api/me").status_code == 200
    client.post("/logout")
    assert client.get("/api/me").status_code == 401
