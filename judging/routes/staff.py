"""Staff routes (association staff and the owner): contests overview, people and login links, audit log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import msgspec
import segno
from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from judging import accounts as staff_accounts
from judging.accounts import SETUP_LINK_TTL, invite_staff, link_url, reissue_login_link, revoke_tokens, setup_url
from judging.audit import record
from judging.auth import Principal, requires_owner, requires_staff
from judging.db.models import Account, AuditLog, Contest, Entry, PanelMember, Person, RoleGrant, TopicType, Venue
from judging.errors import PodiumError, Refusal
from judging.staff.web import HANDLERS as STAFF_CONSOLE
from judging.staff.web import _bad
from judging.web import client_ip, principal_of, render


class ContestSummary(msgspec.Struct):
    id: int
    name: str
    year: int
    venues: int
    entries: int
    people: int


class LinkOut(msgspec.Struct):
    account_id: int
    url: str


class Revoked(msgspec.Struct):
    account_id: int
    revoked_tokens: int


NAME_MAX = 100  # a staff member's display name (the API's InviteIn and the page's form)
NAME_REQUIRED = "Give the new staff member's name (at most 100 characters)."


class InviteIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX)]


class InviteForm(msgspec.Struct):
    display_name: str = ""


class InviteOut(msgspec.Struct):
    account_id: int
    setup_url: str


class AuditRow(msgspec.Struct):
    id: int
    at: datetime
    account_id: int | None
    who: str
    action: str
    contest_id: int | None
    entry_id: int | None
    target: str
    reason: str
    detail: dict[str, Any]
    ip: str
    target_name: str = ""
    """What ``target`` names, as people know it (an account's or person's name, a venue's or contest's name, an
    entry's code, a topic type's Chinese name); "" for other targets or one deleted since."""


class ReasonForm(msgspec.Struct):
    reason: str = ""
    back: str = ""


REASON_MAX = 500


class DisableIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX)] = ""


class AccountStateOut(msgspec.Struct):
    account_id: int
    state: str
    revoked_tokens: int


def _me(request: Request[Any, Any, Any]) -> Principal:
    p = principal_of(request)
    assert p is not None  # the router's guard guarantees it
    return p


async def _contest_summaries(session: Any) -> list[ContestSummary]:
    contests = (await session.execute(select(Contest).order_by(Contest.year.desc(), Contest.id))).scalars().all()
    out = []
    for c in contests:
        venues = await session.scalar(select(func.count(Venue.id)).where(Venue.contest_id == c.id))
        entries = await session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == c.id))
        people = await session.scalar(select(func.count(Person.id)).where(Person.contest_id == c.id))
        out.append(ContestSummary(c.id, c.name, c.year, venues or 0, entries or 0, people or 0))
    return out


@get("/api/staff/contests", summary="List contests", tags=["staff"])
async def list_contests(request: Request[Any, Any, Any]) -> list[ContestSummary]:
    async with request.app.state.db.read() as session:
        return await _contest_summaries(session)


async def _account_or_404(session: Any, account_id: FromPath[int]) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise PodiumError(f"There is no account {account_id}.", code="not_found", status_code=404)
    return account


async def _reissue(request: Request[Any, Any, Any], account_id: FromPath[int], reason: str) -> tuple[Account, str]:
    state = request.app.state
    async with state.db.write() as session:
        account = await _account_or_404(session, account_id)
        roles = await staff_accounts.roles_of(session, account_id)
        if roles & {"owner", "staff"}:
            raise PodiumError("Staff accounts log in with a password, not a login link.", code="not_allowed",
                              status_code=409)
        raw = await reissue_login_link(session, state.settings.secret, account_id)
        record(session, _me(request), "token.reissue", target=f"account:{account_id}", reason=reason,
               ip=client_ip(request))
    return account, link_url(state.settings.base_url, raw)


async def _revoke(request: Request[Any, Any, Any], account_id: FromPath[int], reason: str) -> int:
    async with request.app.state.db.write() as session:
        await _account_or_404(session, account_id)
        if account_id == _me(request).account_id:
            raise PodiumError("You cannot revoke your own access.", code="not_allowed", status_code=409)
        roles = await staff_accounts.roles_of(session, account_id)
        if "owner" in roles:
            raise PodiumError("The owner's access cannot be revoked.", code="not_allowed", status_code=409)
        if "staff" in roles and not _me(request).is_owner:
            raise PodiumError("Only the owner may end a staff member's sessions (on the staff accounts page).",
                              code="forbidden", status_code=403)
        n = await revoke_tokens(session, account_id, ("login_link", "session", "setup"))
        record(session, _me(request), "token.revoke", target=f"account:{account_id}", reason=reason,
               ip=client_ip(request), revoked=n)
    return n


@post("/api/staff/accounts/{account_id:int}/login-link", summary="Reissue a personal login link", tags=["staff"],
      status_code=200)
async def reissue_link_api(request: Request[Any, Any, Any], account_id: FromPath[int]) -> LinkOut:
    """Revokes the account's earlier links and sessions and returns a new login link (for its QR code)."""
    _, url = await _reissue(request, account_id, "")
    return LinkOut(account_id, url)


@post("/api/staff/accounts/{account_id:int}/revoke", summary="Revoke all tokens of an account", tags=["staff"],
      status_code=200)
async def revoke_api(request: Request[Any, Any, Any], account_id: FromPath[int]) -> Revoked:
    return Revoked(account_id, await _revoke(request, account_id, ""))


async def _invite(request: Request[Any, Any, Any], display_name: str) -> tuple[Account, str]:
    """A staff account without a password and its one-time setup link (audited); the API and the owner's form on
    the staff home page both invite through here. The link is not stored (only its hash): it is shown once."""
    name = display_name.strip()
    if not name or len(name) > NAME_MAX:
        raise PodiumError(NAME_REQUIRED, code="invalid", status_code=400)
    state = request.app.state
    async with state.db.write() as session:
        account, raw = await invite_staff(session, state.settings.secret, name)
        record(session, _me(request), "account.invite", target=f"account:{account.id}", ip=client_ip(request),
               display_name=account.display_name)
    return account, setup_url(state.settings.base_url, raw)


@post("/api/staff/invitations", summary="Invite a staff member (owner only)", tags=["staff"],
      guards=[requires_owner])
async def invite_api(request: Request[Any, Any, Any], data: JSONBody[InviteIn]) -> InviteOut:
    """Creates a staff account without a password; the returned one-time link lets its owner choose one."""
    account, url = await _invite(request, data.display_name)
    return InviteOut(account.id, url)


# ------------------------------------------------------------------------------------- staff accounts (owner)
async def _new_setup_link(request: Request[Any, Any, Any], account_id: int) -> tuple[Account, str]:
    """A new one-time setup link for a staff account (audited; earlier setup links stop working)."""
    state = request.app.state
    me = _me(request)
    async with state.db.write() as session:
        try:
            account, raw = await staff_accounts.new_setup_link(session, state.settings.secret, account_id,
                                                               me.account_id)
        except staff_accounts.AccountRefusal as exc:
            raise _bad(exc, exc.code, exc.status_code) from None
        record(session, me, "account.setup_link", target=f"account:{account_id}", ip=client_ip(request),
               display_name=account.display_name)
    return account, setup_url(state.settings.base_url, raw)


async def _set_disabled(request: Request[Any, Any, Any], account_id: int, disabled: bool, reason: str
                        ) -> AccountStateOut:
    me = _me(request)
    if len(reason) > REASON_MAX:
        raise _bad(Refusal("the reason is too long (at most {max} characters)", max=REASON_MAX))
    async with request.app.state.db.write() as session:
        try:
            account, revoked = await staff_accounts.set_disabled(session, account_id, me.account_id, disabled)
        except staff_accounts.AccountRefusal as exc:
            raise _bad(exc, exc.code, exc.status_code) from None
        record(session, me, "account.disable" if disabled else "account.enable", target=f"account:{account_id}",
               reason=reason.strip(), ip=client_ip(request), display_name=account.display_name, revoked=revoked)
        state = "disabled" if disabled else "active" if account.password_hash else "pending"
    return AccountStateOut(account_id, state, revoked)


@get("/api/staff/accounts", summary="Staff accounts (owner only)", tags=["staff"], guards=[requires_owner])
async def staff_accounts_api(request: Request[Any, Any, Any]) -> list[staff_accounts.StaffAccount]:
    """The owner and every staff member: state (active, pending: invited without a password yet, disabled), the
    expiry of an open setup link, and the last login."""
    async with request.app.state.db.read() as session:
        return await staff_accounts.staff_accounts(session)


@post("/api/staff/accounts/{account_id:int}/setup-link", summary="New setup link for a staff member (owner only)",
      tags=["staff"], guards=[requires_owner], status_code=200)
async def setup_link_api(request: Request[Any, Any, Any], account_id: FromPath[int]) -> InviteOut:
    """For a lost invitation or a forgotten password: earlier setup links stop working; the password (if any)
    keeps working until the new link is used, which ends the account's other sessions. Not for the owner's own
    account (``podium users setup-link --account ID`` on the server) nor for a disabled one."""
    account, url = await _new_setup_link(request, account_id)
    return InviteOut(account.id, url)


@post("/api/staff/accounts/{account_id:int}/disable", summary="Disable a staff account (owner only)",
      tags=["staff"], guards=[requires_owner], status_code=200)
async def disable_api(request: Request[Any, Any, Any], account_id: FromPath[int],
                      data: JSONBody[DisableIn]) -> AccountStateOut:
    """The password stops working, and every session and open setup link ends on the next request."""
    return await _set_disabled(request, account_id, True, data.reason)


@post("/api/staff/accounts/{account_id:int}/enable", summary="Enable a disabled staff account (owner only)",
      tags=["staff"], guards=[requires_owner], status_code=200)
async def enable_api(request: Request[Any, Any, Any], account_id: FromPath[int],
                     data: JSONBody[DisableIn]) -> AccountStateOut:
    """The password works again; an account that never chose one needs a new setup link."""
    return await _set_disabled(request, account_id, False, data.reason)


async def _audit_rows(session: Any, who: int | None, action: str | None, entry_id: int | None,
                      since: datetime | None, until: datetime | None, limit: int) -> list[AuditRow]:
    stmt = select(AuditLog, Account.display_name).outerjoin(Account, Account.id == AuditLog.account_id)
    if who is not None:
        stmt = stmt.where(AuditLog.account_id == who)
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action))
    if entry_id is not None:
        stmt = stmt.where(AuditLog.entry_id == entry_id)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.at <= until)
    stmt = stmt.order_by(AuditLog.id.desc()).limit(limit)
    rows = [
        AuditRow(a.id, a.at, a.account_id, name or "", a.action, a.contest_id, a.entry_id, a.target, a.reason,
                 a.detail or {}, a.ip)
        for a, name in (await session.execute(stmt)).all()
    ]
    named = [r for r in rows if not r.action.startswith("import.")]  # an import's target is its file's name
    names = await _target_names(session, [r.target for r in named])
    for r in named:
        r.target_name = names.get(r.target, "")
    return rows


_TARGET_NAMES: dict[str, tuple[Any, Any]] = {
    "account": (Account.id, Account.display_name), "person": (Person.id, Person.name),
    "venue": (Venue.id, Venue.name), "contest": (Contest.id, Contest.name), "entry": (Entry.id, Entry.code),
    "topic_type": (TopicType.id, TopicType.name_zh),
}


_PLAIN_ID = re.compile(r"[0-9]{1,9}")
"""A stored id (ASCII digits, within an INTEGER column); not ``str.isdigit``, which takes "²"."""


async def _target_names(session: Any, targets: list[str]) -> dict[str, str]:
    """``{"venue:3": "第一分会场", ...}`` for the audit targets whose kind has a name: one query per kind."""
    ids: dict[str, set[int]] = {}
    for target in targets:
        kind, _, ident = target.partition(":")
        if kind in _TARGET_NAMES and _PLAIN_ID.fullmatch(ident):
            ids.setdefault(kind, set()).add(int(ident))
    out: dict[str, str] = {}
    for kind, wanted in ids.items():
        key, name = _TARGET_NAMES[kind]
        for ident, label in (await session.execute(select(key, name).where(key.in_(sorted(wanted))))).all():
            out[f"{kind}:{ident}"] = label or ""
    return out


@get("/api/staff/audit", summary="Audit log", tags=["staff"])
async def audit_api(
    request: Request[Any, Any, Any], who: FromQuery[int | None] = None, action: FromQuery[str | None] = None,
    entry_id: FromQuery[int | None] = None, since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> list[AuditRow]:
    async with request.app.state.db.read() as session:
        return await _audit_rows(session, who, action, entry_id, since, until, limit)


# ---------------------------------------------------------------------------------------------- pages
async def _home(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    async with request.app.state.db.read() as session:
        contests = await _contest_summaries(session)
    return render(request, "staff/home.html", status_code, contests=contests, name_max=NAME_MAX, **context)


@get("/staff", include_in_schema=False)
async def staff_home(request: Request[Any, Any, Any]) -> Template:
    return await _home(request)


@post("/staff/invitations", include_in_schema=False, guards=[requires_owner], status_code=200)
async def invite_page(request: Request[Any, Any, Any],
                      data: Annotated[InviteForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
    """The owner's "invite a staff member" form (staff home page): the new account's one-time setup link and its
    QR code, shown this once (not cached: the link is a credential until it is used)."""
    name = data.display_name.strip()
    if not name or len(name) > NAME_MAX:
        return await _home(request, 400, invite_error=NAME_REQUIRED, invite_name=data.display_name[:NAME_MAX])
    account, url = await _invite(request, name)
    qr = segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True)  # viewBox: sized by the page
    page = render(request, "staff/invite_issued.html", account=account, url=url, qr=qr, days=SETUP_LINK_TTL.days)
    page.headers["Cache-Control"] = "no-store"
    return page


@get("/staff/contests/{contest_id:int}/people", include_in_schema=False)
async def people_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await session.get(Contest, contest_id)
        if contest is None:
            raise PodiumError(f"There is no contest {contest_id}.", code="not_found", status_code=404)
        venues = {v.id: v for v in (await session.execute(
            select(Venue).where(Venue.contest_id == contest_id))).scalars()}
        accounts = (await session.execute(
            select(Account).options(selectinload(Account.roles))
            .join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.contest_id == contest_id).distinct().order_by(Account.id)
        )).scalars().all()
        chiefs = {(m.venue_id, m.person_id) for m in (await session.execute(
            select(PanelMember).where(PanelMember.is_chief))).scalars()}
    return render(request, "staff/people.html", contest=contest, accounts=accounts, venues=venues,
                  chiefs=chiefs, issued=None)


@post("/staff/accounts/{account_id:int}/reissue", include_in_schema=False)
async def reissue_page(
    request: Request[Any, Any, Any], account_id: FromPath[int],
    data: Annotated[ReasonForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    account, url = await _reissue(request, account_id, data.reason)
    qr = segno.make(url, error="m").svg_inline(scale=5)
    page = render(request, "staff/link_issued.html", account=account, url=url, qr=qr, back=data.back)
    page.headers["Cache-Control"] = "no-store"  # a login link is a credential
    return page


@post("/staff/accounts/{account_id:int}/revoke", include_in_schema=False)
async def revoke_page(
    request: Request[Any, Any, Any], account_id: FromPath[int],
    data: Annotated[ReasonForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    await _revoke(request, account_id, data.reason)
    back = data.back if data.back.startswith("/staff") else "/staff"
    return Redirect(back)


@get("/staff/accounts", include_in_schema=False, guards=[requires_owner])
async def accounts_page(request: Request[Any, Any, Any]) -> Template:
    async with request.app.state.db.read() as session:
        rows = await staff_accounts.staff_accounts(session)
    return render(request, "staff/accounts.html", accounts=rows, me=_me(request).account_id, reason_max=REASON_MAX,
                  days=SETUP_LINK_TTL.days)


@post("/staff/accounts/{account_id:int}/setup-link", include_in_schema=False, guards=[requires_owner],
      status_code=200)
async def setup_link_page(request: Request[Any, Any, Any], account_id: FromPath[int]) -> Template:
    """The new setup link and its QR code, shown this once (not cached: a credential until it is used)."""
    account, url = await _new_setup_link(request, account_id)
    qr = segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True)
    page = render(request, "staff/invite_issued.html", account=account, url=url, qr=qr, days=SETUP_LINK_TTL.days,
                  again=True)
    page.headers["Cache-Control"] = "no-store"
    return page


@post("/staff/accounts/{account_id:int}/disable", include_in_schema=False, guards=[requires_owner])
async def disable_page(request: Request[Any, Any, Any], account_id: FromPath[int],
                       data: Annotated[ReasonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
    await _set_disabled(request, account_id, True, data.reason)
    return Redirect("/staff/accounts")


@post("/staff/accounts/{account_id:int}/enable", include_in_schema=False, guards=[requires_owner])
async def enable_page(request: Request[Any, Any, Any], account_id: FromPath[int],
                      data: Annotated[ReasonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
    await _set_disabled(request, account_id, False, data.reason)
    return Redirect("/staff/accounts")


@get("/staff/audit", include_in_schema=False)
async def audit_page(request: Request[Any, Any, Any], action: FromQuery[str | None] = None,
                     entry_id: FromQuery[int | None] = None, who: FromQuery[int | None] = None) -> Template:
    async with request.app.state.db.read() as session:
        rows = await _audit_rows(session, who, action, entry_id, None, None, 500)
    return render(request, "staff/audit.html", rows=rows, action=action or "", entry_id=entry_id, who=who)


router = Router(
    path="/",
    route_handlers=[list_contests, reissue_link_api, revoke_api, invite_api, staff_accounts_api, setup_link_api,
                    disable_api, enable_api, audit_api, staff_home, invite_page, accounts_page, setup_link_page,
                    disable_page, enable_page, people_page, reissue_page, revoke_page, audit_page, *STAFF_CONSOLE],
    guards=[requires_staff],
    tags=["staff"],
)
