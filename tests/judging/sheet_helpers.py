"""Helpers for the sheet and judge API tests: the demo's venue panels, bearer tokens and valid sheets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from judging.auth import issue_token
from judging.db.models import Account, Entry, PanelMember, Rubric, RubricItem, Stage, Venue
from judging.settings import Settings
from tests.conftest import run_db


@dataclass
class Judge:
    account_id: int
    person_id: int
    headers: dict[str, str]


@dataclass
class Panel:
    venue_id: int
    judges: list[Judge]  # demo: [0] chief, [2] org-conflicted with entries[0], [3] declared conflict with entries[4]
    entries: list[int]  # by running order
    other_venue_entry: int
    items: dict[int, list[tuple[str, Decimal, Decimal]]]  # entry -> (key, max, step) of its on-site rubric


def new_cid() -> str:
    return secrets.token_hex(16)


def bearer(settings: Settings, account_id: int) -> dict[str, str]:
    async def go(session: Any) -> str:
        raw, _ = await issue_token(session, settings.secret, "session", account_id)
        return raw

    return {"Authorization": f"Bearer {run_db(settings, go)}"}


def panel(settings: Settings, venue_code: str = "V1") -> Panel:
    async def go(session: Any) -> Any:
        venue = (await session.execute(select(Venue).where(Venue.code == venue_code))).scalar_one()
        members = (await session.execute(
            select(PanelMember.person_id, Account.id).join(Account, Account.person_id == PanelMember.person_id)
            .where(PanelMember.venue_id == venue.id).order_by(PanelMember.id))).all()
        entries = (await session.execute(
            select(Entry).where(Entry.venue_id == venue.id).order_by(Entry.running_order))).scalars().all()
        other = (await session.execute(
            select(Entry.id).where(Entry.venue_id != venue.id).order_by(Entry.id).limit(1))).scalar_one()
        items = {}
        for e in entries:
            rows = (await session.execute(
                select(RubricItem.key, RubricItem.max_points, RubricItem.step)
                .join(Rubric, Rubric.id == RubricItem.rubric_id).join(Stage, Stage.id == Rubric.stage_id)
                .where(Rubric.topic_type_id == e.topic_type_id, Stage.kind == "onsite")
                .order_by(RubricItem.position))).all()
            items[e.id] = [(k, Decimal(m), Decimal(s)) for k, m, s in rows]
        return venue.id, members, [e.id for e in entries], other, items

    venue_id, members, entries, other, items = run_db(settings, go)
    judges = [Judge(a, p, bearer(settings, a)) for p, a in members]
    return Panel(venue_id, judges, entries, other, items)


def good_values(items: list[tuple[str, Decimal, Decimal]], share: Decimal = Decimal("0.8")) -> dict[str, str]:
    """Values on each item's step grid, about ``share`` of its maximum."""
    out = {}
    for key, mx, step in items:
        out[key] = str((mx * share / step).to_integral_value() * step)
    return out


def sheet_body(p: Panel, entry: int, **extra: Any) -> dict[str, Any]:
    body = {"client_submission_id": new_cid(), "entry_id": entry, "values": good_values(p.items[entry]),
            "device_id": "tablet-test"}
    body.update(extra)
    return body
