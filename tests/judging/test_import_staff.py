"""Excel/CSV import with ugly real-world files built here: title rows, merged cells, aliases, full-width digits,
GB18030 CSV, duplicate codes, unknown topic types, missing columns, scores above the item maximum."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from judging.db.models import (
    Conflict,
    Entry,
    PanelMember,
    Person,
    RoleGrant,
    Rubric,
    ScoreSheet,
    SheetVersion,
    Stage,
    Venue,
)
from judging.settings import Settings
from judging.staff import importing, setup
from tests.conftest import run_db
from tests.helpers import make_staff, staff_login
from tests.judging.staff_support import xlsx_bytes

TITLE = "2025年山东省质量管理小组成果发表赛 申报成果汇总表"


def _contest(settings: Settings) -> int:
    async def go(session: Any) -> int:
        c = await setup.create_contest(session, "2025年测试赛", 2025, "山东省质量管理协会")
        for code, name in (("V1", "第一分会场"), ("V2", "第二分会场")):
            await setup.save_venue(session, c.id, {"code": code, "name": name})
        return c.id

    return int(run_db(settings, go))


def _import(settings: Settings, contest_id: int, kind: str, data: bytes, name: str, **kw: Any) -> importing.Report:
    async def go(session: Any) -> importing.Report:
        return await importing.run_import(session, contest_id, kind, data, name, **kw)

    return run_db(settings, go)


def _count(settings: Settings, model: Any, *where: Any) -> int:
    async def go(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return _count_run(settings, go)


def _count_run(settings: Settings, fn: Any) -> int:
    return int(run_db(settings, fn))


def _errors(report: importing.Report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in report.errors]


UGLY_HEADER = ["序号", "成果 编号", "课题名称", "QC小组名称", "*单位名称", "推荐单位", "课题类型", "课题类别", "分会场",
               "出场顺序"]


def ugly_entries() -> bytes:
    """Two title rows (the first merged across), aliases, full-width digits, stray spaces, a vertically merged
    recommending unit (two rows), a trailing empty row."""
    rows = [
        [TITLE] + [None] * 9,
        ["填报日期：２０２５年３月１日", None, None, None, None, None, None, None, None, None],
        UGLY_HEADER,
        [1, "２０２５－００１", " 降低变压器故障率 ", "济南电力QC小组", "济南电力公司", "济南市质量管理协会",
         "问题解决型", "现场型课题", "Ｖ１", "１"],
        [2, "2025-002", "研制新型检测工装", "青岛机械QC小组", "青岛机械制造厂", "淄博市质量管理协会", "创新型",
         "创新型", "V2", 1],
        [3, "2025-003", "提高　一次交检合格率", "淄博化工QC小组", "淄博化工有限公司", None,
         "问题解决", "攻关型", "第一分会场", 2.0],
        [4, "2025-004", "质量信得过班组建设", "烟台港口班组", "烟台港口集团", "烟台市质量管理协会", "信得过班组", "",
         None, None],
        [None] * 10,
    ]
    return xlsx_bytes(rows, merges=("A1:J1", "F5:F6"))


def test_ugly_clean_xlsx_imports_completely_and_normalises(settings: Settings) -> None:
    cid = _contest(settings)
    report = _import(settings, cid, "entries", ugly_entries(), "成果汇总.xlsx")
    assert report.errors == []
    assert report.header_row == 3
    assert report.rows == 4 and report.written and report.created == 4
    assert report.ignored == ["序号"]

    async def check(session: Any) -> dict[str, Entry]:
        return {e.code: e for e in (await session.execute(select(Entry).where(Entry.contest_id == cid))).scalars()}

    entries = run_db(settings, check)
    assert sorted(entries) == ["2025-001", "2025-002", "2025-003", "2025-004"]
    e1, e2, e3 = entries["2025-001"], entries["2025-002"], entries["2025-003"]
    assert e1.title == "降低变压器故障率" and e1.circle_type == "现场型" and e1.running_order == 1
    # The merged recommending-unit cell (F5:F6) fills both rows.
    assert e2.recommending_unit == "淄博市质量管理协会" == e3.recommending_unit
    assert e3.title == "提高 一次交检合格率"  # ideographic space normalised
    assert e3.running_order == 2

    async def venues(session: Any) -> dict[int, str]:
        return {v.id: v.code for v in (await session.execute(select(Venue).where(Venue.contest_id == cid))).scalars()}

    v = run_db(settings, venues)
    assert v[e1.venue_id] == "V1" and v[e2.venue_id] == "V2" and v[e3.venue_id] == "V1"
    assert entries["2025-004"].venue_id is None
    # Re-importing the same file updates rather than duplicates.
    again = _import(settings, cid, "entries", ugly_entries(), "成果汇总.xlsx")
    assert again.created == 0 and again.updated == 4


def test_broken_xlsx_reports_every_bad_row_and_writes_nothing(settings: Settings) -> None:
    cid = _contest(settings)
    rows = [
        [TITLE] + [None] * 9,
        UGLY_HEADER,
        [1, "2025-001", "降低故障率", "A小组", "A公司", "济南", "问题解决型", "现场型", "V1", 1],
        [2, "２０２５-００１", "重复编号", "B小组", "B公司", "济南", "创新型", "", "", ""],
        [3, "2025-003", "未知类型", "C小组", "C公司", "济南", "管理创新型", "", "", ""],
        [4, "2025-004", "", "D小组", "D公司", "济南", "问题解决型", "", "V9", "第一"],
        [5, "2025-005", "合规成果", "E小组", "E公司", "济南", "问题解决型", "技术型", "", ""],
        [6, "2025-006", "顺序为零", "F小组", "F公司", "济南", "问题解决型", "", "V1", 0],
    ]
    report = _import(settings, cid, "entries", xlsx_bytes(rows, merges=("A1:J1",)), "ugly.xlsx")
    assert _errors(report) == [
        (4, "成果 编号", "duplicate_in_file"),
        (5, "课题类型", "unknown_topic_type"),
        (6, "课题名称", "required"),
        (6, "分会场", "unknown_venue"),
        (6, "出场顺序", "not_integer"),
        (7, "课题类别", "unknown_circle_type"),
        (8, "出场顺序", "order_out_of_range"),
    ]
    assert report.errors[0].message() == "Duplicate: also in row 3."
    from judging.i18n import Translator

    zh = Translator("zh_Hans")
    assert report.errors[0].message(zh.gettext) == "重复：与第 3 行相同。"
    assert "管理创新型" in report.errors[1].message(zh.gettext)
    assert report.errors[-1].message(zh.gettext) == "发表顺序应为 1 到 999 之间的数字，而不是“0”。"
    assert not report.written and report.valid_rows == 1
    assert _count(settings, Entry, Entry.contest_id == cid) == 0
    # The error file lists the same rows.
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(importing.errors_xlsx(report, zh.gettext))).active
    assert ws.title == "错误清单"
    assert [c.value for c in ws[1]] == ["行号", "列", "内容", "原因"]
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == [4, 5, 6, 6, 6, 7, 8]
    # Explicitly importing only the valid rows writes just those.
    partial = _import(settings, cid, "entries", xlsx_bytes(rows), "ugly.xlsx", only_valid=True)
    assert partial.written and partial.created == 1
    assert _count(settings, Entry, Entry.contest_id == cid) == 1


def test_missing_columns_are_reported_at_the_header_row(settings: Settings) -> None:
    cid = _contest(settings)
    rows = [[TITLE, None, None], ["成果编号", "成果名称", "企业名称"], ["2025-001", "降低故障率", "A公司"]]
    report = _import(settings, cid, "entries", xlsx_bytes(rows), "missing.xlsx")
    assert _errors(report) == [(2, "小组名称", "missing_column"), (2, "课题类型", "missing_column")]
    assert "QC小组名称" in report.errors[0].message()
    assert _count(settings, Entry, Entry.contest_id == cid) == 0
    nothing = _import(settings, cid, "entries", xlsx_bytes([["hello"], ["world"]]), "x.xlsx")
    assert [e.code for e in nothing.errors] == ["no_header"]
    junk = _import(settings, cid, "entries", b"PK\x03\x04 not a zip", "x.xlsx")
    assert [e.code for e in junk.errors] == ["unreadable"]
    # Why a file cannot be read is said in the page's language, with what to do about it.
    from judging.i18n import Translator

    zh = Translator("zh_Hans").gettext
    assert junk.errors[0].message(zh) == \
        "无法读取文件：不是可读取的 .xlsx 文件：请用 Excel 或 WPS 打开后重新另存为 .xlsx。"
    for data, name, shown in ((b"", "x.xlsx", "文件是空的。"), (b"\xd0\xcf\x11\xe0", "old.xls", "不支持旧版 .xls 文件"),
                              (b"%PDF-1.4", "report.pdf", "请上传 .xlsx 或 .csv 文件。")):
        report = _import(settings, cid, "entries", data, name)
        assert [e.code for e in report.errors] == ["unreadable"] and shown in report.errors[0].message(zh), name
    assert "not a readable .xlsx file" in junk.errors[0].message()  # the API keeps English


def test_gb18030_csv_with_full_width_digits(settings: Settings) -> None:
    cid = _contest(settings)
    text = ("2025年成果汇总\n"
            "成果编号,成果名称,小组名称,企业名称,推荐单位,成果类型\n"
            "２０２５－０１０,降低能耗,潍坊燃气QC小组,潍坊燃气公司,潍坊市质量管理协会,问题解决型\n"
            "2025-011, 缩短停机时间 ,日照港口QC小组,日照港口集团,日照市质量管理协会,创新型\n")
    data = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    report = _import(settings, cid, "entries", data, "汇总.csv")
    assert report.errors == [] and report.created == 2
    assert report.header_row == 2

    async def titles(session: Any) -> dict[str, str]:
        rows = (await session.execute(select(Entry).where(Entry.contest_id == cid))).scalars()
        return {e.code: e.title for e in rows}

    assert run_db(settings, titles) == {"2025-010": "降低能耗", "2025-011": "缩短停机时间"}
    # UTF-8 with BOM too.
    bom = ("\ufeff" + text.replace("２０２５－０１０", "2025-012").replace("2025-011", "2025-013")).encode("utf-8")
    assert _import(settings, cid, "entries", bom, "汇总.csv").created == 2


def test_judges_import_creates_people_accounts_panels_and_auto_conflicts(settings: Settings) -> None:
    cid = _contest(settings)
    _import(settings, cid, "entries", ugly_entries(), "e.xlsx")
    rows = [["评委名单"], ["专家姓名", "工作单位", "职称", "手机号码", "身份", "会场"],
            ["王 伟", "济南电力公司", "高级工程师", "１３８００００００００", "评审组长", "V1"],
            ["李芳", "山东大学", "教授", "", "评委", "V1"],
            ["张磊", "青岛机械制造厂", "", "", "评委", "V2"],
            ["赵静", "协会专家库", "注册质量师", "", "初审专家", ""],
            ["孙杰", "某公司", "", "", "观察员", "V3"]]
    bad = _import(settings, cid, "judges", xlsx_bytes(rows), "judges.xlsx")
    assert _errors(bad) == [(7, "身份", "unknown_role"), (7, "会场", "unknown_venue")]
    assert _count(settings, Person, Person.contest_id == cid) == 0
    report = _import(settings, cid, "judges", xlsx_bytes(rows[:-1]), "judges.xlsx")
    assert report.errors == [] and report.created == 4

    async def check(session: Any) -> dict[str, Any]:
        people = {p.name: p for p in (await session.execute(select(Person).where(Person.contest_id == cid))).scalars()}
        members = (await session.execute(select(PanelMember))).scalars().all()
        grants = (await session.execute(select(RoleGrant).where(RoleGrant.contest_id == cid,
                                                                 RoleGrant.role.not_in(("host", "display"))))
                  ).scalars().all()  # (every venue's own host and screen logins are not the import's)
        return {"people": people, "members": members, "roles": sorted(g.role for g in grants)}

    got = run_db(settings, check)
    assert "王伟" in got["people"] and got["people"]["王伟"].phone == "13800000000"
    chiefs = [m for m in got["members"] if m.is_chief]
    assert len(chiefs) == 1 and chiefs[0].person_id == got["people"]["王伟"].id
    assert got["roles"] == ["chief_judge", "judge", "judge", "judge", "reviewer"]

    from judging.staff import conflicts

    async def auto(session: Any) -> int:
        return await conflicts.detect_automatic(session, cid)

    assert run_db(settings, auto) == 2  # 王伟 (济南电力公司), 张磊 (青岛机械制造厂)
    assert _count(settings, Conflict, Conflict.source == "auto") == 2
    assert run_db(settings, auto) == 0  # idempotent


def _review_setup(settings: Settings) -> int:
    cid = _contest(settings)
    _import(settings, cid, "entries", ugly_entries(), "e.xlsx")
    people = [["姓名", "工作单位", "角色"], ["赵静", "专家库", "初审专家"], ["钱平", "专家库", "初审专家"],
              ["孙明", "济南电力公司", "初审专家"]]
    assert _import(settings, cid, "judges", xlsx_bytes(people), "p.xlsx").ok
    from judging.staff import conflicts

    async def auto(session: Any) -> int:
        return await conflicts.detect_automatic(session, cid)

    run_db(settings, auto)
    return cid


def test_review_scores_above_item_maximum_are_refused_with_exact_cells(settings: Settings) -> None:
    cid = _review_setup(settings)
    rows = [["初审评分汇总表", None, None, None, None, None, None, None, None],
            ["成果编号", "评审专家", "选题", "原因分析", "对策与实施", "效果", "成果报告", "特点", "合计"],
            ["2025-001", "赵静", 12, 35, 18, 17, 4, 8, 94],       # 原因分析 max 30
            ["2025-001", "钱平", 13, 26, 17.3, 18, 4, 9, 87.3],   # step 0.5
            ["2025-001", "孙明", 13, 26, 17, 18, 4, 9, 87],       # conflicted (same organization)
            ["2025-009", "赵静", 13, 26, 17, 18, 4, 9, 87],       # unknown entry
            ["2025-003", "钱平", 13, 26, 17, 18, 4, 9, 88],       # total mismatch
            ["2025-003", "周某", 13, 26, 17, 18, 4, 9, 87],       # unknown person
            ["2025-003", "赵静", 13, 26, 17, 18, 4, 9, 87]]       # fine
    before = _count(settings, SheetVersion)
    report = _import(settings, cid, "reviews", xlsx_bytes(rows, merges=("A1:I1",)), "初审.xlsx")
    assert _errors(report) == [
        (3, "原因分析", "above_max"),
        (4, "对策与实施", "off_step"),
        (5, "评审专家", "conflicted"),
        (6, "成果编号", "unknown_entry"),
        (7, "合计", "total_mismatch"),
        (8, "评审专家", "unknown_person"),
    ]
    assert report.errors[0].message() == "Score 35 is above the item maximum 30."
    assert _count(settings, SheetVersion) == before
    assert report.valid_rows == 1


def test_a_bad_total_gets_one_error_that_names_the_total(settings: Settings) -> None:
    """A total above the rubric's full marks is said to be the total's (not "the item's"), and a total that is not
    a number is one error, not also "no scores"."""
    cid = _review_setup(settings)
    rows = [["成果编号", "专家姓名", "总分"], ["2025-001", "赵静", 101], ["2025-002", "赵静", "abc"]]
    report = _import(settings, cid, "reviews", xlsx_bytes(rows), "totals.xlsx")
    assert _errors(report) == [(2, "总分", "total_above_max"), (3, "总分", "not_number")]
    from judging.i18n import Translator

    assert report.errors[0].message(Translator("zh_Hans").gettext) == "总分 101 超过评分表满分 100。"


def test_clean_review_totals_import_and_freeze_the_rubric(settings: Settings) -> None:
    cid = _review_setup(settings)
    rows = [["成果编号", "专家姓名", "总分", "评语"],
            ["2025-001", "赵静", "８８.５", "好"], ["2025-001", "钱平", 86, ""],
            ["2025-002", "赵静", 90, ""], ["2025-002", "钱平", 91.5, ""]]
    report = _import(settings, cid, "reviews", xlsx_bytes(rows), "totals.xlsx")
    assert report.errors == [] and report.created == 4

    async def check(session: Any) -> tuple[list[Decimal], int]:
        stage = (await session.execute(select(Stage).where(Stage.contest_id == cid, Stage.kind == "initial"))
                 ).scalar_one()
        totals = sorted(v.total for v in (await session.execute(
            select(SheetVersion).join(ScoreSheet).where(ScoreSheet.stage_id == stage.id))).scalars())
        frozen = await session.scalar(select(func.count(Rubric.id)).where(Rubric.stage_id == stage.id,
                                                                        Rubric.frozen_at.is_not(None)))
        return totals, int(frozen or 0)

    totals, frozen = run_db(settings, check)
    assert totals == [Decimal("86.00"), Decimal("88.50"), Decimal("90.00"), Decimal("91.50")]
    assert frozen == 2  # problem-solving and innovation rubrics of the initial stage
    # A corrected re-import appends a new version (the log keeps both).
    fix = [["成果编号", "专家姓名", "总分"], ["2025-001", "赵静", 89]]
    assert _import(settings, cid, "reviews", xlsx_bytes(fix), "fix.xlsx").updated == 1
    assert _count(settings, SheetVersion) == 5


def test_cli_import_prints_report_and_exits_non_zero(settings: Settings, tmp_path: Any,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from judging import cli

    cid = _contest(settings)
    monkeypatch.setenv("PODIUM_VAR_DIR", settings.var_dir)
    monkeypatch.setenv("PODIUM_SECRET", settings.secret)
    if settings.database_url:
        monkeypatch.setenv("PODIUM_DATABASE_URL", settings.database_url)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes([UGLY_HEADER, [1, "X-1", "", "A", "B", "", "未知型", "", "", ""]]))
    assert cli.main(["import", "entries", str(bad), "--contest", str(cid)]) == 1
    out = capsys.readouterr().out
    assert "第 2 行" in out or "Row 2" in out
    assert "未知型" in out
    good = tmp_path / "good.xlsx"
    good.write_bytes(ugly_entries())
    assert cli.main(["import", "entries", str(good), "--contest", str(cid), "--dry-run"]) == 0
    assert _count(settings, Entry, Entry.contest_id == cid) == 0
    assert cli.main(["import", "entries", str(good), "--contest", str(cid)]) == 0
    assert _count(settings, Entry, Entry.contest_id == cid) == 4


def test_upload_page_checks_first_then_commits_and_offers_error_file(settings: Settings, client: Any) -> None:
    cid = _contest(settings)
    make_staff(settings)
    staff_login(client)
    files = {"file": ("成果汇总.xlsx", ugly_entries(), importing_mime())}
    r = client.post(f"/staff/contests/{cid}/import/entries", files=files, data={"stage": "initial"})
    assert r.status_code == 200, r.text
    assert "import-commit" in r.text
    assert _count(settings, Entry, Entry.contest_id == cid) == 0
    token = r.text.split("/import/entries/")[1].split("/commit")[0]
    r = client.post(f"/staff/contests/{cid}/import/entries/{token}/commit", data={"stage": "initial"})
    assert r.status_code == 200 and "import-done" in r.text
    assert _count(settings, Entry, Entry.contest_id == cid) == 4
    # A double click (or a reload of the result page) does not import the file a second time.
    again = client.post(f"/staff/contests/{cid}/import/entries/{token}/commit", data={"stage": "initial"},
                        headers={"accept": "text/html"})
    assert again.status_code == 409 and "该文件已经导入" in again.text
    assert _count(settings, Entry, Entry.contest_id == cid) == 4
    assert len(_import_audit(settings)) == 1
    # A bad file: the page lists the errors, offers the error file, and nothing is written.
    bad = xlsx_bytes([UGLY_HEADER, [1, "2025-100", "X", "Y", "Z", "", "未知型", "", "", ""]])
    r = client.post(f"/staff/contests/{cid}/import/entries", files={"file": ("bad.xlsx", bad, importing_mime())})
    assert "import-errors" in r.text and "未知型" in r.text
    token = r.text.split("/import/entries/")[1].split("/errors.xlsx")[0]
    r = client.get(f"/staff/contests/{cid}/import/entries/{token}/errors.xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == 2 and rows[1][1] == "课题类型"
    # Templates carry the accepted headers.
    r = client.get(f"/staff/contests/{cid}/import/reviews/template.xlsx")
    headers = [c.value for c in load_workbook(io.BytesIO(r.content)).active[1]]
    assert headers[:3] == ["成果编号", "专家姓名", "工作单位"] and "原因分析" in headers and "总分" in headers
    # The JSON API gives the same report.
    r = client.post(f"/api/staff/contests/{cid}/import/entries?dry_run=true",
                    files={"file": ("bad.xlsx", bad, importing_mime())})
    body = r.json()
    assert r.status_code == 200 and body["written"] is False
    assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [(2, "课题类型", "unknown_topic_type")]


def importing_mime() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import_audit(settings: Settings) -> list[Any]:
    from judging.db.models import AuditLog

    async def go(session: Any) -> list[Any]:
        return list((await session.execute(select(AuditLog).where(AuditLog.action.like("import.%")))).scalars())

    return run_db(settings, go)  # type: ignore[no-any-return]


def test_an_unknown_import_or_upload_is_a_page_in_chinese(settings: Settings, client: Any) -> None:
    cid = _contest(settings)
    make_staff(settings)
    staff_login(client)
    r = client.get(f"/staff/contests/{cid}/import/scores/template.xlsx", headers={"accept": "text/html"})
    assert r.status_code == 404 and "没有“scores”这种导入" in r.text
    assert r.headers["content-type"].startswith("text/html")
    r = client.post(f"/staff/contests/{cid}/import/entries/0123456789abcdef01234567/commit",
                    headers={"accept": "text/html"})
    assert r.status_code == 404 and "上传的文件已过期" in r.text


def test_uploads_are_kept_a_day_then_swept(settings: Settings, client: Any) -> None:
    """An upload older than a day is refused as expired and deleted, with its name and commit claim, by the next
    upload; a fresh one stays."""
    import os
    import time
    from pathlib import Path

    cid = _contest(settings)
    make_staff(settings)
    staff_login(client)
    files = {"file": ("成果汇总.xlsx", ugly_entries(), importing_mime())}
    r = client.post(f"/staff/contests/{cid}/import/entries", files=files, data={"stage": "initial"})
    old = r.text.split("/import/entries/")[1].split("/commit")[0]
    imports = Path(settings.var_dir) / "imports"
    (imports / f"{old}.committed").touch()  # as a process killed mid-import leaves it
    day_ago = time.time() - 24 * 3600 - 60
    for p in imports.glob(f"{old}.*"):
        os.utime(p, (day_ago, day_ago))
    r = client.post(f"/staff/contests/{cid}/import/entries/{old}/commit", data={"stage": "initial"},
                    headers={"accept": "text/html"})
    assert r.status_code == 404 and "上传的文件已过期" in r.text
    assert _count(settings, Entry, Entry.contest_id == cid) == 0
    r = client.post(f"/staff/contests/{cid}/import/entries", files=files, data={"stage": "initial"})
    fresh = r.text.split("/import/entries/")[1].split("/commit")[0]
    assert sorted(p.name for p in imports.iterdir()) == [f"{fresh}.name", f"{fresh}.xlsx"]
    r = client.post(f"/staff/contests/{cid}/import/entries/{fresh}/commit", data={"stage": "initial"})
    assert r.status_code == 200 and _count(settings, Entry, Entry.contest_id == cid) == 4


def test_the_server_sweeps_day_old_uploads_when_it_starts(settings: Settings, tmp_path: Any) -> None:
    """The last uploads of a contest do not wait for another upload to go: a start-up sweeps them too."""
    import os
    import time
    from pathlib import Path

    from litestar.testing import TestClient

    from judging.app import create_app

    imports = Path(settings.var_dir) / "imports"
    imports.mkdir(parents=True, exist_ok=True)
    for name in ("old.xlsx", "old.name", "old.committed", "new.xlsx", "new.name"):
        (imports / name).write_bytes(b"x")
    day_ago = time.time() - 24 * 3600 - 60
    for name in ("old.xlsx", "old.name", "old.committed"):
        os.utime(imports / name, (day_ago, day_ago))
    with TestClient(create_app(settings)):
        pass
    assert sorted(p.name for p in imports.iterdir()) == ["new.name", "new.xlsx"]
