"""The batch "panel complete?" check (``venue_control._COMPLETE_CANDIDATES``, one statement after every round of
sheets) must pick exactly the entries that the per-entry rule (``panel_marks`` + ``missing``) would move to
unofficial, on randomized panels: missing, current, discarded and superseded sheets, initial-stage sheets, and
recusals by entry or by organization. The venue console's recusals of every entry (``venue_recusals``, one
statement) must agree with ``panel_marks`` on the same panels."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from judging.db.models import Conflict, Entry, PanelMember, ScoreSheet, SheetVersion, Stage
from judging.venue_control import _COMPLETE_CANDIDATES, missing, panel_marks, venue_recusals
from tests.conftest import run_db

SHEET_KINDS = ("none", "current", "discarded", "superseded", "initial_only", "current_and_initial")
MARK = "test: panel complete"
RECUSALS = ("none", "none", "none", "entry", "organization", "other_entry")


async def _reset(session: Any, entry_ids: list[int]) -> None:
    sheets = select(ScoreSheet.id).where(ScoreSheet.entry_id.in_(entry_ids))
    await session.execute(delete(SheetVersion).where(SheetVersion.sheet_id.in_(sheets)))
    await session.execute(delete(ScoreSheet).where(ScoreSheet.entry_id.in_(entry_ids)))
    await session.execute(delete(Conflict).where(Conflict.reason == MARK))


async def _sheet(session: Any, stage: Stage, entry: Entry, person_id: int, versions: list[tuple[bool, bool]]) -> None:
    """A sheet with the given (is_current, discarded) versions."""
    sheet = ScoreSheet(stage_id=stage.id, entry_id=entry.id, person_id=person_id, rubric_id=1)
    session.add(sheet)
    await session.flush()
    for n, (current, discarded) in enumerate(versions, start=1):
        session.add(SheetVersion(sheet_id=sheet.id, version=n, client_submission_id=f"tc-{sheet.id}-{n}",
                                 values={}, total=Decimal("80"), source="tablet", is_current=current,
                                 discarded=discarded))
    await session.flush()


async def _round(session: Any, rng: random.Random) -> tuple[list[int], list[int], int]:
    entries = (await session.execute(select(Entry).order_by(Entry.id))).scalars().all()
    ids = [e.id for e in entries]
    await _reset(session, ids)
    stages = {s.kind: s for s in (await session.execute(select(Stage))).scalars()}
    onsite, initial = stages["onsite"], stages.get("initial")
    panels: dict[int, list[int]] = {}
    for venue_id, person_id in (await session.execute(select(PanelMember.venue_id, PanelMember.person_id))).all():
        panels.setdefault(venue_id, []).append(person_id)
    for entry in entries:
        entry.status = rng.choice(("scoring", "scoring", "scoring", "presenting", "unofficial", "scheduled"))
        for person_id in panels.get(entry.venue_id or -1, []):
            kind = rng.choice(SHEET_KINDS)
            if kind in ("current", "current_and_initial"):
                await _sheet(session, onsite, entry, person_id, [(True, False)])
            elif kind == "discarded":
                await _sheet(session, onsite, entry, person_id, [(False, False), (True, True)])
            elif kind == "superseded":
                await _sheet(session, onsite, entry, person_id, [(False, False)])
            if kind in ("initial_only", "current_and_initial") and initial is not None:
                await _sheet(session, initial, entry, person_id, [(True, False)])
            recusal = rng.choice(RECUSALS)
            if recusal == "entry":
                session.add(Conflict(person_id=person_id, entry_id=entry.id, source="staff", reason=MARK))
            elif recusal == "organization" and entry.organization:
                session.add(Conflict(person_id=person_id, organization=entry.organization, source="staff",
                                     reason=MARK))
            elif recusal == "other_entry":
                other = rng.choice(ids)
                if other != entry.id:
                    session.add(Conflict(person_id=person_id, entry_id=other, source="staff", reason=MARK))
    await session.flush()
    expected = []
    for entry in entries:
        if entry.status != "scoring":
            continue
        marks = await panel_marks(session, entry)
        if not missing(marks) and any(m.total is not None and not m.recused for m in marks):
            expected.append(entry.id)
    got = list((await session.execute(_COMPLETE_CANDIDATES, {"ids": ids})).scalars())
    recused = 0
    for venue_id in panels:
        by_entry = await venue_recusals(session, venue_id)
        for entry in entries:
            if entry.venue_id == venue_id:
                rule = [m.person_id for m in await panel_marks(session, entry) if m.recused]
                assert by_entry.get(entry.id, []) == rule, (venue_id, entry.id)
                recused += len(rule)
    return expected, got, recused


def test_batch_check_agrees_with_the_per_entry_rule(settings: Any, demo: int) -> None:
    moved = recused = 0
    for seed in range(12):
        rng = random.Random(seed)
        expected, got, n = run_db(settings, lambda session, rng=rng: _round(session, rng))
        assert got == sorted(expected), f"seed {seed}"
        moved += len(expected)
        recused += n
    assert moved > 0 and recused > 0  # some rounds had complete panels and recusals (not vacuous)
