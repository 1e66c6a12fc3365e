"""Printable A4 QR login sheets: one page per venue with each judge's name, role and personal QR code, and one
page per venue screen. Printing a sheet issues fresh login links (revoking the people's earlier links, so only
the latest printed sheet works); a single card can be revoked or reissued in one click from the people page."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.accounts import link_url, replace_sheet_link
from judging.db.models import Account, PanelMember, Person, RoleGrant, Venue
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


async def reviewer_accounts(session: AsyncSession, contest_id: int) -> list[tuple[Account, str, str]]:
    """(account, role, organization) of the contest's initial-review experts, by name, one per account."""
    rows = (await session.execute(
        select(Account, Person.organization).join(RoleGrant, RoleGrant.account_id == Account.id)
        .outerjoin(Person, Person.id == Account.person_id)
        .where(RoleGrant.role == "reviewer", RoleGrant.contest_id == contest_id, Account.disabled.is_(False))
        .order_by(Account.display_name, Account.id))).all()
    out = {account.id: (account, "reviewer", org or "") for account, org in rows}
    return list(out.values())


async def _issue(session: AsyncSession, secret: str, base_url: str, people: list[tuple[Account, str, str]],
                 scale: int, label: str) -> list[Card]:
    """A card per (account, role, organization) with a fresh login link: it replaces the person's card of this
    sheet (``label``) and their unlabelled links, with the sessions opened by them; a card of another sheet stays."""
    cards = []
    for account, role, org in people:
        url = link_url(base_url, await replace_sheet_link(session, secret, account.id, label))
        cards.append(Card(account.id, account.display_name, role, org, url, qr_svg(url, scale)))
    return cards


async def issue_reviewer_sheet(session: AsyncSession, secret: str, base_url: str, contest_id: int) -> list[Card]:
    """Fresh login links for every initial-review expert of the contest (their earlier reviewer cards revoked)."""
    return await _issue(session, secret, base_url, await reviewer_accounts(session, contest_id), 3,
                        f"sheet:reviewers:{contest_id}")


def qr_svg(url: str, scale: int = 4) -> str:
    return segno.make(url, error="m").svg_inline(scale=scale, border=2)


async def issue_sheet(session: AsyncSession, secret: str, base_url: str, venue: Venue, kind: str) -> list[Card]:
    """Fresh login links for everyone on the sheet (their earlier cards of this sheet are revoked)."""
    await ensure_venue_accounts(session, venue)  # a venue saved before venues had them gets its host and screen
    return await _issue(session, secret, base_url, await sheet_accounts(session, venue.id, kind),
                        6 if kind == "screens" else 4, f"sheet:venue:{venue.id}:{kind}")
