"""A refused staff form shows a page in the staff layout, in the viewer's language: the reason with its parameters
filled in (Chinese by default, English with ``?lang=en`` or the ``podium_lang`` cookie), that nothing was saved,
and a link back to the form. Status 400; the database is unchanged. The JSON API keeps its English error object.

Every refusal message a staff form can produce (``SetupError``, ``AssignmentError``, ``Refusal`` and ``_bad``
literals, the conflict service's ``ValueError``s, the grading preview's plain ``GradingError``s, the field names
they name) must have a Simplified Chinese translation with the same placeholders: a new untranslated refusal fails
here instead of showing English to staff."""

from __future__ import annotations

import ast
import html
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from judging.db.models import (
    Account,
    AuditLog,
    Conflict,
    Contest,
    Entry,
    PanelMember,
    Person,
    ReviewerAssignment,
    RoleGrant,
    Rubric,
    RubricItem,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import Msgid, Refusal
from judging.i18n import Translator, catalog
from judging.settings import Settings
from judging.staff.setup import SetupError
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login

ROOT = Path(__file__).resolve().parents[2] / "judging"
MESSAGE = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
BACK = re.compile(r'<a href="([^"]*)" id="back">(.*?)</a>')


# ------------------------------------------------------------------------------------------------ helpers
def _snapshot(settings: Settings) -> dict[str, Any]:
    """Everything a staff form could change, as plain values."""

    async def go(session: Any) -> dict[str, Any]:
        async def rows(*cols: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(r) for r in (await session.execute(select(*cols)))), key=repr)

        return {
            "contests": await rows(Contest.id, Contest.name, Contest.year, Contest.grade_rule),
            "stages": await rows(Stage.id, Stage.weight),
            "topic_types": await rows(TopicType.id, TopicType.key, TopicType.name_zh),
            "rubrics": await rows(Rubric.id, Rubric.frozen_at),
            "items": await rows(RubricItem.id, RubricItem.rubric_id, RubricItem.key, RubricItem.max_points),
            "venues": await rows(Venue.id, Venue.code, Venue.name, Venue.presentation_minutes, Venue.qa_minutes,
                                 Venue.starts_at),
            "entries": await rows(Entry.id, Entry.venue_id, Entry.running_order),
            "panels": await rows(PanelMember.venue_id, PanelMember.person_id, PanelMember.is_chief),
            "reviewers": await rows(ReviewerAssignment.entry_id, ReviewerAssignment.person_id),
            "conflicts": await rows(Conflict.id, Conflict.person_id, Conflict.entry_id),
            "accounts": await session.scalar(select(func.count(Account.id))),
            "audit": await session.scalar(select(func.count(AuditLog.id))),
        }

    return dict(run_db(settings, go))


def _ids(settings: Settings, contest_id: int) -> dict[str, int]:
    async def go(session: Any) -> dict[str, int]:
        onsite_rubric = await session.scalar(
            select(Rubric.id).join(Stage, Stage.id == Rubric.stage_id)
            .join(TopicType, TopicType.id == Rubric.topic_type_id)
            .where(Stage.kind == "onsite", TopicType.contest_id == contest_id, Rubric.frozen_at.is_(None))
            .order_by(Rubric.id).limit(1))
        frozen_rubric = await session.scalar(
            select(Rubric.id).join(TopicType, TopicType.id == Rubric.topic_type_id)
            .where(TopicType.contest_id == contest_id, Rubric.frozen_at.is_not(None)).order_by(Rubric.id).limit(1))
        venue = await session.scalar(select(Venue.id).where(Venue.contest_id == contest_id, Venue.code == "V1"))
        person = await session.scalar(select(Person.id).where(Person.contest_id == contest_id).order_by(Person.id)
                                      .limit(1))
        entry = await session.scalar(select(Entry.id).where(Entry.contest_id == contest_id).order_by(Entry.id).limit(1))
        return {"onsite_rubric": onsite_rubric, "frozen_rubric": frozen_rubric, "venue": venue, "person": person,
                "entry": entry}

    return dict(run_db(settings, go))


def _refusal(r: Any) -> tuple[str, str, str]:
    """(message, back link, back label) of a refusal page, unescaped."""
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    m, b = MESSAGE.search(r.text), BACK.search(r.text)
    assert m and b, r.text[:2000]
    return html.unescape(m.group(1)), html.unescape(b.group(1)), b.group(2)


# A refusal: the form page it is posted from, the form's action, its fields, and the message in zh and en
# (a regular expression when a parameter depends on the demo data). Built from the demo's ids.
Case = Callable[[int, dict[str, int]], tuple[str, str, dict[str, str], str, str]]

CASES: dict[str, Case] = {
    "venue without code or name": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues", {"code": " ", "name": ""},
        "分会场需要编号和名称。", "a venue needs a code and a name"),
    "duplicate venue code": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues", {"code": "V1", "name": "新分会场"},
        "分会场编号 V1 已被使用。", "venue code V1 is taken"),
    "minutes out of range (after the new venue was added to the session)": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues",
        {"code": "V9", "name": "第九分会场", "presentation_minutes": "240"},
        "分钟数必须在 0 到 180 之间。", "minutes must be between 0 and 180"),
    "minutes not a number": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues",
        {"code": "V9", "name": "第九分会场", "qa_minutes": "十"},
        "分钟数必须是 0 到 180 之间的整数。", "minutes must be a whole number between 0 and 180"),
    "start time": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues",
        {"code": "V9", "name": "第九分会场", "starts_at": "明天上午"},
        "开始时间的格式应为 2024-05-20T08:30。", "start time must look like 2024-05-20T08:30"),
    "contest year out of range": lambda c, ids: (
        "/staff", "/staff/contests", {"name": "2031年赛事", "year": "1999"},
        "年份必须在 2000 到 2100 之间。", "the year must be between 2000 and 2100"),
    "contest year not a number": lambda c, ids: (
        "/staff", "/staff/contests", {"name": "2031年赛事", "year": "明年"},
        "年份必须是整数。", "year must be a whole number."),
    "rubric line with too few parts": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 10\nb | 原因分析 | Causes"},
        "每行应为：代码 | 中文名称 | 英文名称 | 满分 | 步长。这一行不符合：“b | 原因分析 | Causes”",
        "Each line needs key | label | English label | max | step: “b | 原因分析 | Causes”"),
    "rubric with a duplicate item key": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 10\na | 原因分析 | Causes | 20"},
        "评分项代码 a 重复。", "duplicate item key a"),
    "rubric maximum not a number": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 十分"}, "满分必须是数字。", "max must be a number"),
    "frozen rubric": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['frozen_rubric']}",
        {"items": "a | 选题 | Topic | 10"},
        "该评分表已锁定：评分已开始。", "this rubric is frozen: scoring has started"),
    "topic type key": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/topic-types",
        {"key": "Bad Key", "name_zh": "新类型"},
        "代码只能由小写字母、数字和 _ 组成，并以字母开头。", "the key must be lower-case letters, digits and _"),
    "grade shares above 1": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/grade-rule",
        {"kind": "quota", "labels": "一类,二类", "shares": "0.8,0.8"},
        "各等级比例不能为负数，合计不能超过 1（现在合计 1.6）。",
        "the shares must not be negative and must add up to at most 1 (they add up to 1.6)"),
    "grade shares not numbers": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/grade-rule",
        {"kind": "quota", "labels": "一类,二类", "shares": "三成,七成"},
        "各等级比例必须是用逗号分隔的数字。", "shares must be numbers separated by commas"),
    "stage weight": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/stages", {"initial": "1.5"},
        "阶段权重必须在 0 到 1 之间。", "a stage weight must be between 0 and 1"),
    "venue code too long (a database column of 20)": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/venues", {"code": "V" * 21, "name": "第九分会场"},
        "分会场编号不超过 20 个字符，名称不超过 100 个字。",
        "a venue code has at most 20 characters and a venue name at most 100"),
    "negative running order": lambda c, ids: (
        f"/staff/contests/{c}/assign", f"/staff/contests/{c}/assign/entry",
        {"entry_id": str(ids["entry"]), "venue_id": str(ids["venue"]), "running_order": "-1"},
        "发表顺序应为 1 到 999 之间的数字。", "the running order is a number from 1 to 999"),
    "stage weights not adding up to 1": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/stages", {"initial": "0.5", "onsite": "0.6"},
        "各阶段权重之和必须为 1（当前为 1.1）。", "the stage weights must add up to 1 (they add up to 1.1)"),
    "topic type without a Chinese name": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/topic-types",
        {"key": "service", "name_zh": " ", "name_en": ""},
        "课题类型需要填写中文名称。", "the topic type needs a Chinese name"),
    "rubric maximum not a whole number of steps": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 15 | 0.7"}, "选题：满分 15 必须是步长 0.7 的整数倍。",
        "选题: the maximum 15 must be a whole number of steps of 0.7"),
    "rubric step above the maximum": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 50 | 60"}, "选题：满分 50 必须是步长 60 的整数倍。",
        "选题: the maximum 50 must be a whole number of steps of 60"),
    "rubric with more than 2 decimals": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/rubrics/{ids['onsite_rubric']}",
        {"items": "a | 选题 | Topic | 0.0001 | 0.00001"}, "选题：满分和步长最多保留两位小数。",
        "选题: maximum and step have at most 2 decimals"),
    "grade rule dropping marks from too few judges": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/grade-rule",
        {"kind": "quota", "labels": "一类,二类", "shares": "0.3,0.3", "trim_from": "-1"},
        "去掉最高分和最低分的起始评委人数应在 3 到 30 之间（填写的是 -1）。",
        "the highest and lowest marks can be dropped from 3 to 30 judges on (got -1)"),
    "grade rule with a negative recommendation": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/grade-rule",
        {"kind": "quota", "labels": "一类,二类", "shares": "0.3,0.3", "recommend_top_k": "-2"},
        "推荐上报名额不能为负数。", "the number recommended onward cannot be negative"),
    "grade rule with an unknown method": lambda c, ids: (
        f"/staff/contests/{c}/setup", f"/staff/contests/{c}/setup/grade-rule",
        {"kind": "quota", "labels": "一类,二类", "shares": "0.3,0.3", "method": "bayes"},
        "未知的校正方法 bayes", "unknown calibration method bayes"),
    "preview floor above 100": lambda c, ids: (
        f"/staff/contests/{c}/grading", f"/staff/contests/{c}/grading/preview", {"floor": "200", "draws": "100"},
        "最低分数线应在 0 到 100 之间（填写的是 200）。", "the floor is a score from 0 to 100 (got 200)"),
    "too few reviewers per entry": lambda c, ids: (
        f"/staff/contests/{c}/assign", f"/staff/contests/{c}/assign/reviewers", {"per_entry": "1", "seed": "7"},
        "每个成果至少需要 2 位初审专家。", "each entry needs at least 2 reviewers"),
    "more reviewers per entry than there are": lambda c, ids: (
        f"/staff/contests/{c}/assign", f"/staff/contests/{c}/assign/reviewers", {"per_entry": "99", "seed": "7"},
        r"只有 \d+ 位初审专家，而每个成果需要 99 位。", r"only \d+ reviewers; 99 are needed per entry"),
    "panel member from nowhere": lambda c, ids: (
        f"/staff/contests/{c}/assign", f"/staff/contests/{c}/assign/panel",
        {"venue_id": str(ids["venue"]), "person_id": "987654", "action": "add"},
        "分会场或人员不属于本赛事。", "venue or person is not in this contest"),
    "entry to a venue without an entry": lambda c, ids: (
        f"/staff/contests/{c}/assign", f"/staff/contests/{c}/assign/entry", {"venue_id": str(ids["venue"])},
        "请填写成果。", "entry is required."),
    "conflict without a reason": lambda c, ids: (
        f"/staff/contests/{c}/conflicts", f"/staff/contests/{c}/conflicts",
        {"person_id": str(ids["person"]), "entry_id": str(ids["entry"]), "reason": " "},
        "请填写回避理由。", "a conflict needs a reason"),
    "preview draws": lambda c, ids: (
        f"/staff/contests/{c}/grading", f"/staff/contests/{c}/grading/preview", {"draws": "5"},
        "模拟次数必须在 50 到 5000 之间。", "draws must be between 50 and 5000"),
}


def _matches(expected: str, got: str) -> bool:
    return got == expected or (("\\d" in expected) and re.fullmatch(expected, got) is not None)


# ------------------------------------------------------------------------------------------------ pages
@pytest.mark.parametrize("name", list(CASES))
def test_a_refused_form_shows_the_reason_in_chinese_and_changes_nothing(settings: Settings, demo: int, client: Any,
                                                                      name: str) -> None:
    make_staff(settings)
    staff_login(client)
    form_page, action, data, zh, en = CASES[name](demo, _ids(settings, demo))
    before = _snapshot(settings)

    r = client.post(action, data=data, headers={"Referer": f"http://podium.test{form_page}"},
                    follow_redirects=False)
    assert r.status_code == 400, r.text[:500]
    message, back, label = _refusal(r)
    assert _matches(zh, message), message
    assert "<title>无法保存 · " in r.text and "<h1>无法保存</h1>" in r.text
    assert "未保存任何内容。请返回，修改表单后重新提交。" in r.text
    assert back == form_page and label == "返回"
    assert 'href="/staff/audit"' in r.text  # the staff top bar
    if action != "/staff/contests":
        assert '<nav class="tabs"' in r.text and f'href="/staff/contests/{demo}/setup"' in r.text  # contest tabs
    assert '<html lang="zh-Hans">' in r.text
    assert _snapshot(settings) == before

    # English on request; without a Referer the way back is the contest's page (or the contest list).
    r = client.post(f"{action}?lang=en", data=data, follow_redirects=False)
    assert r.status_code == 400
    message, back, label = _refusal(r)
    assert _matches(en, message), message
    assert "<h1>Could not save</h1>" in r.text and "Nothing was saved." in r.text and label == "Back"
    assert back == (f"/staff/contests/{demo}" if action != "/staff/contests" else "/staff")
    assert _snapshot(settings) == before


def test_the_language_cookie_and_the_tab_of_the_form(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    client.cookies.set("podium_lang", "en")
    r = client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "V1", "name": "x"})
    assert r.status_code == 400 and _refusal(r)[0] == "venue code V1 is taken"
    assert f'<a href="/staff/contests/{demo}/setup" class="on">Setup</a>' in r.text
    client.cookies.set("podium_lang", "zh_Hans")
    r = client.post(f"/staff/contests/{demo}/assign/reviewers", data={"per_entry": "1"})
    assert _refusal(r)[0] == "每个成果至少需要 2 位初审专家。"
    assert f'<a href="/staff/contests/{demo}/assign" class="on">分配</a>' in r.text


def test_the_way_back_stays_on_this_site_and_user_text_is_escaped(settings: Settings, demo: int,
                                                                   client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    rubric = _ids(settings, demo)["onsite_rubric"]
    # A form posted from another site's page is refused before it is read (judging/origin.py) ...
    r = client.post(f"/staff/contests/{demo}/setup/rubrics/{rubric}", data={"items": "<script>alert(1)</script>"},
                    headers={"Referer": "http://evil.example/phish"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    # ... and a Referer on this site whose path would leave it ("//host" is another site) is not the way back.
    r = client.post(f"/staff/contests/{demo}/setup/rubrics/{rubric}", data={"items": "<script>alert(1)</script>"},
                    headers={"Referer": "http://podium.test//evil.example/phish"})
    assert r.status_code == 400
    message, back, _ = _refusal(r)
    assert message == "每行应为：代码 | 中文名称 | 英文名称 | 满分 | 步长。这一行不符合：“<script>alert(1)</script>”"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert(1)" not in r.text
    assert back == f"/staff/contests/{demo}"
    # The form's own page with its query is kept (e.g. a filtered list).
    r = client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "", "name": ""},
                    headers={"Referer": f"http://podium.test/staff/contests/{demo}/setup?msg=saved"})
    assert _refusal(r)[1] == f"/staff/contests/{demo}/setup?msg=saved"


def test_the_api_keeps_its_english_json_errors(settings: Settings, demo: int, client: Any) -> None:
    make_staff(settings)
    staff_login(client)
    client.cookies.set("podium_lang", "zh_Hans")
    for path, body, message in (
        ("/api/staff/contests", {"name": "2031年赛事", "year": 1999}, "the year must be between 2000 and 2100"),
        (f"/api/staff/contests/{demo}/grading/preview", {"draws": 5}, "draws must be between 50 and 5000"),
    ):
        r = client.post(path, json=body, headers={"Accept": "text/html,application/json"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
        assert r.json()["error"] == {"code": "invalid", "message": message, "detail": None}


# ------------------------------------------------------------------------------------------------ coverage
REFUSERS = {"SetupError", "SetupNotFound", "SetupInUse", "AssignmentError", "Refusal", "_bad"}
# Functions whose argument (by position) names a field: the name is a catalog msgid shown inside a message.
FIELD_ARGUMENT = {"Msgid": 0, "_int": 1, "_decimal": 1, "_float": 1, "_whole": 1, "nums": 1}


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _calls(path: Path, functions: set[str] | None = None) -> list[ast.Call]:
    """The calls in a module (or only inside the named functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: list[ast.AST] = [tree] if functions is None else [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in functions]
    return [n for root in roots for n in ast.walk(root) if isinstance(n, ast.Call)]


def refusal_messages() -> list[tuple[str, str, set[str] | None]]:
    """(where, template, parameter names given or None when not checked) of every refusal a staff form can show."""
    found: list[tuple[str, str, set[str] | None]] = []
    for module in ("setup.py", "assignment.py", "web.py"):
        path = ROOT / "staff" / module
        for call in _calls(path):
            name = _callee(call)
            where = f"{module}:{call.lineno}"
            if name in REFUSERS and call.args:
                arg = call.args[0]
                assert not isinstance(arg, ast.JoinedStr), \
                    f"{where}: an f-string refusal cannot be translated; pass a template and its parameters"
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    given = set() if name == "_bad" else {k.arg for k in call.keywords if k.arg}
                    found.append((where, arg.value, given))
            if name in FIELD_ARGUMENT and len(call.args) > FIELD_ARGUMENT[name]:
                arg = call.args[FIELD_ARGUMENT[name]]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((where, arg.value, set()))
    # Services whose errors reach _bad: the conflict form (plain ValueErrors), grading (every GradingError: the
    # preview, the boundary review, approval, the recompute check).
    for module, exc, functions in (("conflicts.py", "ValueError", {"add_conflict"}),
                                   ("grading.py", "GradingError", None)):
        for call in _calls(ROOT / "staff" / module, functions):
            if _callee(call) == exc and call.args:
                arg = call.args[0]
                assert not isinstance(arg, ast.JoinedStr), f"{module}:{call.lineno}: an f-string refusal"
                if isinstance(arg, ast.Constant):
                    given = {k.arg for k in call.keywords if k.arg} if exc == "GradingError" else None
                    found.append((f"{module}:{call.lineno}", str(arg.value), given))
    return found


def test_the_scan_finds_the_refusals() -> None:
    found = {text for _, text, _ in refusal_messages()}
    assert len(found) > 40
    assert {"venue code {code} is taken", "only {have} reviewers; {need} are needed per entry", "year",
            "a conflict needs a reason", "the contest has no entries", "{what} is required."} <= found


def test_every_refusal_has_a_chinese_translation_with_its_parameters() -> None:
    zh, en = catalog("zh_Hans"), catalog("en")
    missing, wrong = [], []
    for where, text, given in refusal_messages():
        if text not in zh:
            missing.append(f"{where}: {text!r}")
            continue
        if given is not None and given != _placeholders(text):
            wrong.append(f"{where}: {text!r} is given {sorted(given)}")
        for locale, table in (("zh_Hans", zh), ("en", en)):
            if text in table and _placeholders(table[text]) != _placeholders(text):
                wrong.append(f"{where}: the {locale} text of {text!r} has other placeholders")
    assert not missing, "no zh_Hans translation (add it to judging/staff/_catalog.py): " + "; ".join(missing)
    assert not wrong, "; ".join(wrong)


def test_a_refusal_is_english_text_and_translates_with_its_parameters() -> None:
    e = SetupError("venue code {code} is taken", code="{x}")
    assert str(e) == "venue code {x} is taken" and isinstance(e, (Refusal, ValueError))
    assert e.text(Translator("zh_Hans").gettext) == "分会场编号 {x} 已被使用。"  # a parameter is not a template
    assert e.text(Translator("en").gettext) == e.text() == str(e)
    r = Refusal("{what} must be a whole number.", what=Msgid("recommend_top_k"))
    assert str(r) == "recommend_top_k must be a whole number."
    assert r.text(Translator("zh_Hans").gettext) == "推荐上报名额必须是整数。"
    assert r.text(Translator("en").gettext) == "the number recommended onward must be a whole number."


def test_odd_input_is_refused_not_a_server_error(settings: Settings, demo: int, client: Any) -> None:
    """A Referer that is not a URL, a floor that is not finite, a venue name at the longest allowed (its host and
    screen accounts are named after it): refusals or saves, never a 500."""
    make_staff(settings)
    staff_login(client)
    r = client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "", "name": ""},
                    headers={"Referer": "http://[", "Accept": "text/html"})
    assert r.status_code == 403  # not a URL of this site: refused as a foreign page's (judging/origin.py)
    r = client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "", "name": ""},
                    headers={"Referer": "http://podium.test/[%zz", "Accept": "text/html"})
    assert r.status_code == 400 and "无法保存" in r.text
    for floor in ("nan", "inf", "-inf"):
        r = client.post(f"/staff/contests/{demo}/grading/preview", data={"floor": floor, "draws": "100"},
                        headers={"Accept": "text/html"})
        assert r.status_code == 400, (floor, r.text[:200])
    name = "会" * 100
    r = client.post(f"/staff/contests/{demo}/setup/venues", data={"code": "VX", "name": name},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text

    async def accounts(session: Any) -> list[str]:
        vid = await session.scalar(select(Venue.id).where(Venue.code == "VX"))
        return list((await session.execute(select(Account.display_name).join(
            RoleGrant, RoleGrant.account_id == Account.id).where(RoleGrant.venue_id == vid))).scalars())

    names = run_db(settings, accounts)
    assert len(names) == 2 and all(len(n) == 100 and n.startswith("会") for n in names)


def test_a_preview_from_an_older_rule_with_an_empty_floor(settings: Settings, demo: int, client: Any) -> None:
    """A grade rule saved by an older version may hold ``floor: ""``: the preview's checks treat it as no floor
    (it was a TypeError, a 500)."""
    from judging.db.models import Contest

    make_staff(settings)
    staff_login(client)

    async def older(session: Any) -> None:
        contest = await session.get(Contest, demo)
        contest.grade_rule = {**(contest.grade_rule or {}), "floor": ""}

    run_db(settings, older)
    r = client.post(f"/staff/contests/{demo}/grading/preview", data={"draws": "100"}, follow_redirects=False)
    assert r.status_code in (200, 302, 303), r.text[:300]
