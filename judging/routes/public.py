"""Public routes: landing page, health, staff login, owner setup, personal login links, language."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import select, text, update

from judging import __version__
from judging.accounts import revoke_tokens
from judging.audit import record
from judging.auth import (
    Grant,
    Principal,
    check_password_strength,
    find_token,
    hash_password,
    issue_token,
    password_login,
)
from judging.db.base import utcnow
from judging.db.models import Account, AuthToken, RoleGrant
from judging.errors import PodiumError
from judging.i18n import LANG_COOKIE, LOCALES
from judging.web import clear_session_cookie, client_ip, principal_of, render, session_cookie


class Health(msgspec.Struct):
    status: str
    database: str
    version: str


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LoginOut(msgspec.Struct):
    token: str
    account_id: int
    display_name: str
    roles: list[str]


class Me(msgspec.Struct):
    account_id: int
    display_name: str
    person_id: int | None
    roles: list[dict[str, Any]]


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = ""


class SetupForm(msgspec.Struct):
    username: str = ""
    display_name: str = ""
    password: str = ""
    password2: str = ""


def home_for(p: Principal) -> str:
    if p.is_staff:
        return "/staff"
    if p.roles & {"judge", "chief_judge", "reviewer"}:
        return "/judge"
    if "host" in p.roles and p.venues("host"):
        return f"/venue/{min(p.venues('host'))}"
    if "display" in p.roles and p.venues("display"):
        return f"/screen/{min(p.venues('display'))}"
    return "/"


def _safe_next(target: str) -> str:
    # Only same-site relative paths: never redirect to another host after login.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


@get("/", include_in_schema=False)
async def index(request: Request[Any, Any, Any]) -> Template | Redirect:
    p = principal_of(request)
    if p is not None and home_for(p) != "/":
        return Redirect(home_for(p))
    return render(request, "index.html")


@get("/healthz", summary="Health check")
async def health(request: Request[Any, Any, Any]) -> Health:
    async with request.app.state.db.read() as session:
        await session.execute(text("SELECT 1"))
    return Health(status="ok", database="ok", version=__version__)


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template:
    return render(request, "login.html", next=_safe_next(request.query_params.get("next", "")), error=None)


@post("/login", include_in_schema=False)
async def login_form(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    state = request.app.state
    try:
        async with state.db.write() as session:
            raw, account = await password_login(session, state.login_limiter, state.settings.secret,
                                                data.username, data.password)
            record(session, None, "auth.login", target=f"account:{account.id}", ip=client_ip(request))
    except PodiumError as exc:
        return render(request, "login.html", status_code=exc.status_code, next=_safe_next(data.next),
                      error=exc.code, retry=(exc.payload or {}).get("retry_after"))
    target = _safe_next(data.next) or "/"
    return Redirect(target, cookies=[session_cookie(raw)])


@post("/api/auth/login", summary="Staff login (password)", tags=["auth"])
async def login_api(request: Request[Any, Any, Any], data: JSONBody[LoginIn]) -> Response[LoginOut]:
    """Returns a session token (also set as the ``podium_session`` cookie). Rate limited per account."""
    state = request.app.state
    async with state.db.write() as session:
        raw, account = await password_login(session, state.login_limiter, state.settings.secret,
                                            data.username, data.password)
        roles = sorted({g.role for g in (await session.execute(
            select(RoleGrant).where(RoleGrant.account_id == account.id))).scalars()})
        record(session, None, "auth.login", target=f"account:{account.id}", ip=client_ip(request))
    return Response(LoginOut(raw, account.id, account.display_name, roles), cookies=[session_cookie(raw)])


@post("/logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    p = principal_of(request)
    if p is not None:
        async with request.app.state.db.write() as session:
            await session.execute(update(AuthToken).where(AuthToken.id == p.token_id).values(revoked_at=utcnow()))
    return Redirect("/", cookies=[clear_session_cookie()])


@get("/api/me", summary="Who am I", tags=["auth"])
async def me(request: Request[Any, Any, Any]) -> Me:
    p = principal_of(request)
    if p is None:
        raise PodiumError("Not logged in.", code="not_authenticated", status_code=401)
    return Me(p.account_id, p.display_name, p.person_id,
              [{"role": g.role, "contest_id": g.contest_id, "venue_id": g.venue_id} for g in p.grants])


@get("/j/{token:str}", include_in_schema=False)
async def login_link(request: Request[Any, Any, Any], token: FromPath[str]) -> Redirect | Template:
    """A personal login link (the QR code): opens a session for its judge, reviewer, host or screen."""
    state = request.app.state
    async with state.db.write() as session:
        link = await find_token(session, state.settings.secret, token, ("login_link",))
        if link is None or link.account_id is None:
            return render(request, "link_invalid.html", status_code=404)
        link.last_used_at = utcnow()
        raw, _ = await issue_token(session, state.settings.secret, "session", link.account_id, parent_id=link.id)
        grants = (await session.execute(select(RoleGrant).where(RoleGrant.account_id == link.account_id))).scalars()
        account = await session.get(Account, link.account_id)
        p = Principal(link.account_id, account.display_name if account else "", None, 0,
                      tuple(_grant(g) for g in grants))
    return Redirect(home_for(p), cookies=[session_cookie(raw)])


def _grant(g: RoleGrant) -> Grant:
    return Grant(g.role, g.contest_id, g.venue_id)


async def _owner_exists(session: Any) -> bool:
    return (await session.execute(select(RoleGrant.id).where(RoleGrant.role == "owner").limit(1))).first() is not None


@get("/setup/{token:str}", include_in_schema=False)
async def setup_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    state = request.app.state
    async with state.db.read() as session:
        valid = await find_token(session, state.settings.secret, token, ("setup",)) is not None
    return render(request, "setup.html", valid=valid, error=None, form=SetupForm(), status_code=200 if valid else 404)


@post("/setup/{token:str}", include_in_schema=False)
async def setup_submit(
    request: Request[Any, Any, Any], token: FromPath[str],
    data: Annotated[SetupForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    """Complete a one-time setup link: the owner (or a new staff member) chooses a user name and password."""
    state = request.app.state
    secret = state.settings.secret
    username = data.username.strip()
    error = None
    if not username or len(username) > 80:
        error = "Choose a user name (1 to 80 characters)."
    elif data.password != data.password2:
        error = "The two passwords differ."
    else:
        error = check_password_strength(data.password, username)
    async with state.db.write() as session:
        link = await find_token(session, secret, token, ("setup",))
        if link is None:
            return render(request, "setup.html", valid=False, error=None, form=data, status_code=404)
        taken = (await session.execute(select(Account.id).where(Account.username == username))).first()
        if error is None and taken is not None and taken[0] != link.account_id:
            error = "This user name is taken."
        if error is not None:
            return render(request, "setup.html", valid=True, error=error, form=data, status_code=400)
        if link.account_id is None:
            # The first-run link: it creates the owner, and only while no owner exists.
            if await _owner_exists(session):
                return render(request, "setup.html", valid=False, error=None, form=data, status_code=404)
            account = Account(username=username, display_name=data.display_name.strip() or username)
            session.add(account)
            await session.flush()
            session.add(RoleGrant(account_id=account.id, role="owner"))
        else:
            account = await session.get(Account, link.account_id)
            if account is None or account.disabled:
                return render(request, "setup.html", valid=False, error=None, form=data, status_code=404)
            if account.password_hash is not None:
                # A password reset: whoever held a session under the old password is out.
                await revoke_tokens(session, account.id)
            account.username = username
            if data.display_name.strip():
                account.display_name = data.display_name.strip()
        account.password_hash = hash_password(data.password)
        link.revoked_at = utcnow()
        await session.flush()
        raw, _ = await issue_token(session, secret, "session", account.id)
        record(session, None, "account.setup", target=f"account:{account.id}", ip=client_ip(request),
               username=username)
    return Redirect("/staff", cookies=[session_cookie(raw)])


@get("/lang/{code:str}", include_in_schema=False)
async def set_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Redirect:
    if code not in LOCALES:
        raise PodiumError(f"Unknown language {code!r}; use one of {', '.join(LOCALES)}.", status_code=404,
                          code="not_found")
    back = _safe_next(request.query_params.get("next", "")) or "/"
    return Redirect(back, cookies=[Cookie(key=LANG_COOKIE, value=code, max_age=365 * 86400, samesite="lax")])


router = Router(
    path="/",
    route_handlers=[index, health, login_page, login_form, login_api, logout, me, login_link, setup_page,
                    setup_submit, set_language],
    tags=["public"],
)
