"""The grading-run page phrases its warnings and flags through the message catalog: Chinese by default, English
with ``?lang=en``, parameters (entry codes, venue names, statistics) filled in after translation. Runs stored
before report items were structured (plain-string warnings, flags with an English ``meaning``) still render."""

from __future__ import annotations

import dataclasses
import importlib
import re
import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scoring
from judging.db.models import Contest, GradeRun
from judging.i18n import catalog
from judging.settings import Settings
from judging.staff import grading
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login

BADGE = '<span class="badge flag-kind">{}</span> '
CJK = re.compile(r"[\u4e00-\u9fff]")
SAMPLE = {"n": 3, "codes": "2024-001, 2024-002", "groups": "A, B", "detail": "singular matrix", "value": 1.2345,
          "stored": "0.9", "current": "1.0", "code": "2024-001", "stored_grade": "一等奖", "stored_score": "91.2",
          "grade": "二等奖", "score": "88.5", "entry": 7, "reviewed_from": "一等奖"}


def _preview(client: Any, contest_id: int) -> tuple[int, str]:
    r = client.post(f"/staff/contests/{contest_id}/grading/preview", data={"method": "calibrated", "draws": "100"},
                    follow_redirects=True)
    assert r.status_code == 200
    m = re.search(r"/runs/(\d+)$", str(r.url))
    assert m, r.url
    return int(m.group(1)), r.text


def _set_report(settings: Settings, run_id: int, **changes: Any) -> None:
    async def go(session: Any) -> None:
        run = await session.get(GradeRun, run_id)
        run.config = {**run.config, "report": {**run.config["report"], **changes}}

    run_db(settings, go)


def _stored_report(settings: Settings, run_id: int) -> dict[str, Any]:
    async def go(session: Any) -> dict[str, Any]:
        return dict((await session.get(GradeRun, run_id)).config["report"])

    return run_db(settings, go)


def _section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start:html.index("</ul>", start)]


# ------------------------------------------------------------------------------------------------ pages
def test_run_page_phrases_warnings_and_flags_in_the_viewers_language(settings: Settings, scored: int,
                                                                       client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run_id, zh = _preview(client, scored)  # the demo's three venues share no judge: a warning and three flags
    report = _stored_report(settings, run_id)
    (warning,) = report["warnings"]
    assert warning["code"] == "unlinked_groups" and "unlinked groups" in warning["text"]
    assert warning["params"] == {"n": 3, "groups": ["第一分会场", "第二分会场", "第三分会场"]}
    assert {(f["kind"], f["who"]) for f in report["flags"]} >= {("unlinked", "第一分会场")}
    assert all("params" in f for f in report["flags"])

    warnings, flags = _section(zh, "warnings"), _section(zh, "flags")
    assert "发表评分分成 3 个互不相连的分会场组" in warnings and "第一分会场、第二分会场、第三分会场" in warnings
    assert "<b>第一分会场</b> · " + BADGE.format("分会场未连通") + "与其他分会场没有共同评委或锚定成果" in flags
    assert "unlinked" not in warnings + flags and "shares no judge" not in flags

    en = client.get(f"/staff/contests/{scored}/runs/{run_id}?lang=en").text
    warnings, flags = _section(en, "warnings"), _section(en, "flags")
    assert "The on-site scores form 3 unlinked groups of venues" in warnings
    assert "第一分会场, 第二分会场, 第三分会场" in warnings
    assert "<b>第二分会场</b> · " + BADGE.format("venue not linked") + "Shares no judge or anchor entry" in flags
    assert not CJK.search(re.sub(r"第.分会场", "", warnings + flags))


def test_entry_codes_and_statistics_are_filled_in_after_translation(settings: Settings, scored: int,
                                                                    client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run_id, _ = _preview(client, scored)
    items = [grading._warning("onsite_without_initial", "entries ...: 2024-001, 2024-002", n=2,
                              codes=["2024-001", "2024-002"])]
    flags = [
        {"subject": "judge", "who": "张评委", "kind": "erratic", "meaning": "judge 3 scores scatter 2.3x more",
         "params": {"value": 2.3456}},
        {"subject": "judge", "who": "李评委", "kind": "deviation_cases", "meaning": "judge 4 ...",
         "params": {"n": 2, "codes": ["2024-007", "2024-011"]}},
        {"subject": "venue", "who": "第二分会场", "kind": "low_reliability", "meaning": "venue 1's panel ...",
         "params": {"value": 0.6149}},
    ]
    _set_report(settings, run_id, warnings=items, flags=flags)
    zh = client.get(f"/staff/contests/{scored}/runs/{run_id}").text
    assert "2 个成果有发表评分但没有初审成绩，按未参加发表处理：2024-001、2024-002" in zh
    assert "<b>张评委</b> · " + BADGE.format("评分离散") + "评分围绕评委组共识的离散程度是一般评委的 2.3 倍。" in zh
    assert "有 2 个评分与评委组共识的偏差超过判定阈值" in zh and "涉及成果：2024-007、2024-011" in zh
    assert "ICC(2,k) = 0.61，低于 0.75" in zh
    en = client.get(f"/staff/contests/{scored}/runs/{run_id}?lang=en").text
    assert "2 entries have on-site scores but no initial-review scores, so they count as not presented: " \
           "2024-001, 2024-002" in en
    assert "erratic scoring</span> Scores scatter 2.3 times as much" in en and "ICC(2,k) = 0.61 &lt; 0.75" in en


def test_a_run_stored_with_plain_english_items_still_renders(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run_id, _ = _preview(client, scored)
    _set_report(settings, run_id, warnings=["the scores form 3 unlinked groups <old engine>"], flags=[
        {"subject": "venue", "who": "第一分会场", "kind": "unlinked",
         "meaning": "venue 0 shares no judge or anchor entry with any other venue."},
        {"subject": "judge", "who": "王评委", "kind": "some_future_kind", "meaning": "judge 2 did something odd."},
    ])
    for url in (f"/staff/contests/{scored}/runs/{run_id}", f"/staff/contests/{scored}/runs/{run_id}?lang=en"):
        r = client.get(url)
        assert r.status_code == 200
        assert "the scores form 3 unlinked groups &lt;old engine&gt;" in _section(r.text, "warnings")
        flags = _section(r.text, "flags")
        assert "venue 0 shares no judge or anchor entry with any other venue." in flags
        assert "<b>王评委</b> · " + BADGE.format("some_future_kind") + "judge 2 did something odd." in flags
    zh = client.get(f"/staff/contests/{scored}/runs/{run_id}?lang=zh_Hans").text
    assert BADGE.format("分会场未连通") + "venue 0 shares no judge" in zh  # the kind label is translated


def test_an_unknown_code_falls_back_to_its_stored_english_text(settings: Settings, scored: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    run_id, _ = _preview(client, scored)
    _set_report(settings, run_id, warnings=[grading._warning("", "a caveat from a newer engine"),
                                            grading._warning("not_in_the_catalog", "another caveat", x=1)])
    text = _section(client.get(f"/staff/contests/{scored}/runs/{run_id}").text, "warnings")
    assert "a caveat from a newer engine" in text and "another caveat" in text


# ------------------------------------------------------------------------------------------- catalogs, codes
def _keys() -> list[tuple[str, tuple[str, ...]]]:
    keys = [(f"warning:{c}", p) for c, p in grading.WARNING_CODES.items()]
    keys += [(f"flag:{k}", ()) for k in grading.FLAG_KINDS]
    keys += [(f"flag-detail:{k}", p) for k, p in grading.FLAG_KINDS.items()]
    keys += [(f"mismatch:{c}", p) for c, p in grading.MISMATCH_CODES.items()]  # the recompute-check page
    return keys


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_report_code_is_in_the_catalog_with_its_params(locale: str) -> None:
    messages = catalog(locale)
    assert messages.get("list:separator") == ("、" if locale == "zh_Hans" else ", ")
    for key, params in _keys():
        text = messages.get(key)
        assert text, f"{key} has no {locale} translation"
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        assert fields == set(params), (key, locale, fields)
        text.format(**SAMPLE)
        if locale == "zh_Hans":
            assert CJK.search(text), f"{key} is not translated into Chinese"
        else:
            assert not CJK.search(text)


def test_the_codes_cover_every_scoring_flag_and_note() -> None:
    diagnose_module = importlib.import_module("scoring.diagnose")  # (the package's ``diagnose`` is the function)
    assert set(grading.FLAG_KINDS) == set(diagnose_module._MEANING) | {"unlinked", "low_reliability"}
    obs = scoring.Scores(entry=[0, 0, 1, 1], judge=[0, 1, 0, 1], value=[80, 84, 86, 90], venue=[0, 0, 0, 0])
    notes = [*scoring.calibrate(obs, "judge_z").warnings, *scoring.calibrate(obs, "venue_z").warnings,
             *scoring.calibrate(obs, yardstick=np.array([80.0, 90.0]), moderation="always").warnings]
    split = scoring.Scores(entry=[0, 0, 1, 1, 2, 2, 3, 3], judge=[0, 1, 0, 1, 2, 3, 2, 3],
                           value=[80, 84, 86, 90, 70, 78, 75, 83], venue=[0, 0, 0, 0, 1, 1, 1, 1])
    notes += scoring.calibrate(split).warnings
    items = [grading._note(n, "onsite", lambda k: f"V{k}") for n in notes]
    assert {i["code"] for i in items} == {"judge_z_random_assignment", "venue_z_random_assignment",
                                          "moderation_needs_two_venues", "unlinked_groups"}
    assert items[-1]["params"] == {"n": 2, "groups": ["V0", "V1"]}
    assert grading._note(notes[-1], "initial", str)["code"] == "initial_unlinked_groups"
    assert grading._note("plain old text", "onsite", str) == {"code": "", "params": {}, "text": "plain old text"}


def test_compute_stores_structured_warnings(settings: Settings, scored: int) -> None:
    async def go(session: Any) -> Any:
        inputs = await grading.load_inputs(session, scored)
        s = grading.default_settings(await session.get(Contest, scored))
        s["draws"] = 50
        firsts = sorted({e.id for e in inputs.entries})[:2]
        rows = [r for r in inputs.rows if not (r.stage == "initial" and r.entry_id in firsts)]
        return grading.compute(dataclasses.replace(inputs, rows=rows), s), {e.id: e.code for e in inputs.entries}

    preview, codes = run_db(settings, go)
    by_code = {w["code"]: w for w in preview.report["warnings"]}
    missing = by_code["onsite_without_initial"]["params"]
    assert missing == {"n": 2, "codes": [codes[i] for i in sorted(codes)[:2]]}
    assert all(isinstance(w, dict) and w["code"] in grading.WARNING_CODES for w in preview.report["warnings"])
    assert len({w["code"] for w in preview.report["warnings"]}) == len(preview.report["warnings"])  # no duplicates



def test_staff_catalog_files_are_what_the_catalog_source_generates(tmp_path: Path) -> None:
    """judging/staff/_catalog.py regenerates staff.po: an entry added to the .po file alone would be lost."""
    from judging.staff import _catalog

    for locale in ("zh_Hans", "en"):
        (tmp_path / locale / "LC_MESSAGES").mkdir(parents=True)
    _catalog.write(tmp_path)
    locale_root = Path(_catalog.__file__).resolve().parent.parent / "locale"
    for locale in ("zh_Hans", "en"):
        generated = (tmp_path / locale / "LC_MESSAGES" / "staff.po").read_text(encoding="utf-8")
        shipped = (locale_root / locale / "LC_MESSAGES" / "staff.po").read_text(encoding="utf-8")
        assert generated == shipped, f"{locale}/staff.po differs from judging/staff/_catalog.py: run it"
