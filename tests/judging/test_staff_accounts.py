"""The owner manages staff accounts ("工作人员账号", ``/staff/accounts`` and ``/api/staff/accounts``): a new setup link
for a lost invitation or a forgotten password, disabling someone who left (sessions end at once, the password
stops working) and enabling them again. Other staff are refused; the owner's own account is changed only from the
server's shell (``podium users setup-link --account ID``). Every change is audited."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from judging.db.models import Account, AuditLog
from judging.settings import Settings
from tests.conftest import run_db
from tests.helpers import PASSWORD, make_staff, staff_login

NEW_PASSWORD = "a different passphrase"


def _client(settings: Settings) -> TestClient[Any]:
    """Another browser (its own app instance: two test clients must not share one app's event loop)."""
    from judging.app import create_app

    return TestClient(create_app(settings), base_url="http://podium.test")


def _audit(settings: Settings, prefix: str) -> list[tuple[int | None, str, str, dict[str, Any]]]:
    async def go(session: Any) -> list[tuple[int | None, str, str, dict[str, Any]]]:
        rows = (await session.execute(select(AuditLog).where(AuditLog.action.startswith(prefix))
                                      .order_by(AuditLog.id))).scalars()
        return [(r.account_id, r.action, r.target, r.detail or {}) for r in rows]

    return run_db(settings, go)  # type: ignore[no-any-return]


def _account(settings: Settings, account_id: int) -> Account:
    return run_db(settings, lambda s: s.get(Account, account_id))  # type: ignore[no-any-return]


def _setup(client: TestClient[Any], url: str, username: str, password: str) -> int:
    token = url.rsplit("/setup/", 1)[1]
    return client.post(f"/setup/{token}", data={"username": username, "password": password, "password2": password},
                       follow_redirects=False).status_code


def test_the_owner_lists_staff_accounts_with_their_state(client: TestClient[Any], settings: Settings) -> None:
    owner = make_staff(settings, "owner", "owner")
    helper = make_staff(settings, "helper", "staff")
    staff_login(client, "owner")
    invited = client.post("/api/staff/invitations", json={"display_name": "王老师"}).json()["account_id"]
    rows = {a["id"]: a for a in client.get("/api/staff/accounts").json()}
    assert list(rows) == [owner, helper, invited]  # the owner first
    assert (rows[owner]["role"], rows[owner]["state"]) == ("owner", "active")
    assert rows[owner]["last_login_at"] is not None  # this session
    assert (rows[helper]["state"], rows[helper]["last_login_at"], rows[helper]["setup_link_until"]) == \
        ("active", None, None)
    assert rows[invited]["state"] == "pending" and rows[invited]["username"] is None
    assert rows[invited]["setup_link_until"] is not None

    page = client.get("/staff/accounts")
    assert page.status_code == 200
    assert "工作人员账号" in page.text and "待设置密码" in page.text and "设置链接有效期至" in page.text
    assert f'action="/staff/accounts/{helper}/disable"' in page.text
    assert f'action="/staff/accounts/{owner}/' not in page.text  # no action on the owner's own row
    assert 'href="/staff/accounts"' in client.get("/staff").text  # in the owner's navigation
    assert "Staff accounts" in client.get("/staff/accounts?lang=en").text


def test_a_lost_invitation_gets_a_new_link_and_the_old_one_stops(client: TestClient[Any], settings: Settings) -> None:
    owner = make_staff(settings, "owner", "owner")
    staff_login(client, "owner")
    first = client.post("/api/staff/invitations", json={"display_name": "王老师"}).json()
    account_id = first["account_id"]

    r = client.post(f"/staff/accounts/{account_id}/setup-link")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"  # a credential until it is used
    assert "王老师的新设置链接" in r.text and "<svg" in r.text
    url = html.unescape(re.search(r'data-testid="setup-url">([^<]+)<', r.text).group(1))  # type: ignore[union-attr]
    assert url.startswith(f"{settings.base_url}/setup/") and url != first["setup_url"]

    with _client(settings) as new:
        assert new.get(first["setup_url"].replace(settings.base_url, "")).status_code == 404  # replaced
        assert _setup(new, url, "wang", PASSWORD) in (302, 303)
        assert new.get("/api/me").json()["account_id"] == account_id
    assert [(a, act, t) for a, act, t, _ in _audit(settings, "account.setup_link")] == \
        [(owner, "account.setup_link", f"account:{account_id}")]


def test_a_forgotten_password_is_reset_and_other_sessions_end(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "owner", "owner")
    helper = make_staff(settings, "helper", "staff")
    staff_login(client, "owner")
    with _client(settings) as old_device, _client(settings) as new_device:
        assert staff_login(old_device, "helper").status_code == 201
        url = client.post(f"/api/staff/accounts/{helper}/setup-link").json()["setup_url"]
        # Until the link is used, the password still works and the session stays.
        assert old_device.get("/api/me").status_code == 200
        assert staff_login(new_device, "helper").status_code == 201
        new_device.cookies.clear()
        assert _setup(new_device, url, "helper", NEW_PASSWORD) in (302, 303)
        assert new_device.get("/api/me").status_code == 200  # the session the setup opened
        assert old_device.get("/api/me").status_code == 401  # a session under the old password ended
    with _client(settings) as other:
        assert staff_login(other, "helper").status_code == 401
        assert staff_login(other, "helper", NEW_PASSWORD).status_code == 201


def test_disabling_ends_sessions_at_once_and_enabling_restores_the_password(client: TestClient[Any],
                                                                            settings: Settings) -> None:
    owner = make_staff(settings, "owner", "owner")
    helper = make_staff(settings, "helper", "staff")
    staff_login(client, "owner")
    with _client(settings) as theirs:
        assert staff_login(theirs, "helper").status_code == 201
        r = client.post(f"/staff/accounts/{helper}/disable", data={"reason": "调离协会"}, follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"] == "/staff/accounts"
        assert theirs.get("/api/staff/contests").status_code == 401  # the very next request
        assert staff_login(theirs, "helper").status_code == 401  # the password no longer works
        assert 'data-state="disabled"' in client.get("/staff/accounts").text
        # No new setup link for a disabled account: enabling is a separate, deliberate step.
        refused = client.post(f"/api/staff/accounts/{helper}/setup-link")
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "disabled")

        out = client.post(f"/api/staff/accounts/{helper}/enable", json={"reason": "返岗"}).json()
        assert out == {"account_id": helper, "state": "active", "revoked_tokens": 0}
        assert staff_login(theirs, "helper").status_code == 201
    assert [(a, act, t, d["revoked"]) for a, act, t, d in _audit(settings, "account.")] == [
        (owner, "account.disable", f"account:{helper}", 1), (owner, "account.enable", f"account:{helper}", 0)]


def test_what_the_owner_may_not_change_here(client: TestClient[Any], settings: Settings, demo: int) -> None:
    owner = make_staff(settings, "owner", "owner")
    staff_login(client, "owner")
    judge = run_db(settings, lambda s: s.scalar(select(Account.id).where(Account.person_id.is_not(None)).limit(1)))
    for account_id, code, status in ((owner, "not_allowed", 409), (judge, "not_staff", 409),
                                     (999_999, "not_found", 404)):
        for action, body in (("setup-link", None), ("disable", {"reason": ""}), ("enable", {"reason": ""})):
            r = client.post(f"/api/staff/accounts/{account_id}/{action}", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (account_id, action, r.text)
    assert not _account(settings, owner).disabled and not _account(settings, judge).disabled
    # A staff form gets the refusal page in Chinese, not a bare error.
    page = client.post(f"/staff/accounts/{judge}/disable", data={"reason": "x"}, headers={"accept": "text/html"})
    assert page.status_code == 409 and "不是工作人员账号" in page.text
    long = client.post(f"/api/staff/accounts/{owner}/disable", json={"reason": "x" * 501})
    assert long.status_code == 400
    assert _audit(settings, "account.") == []


def test_staff_who_are_not_the_owner_are_refused(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "owner", "owner")
    make_staff(settings, "helper", "staff")
    other = make_staff(settings, "other", "staff")
    owner_id = run_db(settings, lambda s: s.scalar(select(Account.id).where(Account.username == "owner")))
    staff_login(client, "helper")
    assert client.get("/api/staff/accounts").status_code == 403
    assert client.get("/staff/accounts", headers={"accept": "text/html"}).status_code == 403
    assert 'href="/staff/accounts"' not in client.get("/staff").text
    for action in ("setup-link", "disable", "enable"):
        assert client.post(f"/api/staff/accounts/{other}/{action}", json={"reason": ""}).status_code == 403
    # Nor can they end a colleague's or the owner's sessions through the judges' revoke.
    assert client.post(f"/api/staff/accounts/{other}/revoke").status_code == 403
    assert client.post(f"/api/staff/accounts/{owner_id}/revoke").status_code == 409
    assert not _account(settings, other).disabled
    assert _audit(settings, "account.") == []


def test_the_audit_page_names_actions_in_the_viewers_language(client: TestClient[Any], settings: Settings) -> None:
    make_staff(settings, "owner", "owner")
    staff_login(client, "owner")
    client.post("/api/staff/invitations", json={"display_name": "王老师"})
    page = client.get("/staff/audit").text
    assert "登录 <code class=\"muted\">auth.login</code>" in page
    assert "邀请工作人员 <code class=\"muted\">account.invite</code>" in page and "时间 (UTC+08:00)" in page
    from judging.db.models import Venue

    contest = client.post("/api/staff/contests", json={"name": "2026年赛事", "year": 2026}).json()["id"]
    client.post(f"/staff/contests/{contest}/setup/venues", data={"code": "V1", "name": "第一分会场"})
    venue = run_db(settings, lambda s: s.scalar(select(Venue.id).where(Venue.contest_id == contest)))
    client.post(f"/staff/contests/{contest}/qr/{venue}/screens")
    page = client.get("/staff/audit").text
    assert "打印二维码登录单 <code" in page and "<td>打印二维码登录单</td>" in page  # the action, and its reason
    english = client.get("/staff/audit?lang=en").text
    assert "Logged in <code class=\"muted\">auth.login</code>" in english
    # Targets are named as people know them, with the stored reference beside.
    invited = run_db(settings, lambda s: s.scalar(select(Account.id).where(Account.display_name == "王老师")))
    assert f'王老师 <code class="muted">account:{invited}</code>' in page
    assert f'第一分会场 <code class="muted">venue:{venue}</code>' in page
    rows = client.get("/api/staff/audit").json()
    assert {(r["target"], r["target_name"]) for r in rows if r["action"] == "account.invite"} == {
        (f"account:{invited}", "王老师")}
    # Targets that only look like references are shown as written: an import's file name (whatever it is called),
    # digits that are not ASCII, an id beyond the column. None of them breaks the page.
    async def odd(session: Any) -> None:
        for action, target in (("import.entries", f"venue:{venue}"), ("account.invite", "account:²"),
                               ("account.invite", "entry:99999999999")):
            session.add(AuditLog(action=action, target=target, contest_id=contest))
        await session.commit()

    run_db(settings, odd)
    rows = client.get("/api/staff/audit").json()
    assert {(r["target"], r["target_name"]) for r in rows if r["target"] in (
        f"venue:{venue}", "account:²", "entry:99999999999")} == {
        (f"venue:{venue}", ""), (f"venue:{venue}", "第一分会场"), ("account:²", ""), ("entry:99999999999", "")}
    page = client.get("/staff/audit")
    assert page.status_code == 200 and "account:²" in page.text
