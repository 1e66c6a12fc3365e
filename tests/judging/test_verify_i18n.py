"""The recompute-check page phrases each mismatch through the staff catalog (``mismatch:<code>``): Chinese by
default, English with ``?lang=en``. The JSON API and ``podium grades verify`` keep the English sentences. (That
every code is in both catalogs with its params: tests/judging/test_run_report_i18n.py.)"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from judging.db.models import Entry, GradeResult, GradeRun
from judging.settings import Settings
from judging.staff import grading
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login

CJK = re.compile(r"[\u4e00-\u9fff]")
OLD_ENGINE = "0.0-old"


def _tamper(settings: Settings, run_id: int) -> dict[str, Any]:
    """Make every kind of mismatch in a stored preview: another engine version and input digest, one grade
    changed, one result deleted, and one result for an entry the run never saw."""
    async def go(session: Any) -> dict[str, Any]:
        run = await session.get(GradeRun, run_id)
        run.engine_version = OLD_ENGINE
        run.input_digest = "0" * 64
        rows = (await session.execute(select(GradeResult, Entry).join(Entry, Entry.id == GradeResult.entry_id)
                                      .where(GradeResult.run_id == run_id).order_by(Entry.code))).all()
        (changed, changed_entry), (deleted, deleted_entry) = rows[0], rows[1]
        grade = changed.grade
        changed.grade, changed.final_score = "Z", Decimal("12.3400")
        await session.delete(deleted)
        late = Entry(contest_id=run.contest_id, code="2099-999", title="late", team="t", organization="o",
                     topic_type_id=changed_entry.topic_type_id)
        session.add(late)
        await session.flush()
        session.add(GradeResult(run_id=run_id, entry_id=late.id, grade="Z"))
        return {"changed": changed_entry.code, "grade": grade, "deleted": deleted_entry.code, "late": late.id}

    return run_db(settings, go)


def _mismatches(html: str) -> list[str]:
    start = html.index('id="verify-result"')
    section = html[start:html.index("</ul>", start)]
    return re.findall(r"<li>(.*?)</li>", section)


def test_the_recompute_check_phrases_mismatches_in_the_viewers_language(settings: Settings, scored: int,
                                                                         client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 100}).json()
    t = _tamper(settings, run["id"])
    url = f"/staff/contests/{scored}/runs/{run['id']}/verify"

    zh = _mismatches(client.post(url).text)
    assert len(zh) == 5, zh
    assert zh[0] == f"引擎版本不同：存档为 {OLD_ENGINE}，当前为 {grading.ENGINE_VERSION}"
    assert zh[1] == "输入摘要不一致"
    assert f"{t['changed']}：存档为 Z 12.3400，重算为 {t['grade']} " in zh[2]
    assert zh[3] == f"{t['deleted']}：存档的计算结果中没有该成果"
    assert zh[4] == f"成果 ID {t['late']}：存档中有，重算结果中没有"

    en = _mismatches(client.post(url + "?lang=en").text)
    assert en[:2] == [f"engine version {OLD_ENGINE} != {grading.ENGINE_VERSION}", "input digest differs"]
    assert f"{t['changed']}: stored Z 12.3400, recomputed {t['grade']} " in en[2]
    assert en[3:] == [f"{t['deleted']}: missing in the stored run", f"entry {t['late']}: stored but not recomputed"]
    assert not CJK.search(" ".join(en).replace(t["grade"], ""))

    # The JSON API keeps the English sentences, exactly as the English page shows them.
    api = client.get(f"/api/staff/runs/{run['id']}/verify").json()
    assert not api["ok"] and api["mismatches"] == en


def test_the_cli_prints_the_english_mismatches(settings: Settings, scored: int, client: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from judging.cli import _run_db
    from judging.staff.cli import cmd_grades

    make_staff(settings)
    staff_login(client)
    run = client.post(f"/api/staff/contests/{scored}/grading/preview", json={"draws": 100}).json()
    t = _tamper(settings, run["id"])

    class Args:
        run_id = run["id"]

    assert cmd_grades(Args(), settings, _run_db) == 1  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "  mismatch: input digest differs\n" in out
    assert f"  mismatch: {t['deleted']}: missing in the stored run\n" in out and "NOT REPRODUCED" in out
