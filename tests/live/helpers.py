"""Helpers for the live-feed tests: bearer tokens, the demo venue's people, sheets written straight to the DB."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from judging.auth import issue_token
from judging.db.base import utcnow
from judging.db.models import (
    Account,
    Entry,
    PanelMember,
    Presence,
    RoleGrant,
    Rubric,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.events import append_event
from judging.settings import Settings
from live.protocol import ServerMessage, decode_server
from tests.conftest import run_db


def bearer(settings: Settings, account_id: int) -> dict[str, str]:
    async def go(session: Any) -> str:
        raw, _ = await issue_token(session, settings.secret, "session", account_id)
        return raw

    return {"Authorization": f"Bearer {run_db(settings, go)}"}


@dataclass
class VenueInfo:
    venue_id: int
    contest_id: int
    entries: list[int]  # running order
    panel: list[int]  # person ids, chief first
    host: int  # account ids
    chief: int
    display: int
    judge: int


def venue_info(settings: Settings, code: str = "V1") -> VenueInfo:
    async def go(session: Any) -> VenueInfo:
        venue = (await session.execute(select(Venue).where(Venue.code == code))).scalar_one()
        entries = (await session.execute(select(Entry.id).where(Entry.venue_id == venue.id)
                                          .order_by(Entry.running_order))).scalars().all()
        panel = (await session.execute(select(PanelMember.person_id).where(PanelMember.venue_id == venue.id)
                                        .order_by(PanelMember.is_chief.desc(), PanelMember.id))).scalars().all()

        async def account(role: str) -> int:
            return int((await session.execute(select(RoleGrant.account_id).where(
                RoleGrant.role == role, RoleGrant.venue_id == venue.id).order_by(RoleGrant.account_id).limit(1)
            )).scalar_one())

        return VenueInfo(venue.id, venue.contest_id, list(entries), list(panel), await account("host"),
                         await account("chief_judge"), await account("display"),
                         int((await session.execute(select(Account.id).where(
                             Account.person_id == panel[1]))).scalar_one()))

    return run_db(settings, go)  # type: ignore[no-any-return]


def write_sheet(settings: Settings, entry_id: int, person_id: int, total: str, version: int = 1) -> None:
    """A judge's on-site sheet (as the tablet API would store it) plus its ``sheet.submitted`` event."""

    async def go(session: Any) -> None:
        entry = await session.get(Entry, entry_id)
        stage = (await session.execute(select(Stage).where(Stage.contest_id == entry.contest_id,
                                                           Stage.kind == "onsite"))).scalar_one()
        rubric = (await session.execute(select(Rubric.id).where(Rubric.stage_id == stage.id,
                                                                Rubric.topic_type_id == entry.topic_type_id))).scalar()
        sheet = (await session.execute(select(ScoreSheet).where(
            ScoreSheet.entry_id == entry_id, ScoreSheet.person_id == person_id, ScoreSheet.stage_id == stage.id)
        )).scalar_one_or_none()
        if sheet is None:
            sheet = ScoreSheet(stage_id=stage.id, entry_id=entry_id, person_id=person_id, rubric_id=rubric)
            session.add(sheet)
            await session.flush()
        for old in (await session.execute(select(SheetVersion).where(SheetVersion.sheet_id == sheet.id,
                                                                      SheetVersion.is_current.is_(True)))).scalars():
            old.is_current = False
        await session.flush()
        session.add(SheetVersion(sheet_id=sheet.id, version=version, client_submission_id=f"t-{sheet.id}-{version}",
                                 values={"total": total}, total=Decimal(total), source="tablet"))
        await append_event(session, "sheet.submitted",
                           {"entry_id": entry_id, "venue_id": entry.venue_id, "person_id": person_id,
                            "version": version, "stage": "onsite", "total": total},  # "total": must never leak
                           contest_id=entry.contest_id, venue_id=entry.venue_id)

    run_db(settings, go)


def age_presence(settings: Settings, account_id: int, by: timedelta) -> None:
    """Make the account's tablets look silent for ``by`` (their last heartbeat that long ago)."""

    async def go(session: Any) -> None:
        await session.execute(update(Presence).where(Presence.account_id == account_id)
                              .values(last_seen_at=utcnow() - by))

    run_db(settings, go)


def receive(ws: Any) -> ServerMessage:
    return decode_server(ws.receive_bytes(timeout=10))


def receive_until(ws: Any, pred: Any, limit: int = 50) -> list[ServerMessage]:
    """Messages up to and including the first one matching ``pred`` (bounded)."""
    out = []
    for _ in range(limit):
        msg = receive(ws)
        out.append(msg)
        if pred(msg):
            return out
    raise AssertionError(f"no matching message in {limit}: {out[-5:]}")


def wait_for(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def reviewer_account(settings: Settings) -> int:
    """An initial-review expert of the demo who sits on no panel (a help call of theirs has no venue)."""

    async def go(session: Any) -> int:
        return int((await session.execute(
            select(RoleGrant.account_id).join(Account, Account.id == RoleGrant.account_id)
            .where(RoleGrant.role == "reviewer", Account.person_id.not_in(select(PanelMember.person_id)))
            .order_by(RoleGrant.account_id).limit(1))).scalar_one())

    return run_db(settings, go)  # type: ignore[no-any-return]
