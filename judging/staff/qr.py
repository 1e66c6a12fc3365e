"""Printable A4 QR login sheets: one page per venue with each judge's name, role and personal QR code, and one
page per venue screen. Printing a sheet issues fresh login links (revoking the people's earlier links, so only
the latest printed sheet works); a single card can be revoked or reissued in one click from the people page."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.accounts import link_url, reissue_login_link
from judging.db.models import Account, PanelMember, Person, ReviewerAssignment, RoleGrant, Venue
from judging.staff.assignment import ensure_venue_accounts

ROLE_ORDER = {"chief_judge": 0, "judge": 1, "host": 2, "display": 3}


@dataclass(frozen=True)
class Card:
    account_id: int
    name: str
    role: str
    organization: str
    url: str
    svg: str


async def sheet_accounts(session: AsyncSession, venue_id: int, kind: str) -> list[tuple[Account, str, str]]:
    """(account, role, organization) of a venue's judges (``kind="judges"``) or screens (``"screens"``)."""
    roles = ("judge", "chief_judge", "host") if kind == "judges" else ("display",)
    rows = (await session.execute(
        select(Account, RoleGrant.role).join(RoleGrant, RoleGrant.account_id == Account.id)
        .where(RoleGrant.venue_id == venue_id, RoleGrant.role.in_(roles), Account.disabled.is_(False))
    )).all()
    chiefs = {m.person_id for m in (await session.execute(
        select(PanelMember).where(PanelMember.venue_id == venue_id, PanelMember.is_chief))).scalars()}
    best: dict[int, tuple[Account, str]] = {}
    for account, role in rows:
        if account.person_id in chiefs:
            role = "chief_judge"
        if account.id not in best or ROLE_ORDER[role] < ROLE_ORDER[best[account.id][1]]:
            best[account.id] = (account, role)
    out = []
    for account, role in best.values():
        org = ""
        if account.person_id is not None:
            person = await session.get(Person, account.person_id)
            org = person.organization if person else ""
        out.append((account, role, org))
    out.sort(key=lambda t: (ROLE_ORDER[t[1]], t[0].id))
    return out


async def reviewer_accounts(session: AsyncSession, contest_id: int) -> list[tuple[Account, str, int]]:
    """(account, organization, entries assigned) of the contest's initial-review experts, by name."""
    rows = (await session.execute(
        select(Account, Person.organization).join(RoleGrant, RoleGrant.account_id == Account.id)
        .outerjoin(Person, Person.id == Account.person_id)
        .where(RoleGrant.role == "reviewer", RoleGrant.contest_id == contest_id, Account.disabled.is_(False))
        .order_by(Account.display_name, Account.id))).all()
    load = dict((await session.execute(
        select(ReviewerAssignment.person_id, func.count(ReviewerAssignment.id))
        .where(ReviewerAssignment.person_id.in_([a.person_id for a, _ in rows if a.person_id is not None]))
        .group_by(ReviewerAssignment.person_id))).all())
    seen: set[int] = set()
    out = []
    for account, org in rows:
        if account.id not in seen:  # one card per account, whatever its grants
            seen.add(account.id)
            out.append((account, org or "", int(load.get(account.person_id, 0))))
    return out


async def issue_reviewer_sheet(session: AsyncSession, secret: str, base_url: str, contest_id: int) -> list[Card]:
    """Fresh login links for every initial-review expert of the contest (earlier links and sessions revoked)."""
    cards = []
    for account, org, _n in await reviewer_accounts(session, contest_id):
        raw = await reissue_login_link(session, secret, account.id)
        url = link_url(base_url, raw)
        cards.append(Card(account.id, account.display_name, "reviewer", org, url, qr_svg(url, 3)))
    return cards


def qr_svg(url: str, scale: int = 4) -> str:
    return segno.make(url, error="m").svg_inline(scale=scale, border=2)


async def issue_sheet(session: AsyncSession, secret: str, base_url: str, venue: Venue, kind: str) -> list[Card]:
    """Fresh login links for everyone on the sheet (their earlier links and sessions are revoked)."""
    await ensure_venue_accounts(session, venue)  # a venue saved before venues had them gets its host and screen
    cards = []
    for account, role, org in await sheet_accounts(session, venue.id, kind):
        raw = await reissue_login_link(session, secret, account.id)
        url = link_url(base_url, raw)
        cards.append(Card(account.id, account.display_name, role, org, url, qr_svg(url, 6 if kind == "screens" else 4)))
    return cards
