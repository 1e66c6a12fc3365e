"""The database itself refuses what must never be stored (not only the Python code)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from judging.db.base import utcnow
from judging.db.models import Entry, PanelMember, Person, ScoreSheet, SheetVersion, Stage
from judging.settings import Settings
from tests.conftest import run_db


def _sheet_fixture(settings: Settings) -> tuple[int, int]:
    async def go(session: Any) -> tuple[int, int]:
        stage = (await session.execute(select(Stage).where(Stage.kind == "onsite"))).scalar_one()
        entry = (await session.execute(select(Entry).limit(1))).scalar_one()
        person = (await session.execute(select(Person).limit(1))).scalar_one()
        from judging.db.models import Rubric

        rubric = (await session.execute(select(Rubric).where(Rubric.stage_id == stage.id,
                                                             Rubric.topic_type_id == entry.topic_type_id))).scalar_one()
        sheet = ScoreSheet(stage_id=stage.id, entry_id=entry.id, person_id=person.id, rubric_id=rubric.id)
        session.add(sheet)
        await session.flush()
        session.add(SheetVersion(sheet_id=sheet.id, version=1, client_submission_id="cid-1",
                                 values={"topic": "10"}, total=Decimal(10)))
        return sheet.id, entry.id

    return run_db(settings, go)  # type: ignore[no-any-return]


def _refused(settings: Settings, fn: Any) -> None:
    with pytest.raises(IntegrityError):
        run_db(settings, fn)


def test_duplicate_client_submission_id_refused(settings: Settings, demo: int) -> None:
    sheet_id, _ = _sheet_fixture(settings)

    async def dup(session: Any) -> None:
        session.add(SheetVersion(sheet_id=sheet_id, version=2, client_submission_id="cid-1",
                                 values={}, total=Decimal(0), is_current=False))
        await session.flush()

    _refused(settings, dup)


def test_second_current_version_refused(settings: Settings, demo: int) -> None:
    sheet_id, _ = _sheet_fixture(settings)

    async def second(session: Any) -> None:
        session.add(SheetVersion(sheet_id=sheet_id, version=2, client_submission_id="cid-2",
                                 values={}, total=Decimal(0), is_current=True))
        await session.flush()

    _refused(settings, second)

    async def superseding(session: Any) -> int:
        await session.execute(text("UPDATE sheet_version SET is_current = false WHERE sheet_id = :s"), {"s": sheet_id})
        session.add(SheetVersion(sheet_id=sheet_id, version=2, client_submission_id="cid-2",
                                 values={}, total=Decimal(0), is_current=True))
        await session.flush()
        return len((await session.execute(select(SheetVersion).where(SheetVersion.sheet_id == sheet_id))).all())

    assert run_db(settings, superseding) == 2


def test_duplicate_version_number_refused(settings: Settings, demo: int) -> None:
    sheet_id, _ = _sheet_fixture(settings)

    async def dup(session: Any) -> None:
        session.add(SheetVersion(sheet_id=sheet_id, version=1, client_submission_id="cid-9",
                                 values={}, total=Decimal(0), is_current=False))
        await session.flush()

    _refused(settings, dup)


def test_second_sheet_for_same_judge_entry_stage_refused(settings: Settings, demo: int) -> None:
    sheet_id, _ = _sheet_fixture(settings)

    async def dup(session: Any) -> None:
        s = await session.get(ScoreSheet, sheet_id)
        session.add(ScoreSheet(stage_id=s.stage_id, entry_id=s.entry_id, person_id=s.person_id, rubric_id=s.rubric_id))
        await session.flush()

    _refused(settings, dup)


def test_dangling_reference_refused(settings: Settings, demo: int) -> None:
    async def dangling(session: Any) -> None:
        await session.execute(insert(SheetVersion).values(
            sheet_id=999999, version=1, client_submission_id="x", values={}, total=0, comment="", device_id="",
            ip="", is_current=True, discarded=False, source="tablet", created_at=utcnow()))

    _refused(settings, dangling)


def test_one_chief_judge_per_venue(settings: Settings, demo: int) -> None:
    async def second_chief(session: Any) -> None:
        stmt = select(PanelMember).where(PanelMember.is_chief.is_(False)).limit(1)
        member = (await session.execute(stmt)).scalar_one()
        member.is_chief = True
        await session.flush()

    _refused(settings, second_chief)


def test_enum_checks(settings: Settings, demo: int) -> None:
    async def bad_status(session: Any) -> None:
        entry = (await session.execute(select(Entry).limit(1))).scalar_one()
        entry.status = "maybe"
        await session.flush()

    _refused(settings, bad_status)
