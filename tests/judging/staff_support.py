"""Helpers for the staff-console tests: on-site scores for the demo contest, in-memory spreadsheets."""

from __future__ import annotations

import io
import random
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from judging.db.models import Entry, PanelMember, Rubric, ScoreSheet, SheetVersion, Stage
from judging.staff.conflicts import conflicted_pairs


async def seed_onsite(session: Any, contest_id: int, seed: int = 7) -> int:
    """Every panel judge scores every entry of their venue (except conflicted ones); returns rows written."""
    rng = random.Random(seed)
    stage = (await session.execute(select(Stage).where(Stage.contest_id == contest_id, Stage.kind == "onsite"))
             ).scalar_one()
    rubrics = {r.topic_type_id: r for r in (await session.execute(
        select(Rubric).options(selectinload(Rubric.items)).where(Rubric.stage_id == stage.id))).scalars()}
    conflicted = await conflicted_pairs(session, contest_id)
    entries = (await session.execute(select(Entry).where(Entry.contest_id == contest_id))).scalars().all()
    members = (await session.execute(select(PanelMember))).scalars().all()
    quality = {e.id: rng.gauss(80, 6) for e in entries}
    severity = {m.person_id: rng.gauss(0, 2) for m in members}
    n = 0
    for e in entries:
        rubric = rubrics[e.topic_type_id]
        for m in members:
            if m.venue_id != e.venue_id or (m.person_id, e.id) in conflicted:
                continue
            target = max(30.0, min(100.0, quality[e.id] + severity[m.person_id] + rng.gauss(0, 2)))
            values = {}
            for item in rubric.items:
                raw = float(item.max_points) * target / 100
                values[item.key] = Decimal(str(round(raw / float(item.step)) * float(item.step))).quantize(
                    Decimal("0.01"))
            sheet = ScoreSheet(stage_id=stage.id, entry_id=e.id, person_id=m.person_id, rubric_id=rubric.id)
            session.add(sheet)
            await session.flush()
            session.add(SheetVersion(sheet_id=sheet.id, version=1, client_submission_id=uuid.uuid4().hex,
                                     values={k: str(v) for k, v in values.items()},
                                     total=sum(values.values(), Decimal(0)), source="tablet"))
            n += 1
    await session.flush()
    return n


async def correct_one(session: Any, contest_id: int) -> int:
    """A later correction: a new current version of one on-site sheet (+3 points on the first item)."""
    stage = (await session.execute(select(Stage).where(Stage.contest_id == contest_id, Stage.kind == "onsite"))
             ).scalar_one()
    sheet = (await session.execute(select(ScoreSheet).where(ScoreSheet.stage_id == stage.id)
                                   .order_by(ScoreSheet.id).limit(1))).scalar_one()
    cur = (await session.execute(select(SheetVersion).where(SheetVersion.sheet_id == sheet.id,
                                                           SheetVersion.is_current))).scalar_one()
    cur.is_current = False
    await session.flush()
    values = dict(cur.values)
    key = next(iter(values))
    values[key] = str((Decimal(values[key]) - 3).quantize(Decimal("0.01")))
    session.add(SheetVersion(sheet_id=sheet.id, version=cur.version + 1, client_submission_id=uuid.uuid4().hex,
                             base_version=cur.version, values=values, total=cur.total - 3, source="staff"))
    await session.flush()
    return sheet.id


def xlsx_bytes(rows: list[list[Any]], merges: tuple[str, ...] = (), title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def keep_boundary_grades(client: Any, run: dict[str, Any]) -> int:
    """Decide on every entry of a preview's boundary-review list by keeping its computed grade (what approval
    waits for); returns how many there were."""
    listed = [x for x in run["results"] if x.get("boundary")]
    for x in listed:
        r = client.post(f"/api/staff/runs/{run['id']}/review", json={"entry_id": x["entry_id"], "grade": x["grade"]})
        assert r.status_code == 200, r.text
    return len(listed)
