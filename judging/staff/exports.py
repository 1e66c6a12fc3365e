"""Exports of a grade run: grade list (.xlsx/.csv), per-venue score sheets with every judge's score and the
dropped marks, per-judge sheets, the recommendation summary per recommending unit (推荐汇总表). File names and
sheet titles are Chinese. Score sheets use exactly the score rows the run used (its snapshot)."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.models import Contest, GradeResult, GradeRun, Rubric, RubricItem
from judging.staff.grading import Inputs, load_inputs
from judging.web import percent
from scoring import round_half_up

GRADE_HEADERS = ["排名", "成果编号", "成果名称", "小组名称", "企业名称", "推荐单位", "课题类型", "分会场", "初审得分",
                 "发表得分", "最终得分", "等级", "该等级概率", "推荐上报", "临界复核"]
DROPPED_FILL = PatternFill("solid", fgColor="DDDDDD")
RECUSED_FILL = PatternFill("solid", fgColor="FDE2E0")
BOLD = Font(bold=True)
STATUS_ZH = {"preview": "预览", "final": "定稿", "outdated": "已过期"}


def _title(text: str, used: set[str]) -> str:
    t = re.sub(r"[\\/*?:\[\]]", "", text)[:31] or "Sheet"
    base, n = t, 2
    while t in used:
        suffix = f"({n})"
        t = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(t)
    return t


def _bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def content_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def file_stem(contest: Contest, run: GradeRun, what: str) -> str:
    status = STATUS_ZH.get(run.status, run.status)
    return f"{contest.name}_{what}_第{run.id}次计算{'' if run.status == 'final' else '_' + status}"


async def run_results(session: AsyncSession, run: GradeRun) -> list[dict[str, Any]]:
    rows = (await session.execute(select(GradeResult).where(GradeResult.run_id == run.id))).scalars().all()
    out = [dict(r.explanation or {}) | {"grade": r.grade, "rank": r.rank, "recommended": r.recommended,
                                         "probability": r.probability} for r in rows]
    out.sort(key=lambda r: (r.get("topic", ""), r.get("rank") or 10**9, r.get("code", "")))
    return out


def _grade_row(r: dict[str, Any]) -> list[Any]:
    return [r.get("rank"), r.get("code"), r.get("title"), r.get("team"), r.get("organization"),
            r.get("recommending_unit"), r.get("topic"), r.get("venue"), _round(r.get("initial")),
            _round(r.get("onsite")), _round(r.get("final")), r.get("grade"),
            _round(r.get("probability")),  # half up, as the page's percentage: 0.825 -> 0.83 -> 83%
            "是" if r.get("recommended") else "", review_note(r.get("review"))]


PROBABILITY_COLUMN = GRADE_HEADERS.index("该等级概率")


def review_note(review: dict[str, Any] | None) -> str:
    """The boundary review's decision as the grade list prints it ("" when the entry needed none)."""
    if not review:
        return ""
    if review.get("kept"):
        return f"维持{review['grade']}" + (f"：{review['reason']}" if review.get("reason") else "")
    return f"由{review['from']}改为{review['grade']}：{review.get('reason', '')}"


def _round(x: Any) -> float | None:
    """Two decimals rounded half up, as the screens and the staff pages show a score (``round`` would give the
    binary float's half-even: 56.625 -> 56.62 in the list but 56.63 on the screen)."""
    return None if x is None else float(round_half_up(float(x), 2))


def grade_list_xlsx(contest: Contest, run: GradeRun, results: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "成果等级"
    ws.append([f"{contest.name} 成果等级名单"])
    ws.append([f"状态：{STATUS_ZH.get(run.status, run.status)}  计算编号：{run.id}  输入摘要：{run.input_digest[:16]}  "
               f"引擎版本：{run.engine_version}"])
    ws.append(GRADE_HEADERS)
    for cell in ws[3]:
        cell.font = BOLD
    for r in results:
        ws.append(_grade_row(r))
        ws.cell(row=ws.max_row, column=PROBABILITY_COLUMN + 1).number_format = "0%"  # a number, shown as the page does
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(GRADE_HEADERS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    for col, width in zip("ABCDEFGHIJKLMN", (6, 12, 36, 24, 24, 20, 12, 12, 10, 10, 10, 8, 10, 8), strict=True):
        ws.column_dimensions[col].width = width
    return _bytes(wb)


def grade_list_csv(results: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(GRADE_HEADERS)
    for r in results:
        row = _grade_row(r)
        row[PROBABILITY_COLUMN] = percent(row[PROBABILITY_COLUMN], missing="")
        w.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


async def _inputs(session: AsyncSession, run: GradeRun) -> Inputs:
    return await load_inputs(session, run.contest_id, snapshot=run.config.get("snapshot", {}))


async def venue_sheets_xlsx(session: AsyncSession, run: GradeRun, results: list[dict[str, Any]]) -> bytes:
    """One sheet per venue: entries x judges (on-site totals), dropped marks grey, recused marks red."""
    inputs = await _inputs(session, run)
    dropped = set(run.config.get("report", {}).get("dropped", []))
    by_entry = {r["entry_id"]: r for r in results}
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    rows = [r for r in inputs.rows if r.stage == "onsite"]
    for vid, vname in inputs.venues.items():
        ents = [e for e in inputs.entries if e.venue_id == vid]
        judges = sorted({(r.person_id, r.person) for r in rows if r.entry_id in {e.id for e in ents}})
        ws = wb.create_sheet(_title(f"{vname}评分表", used))
        ws.append([f"{vname} 发表评分汇总（灰色：去掉的最高分/最低分；红色：回避不计）"])
        ws.append(["发表顺序", "成果编号", "成果名称", *[name for _, name in judges], "去掉的分数", "有效平均分",
                   "发表得分"])
        for cell in ws[2]:
            cell.font = BOLD
        cell_of = {(r.entry_id, r.person_id): r for r in rows}
        ents.sort(key=lambda e: (e.running_order or 0, e.code))
        for e in ents:
            line: list[Any] = [e.running_order, e.code, e.title]
            drops = []
            for pid, _ in judges:
                r = cell_of.get((e.id, pid))
                line.append(None if r is None else float(r.total))
                if r is not None and r.version_id in dropped and not r.recused:
                    drops.append(f"{float(r.total):g}")
            res = by_entry.get(e.id, {})
            line += ["、".join(drops), _round(res.get("onsite_trimmed")), _round(res.get("onsite"))]
            ws.append(line)
            for k, (pid, _) in enumerate(judges):
                r = cell_of.get((e.id, pid))
                if r is None:
                    continue
                cell = ws.cell(row=ws.max_row, column=4 + k)
                if r.recused:
                    cell.fill = RECUSED_FILL
                    cell.value = f"回避({float(r.total):g})"
                elif r.version_id in dropped:
                    cell.fill = DROPPED_FILL
    if not wb.worksheets:
        wb.create_sheet("评分表")
    return _bytes(wb)


async def judge_sheets_xlsx(session: AsyncSession, run: GradeRun) -> bytes:
    """One sheet per judge or reviewer: every entry they scored, item by item, with the total."""
    inputs = await _inputs(session, run)
    rubrics = {r.id: r for r in (await session.execute(select(Rubric))).scalars()}
    items_by_key: dict[str, str] = {}
    for it in (await session.execute(select(RubricItem))).scalars():
        if it.rubric_id in rubrics:
            items_by_key.setdefault(it.key, it.label_zh)
    ents = {e.id: e for e in inputs.entries}
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    by_person: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in inputs.rows:
        by_person[(r.person_id, r.person)].append(r)
    for (_pid, name), rows in sorted(by_person.items(), key=lambda kv: kv[0][1]):
        keys: list[str] = []
        for r in rows:
            for k in r.values:
                if k not in keys:
                    keys.append(k)
        ws = wb.create_sheet(_title(f"{name}", used))
        ws.append([f"评委/专家：{name}"])
        ws.append(["阶段", "成果编号", "成果名称", *[items_by_key.get(k, "总分" if k == "_total" else k) for k in keys],
                   "总分", "回避"])
        for cell in ws[2]:
            cell.font = BOLD
        for r in sorted(rows, key=lambda r: (r.stage, ents[r.entry_id].code if r.entry_id in ents else "")):
            e = ents.get(r.entry_id)
            ws.append(["初审" if r.stage == "initial" else "发表", e.code if e else r.entry_id, e.title if e else "",
                       *[float(r.values[k]) if k in r.values else None for k in keys], float(r.total),
                       "是" if r.recused else ""])
        ws.append([])
        ws.append(["签字：", "", "", "日期："])
    if not wb.worksheets:
        wb.create_sheet("评委评分")
    return _bytes(wb)


def recommendation_summary_xlsx(contest: Contest, run: GradeRun, results: list[dict[str, Any]]) -> bytes:
    """推荐汇总表: per recommending unit, the counts per grade and every entry with its grade."""
    names = list(run.config.get("report", {}).get("grade_names", []))
    wb = Workbook()
    ws = wb.active
    ws.title = "推荐汇总表"
    ws.append([f"{contest.name} 推荐汇总表"])
    ws.append(["推荐单位", "成果数", *names, "推荐上报数"])
    for cell in ws[2]:
        cell.font = BOLD
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        units[r.get("recommending_unit") or "（未填推荐单位）"].append(r)
    for unit in sorted(units):
        rs = units[unit]
        ws.append([unit, len(rs), *[sum(1 for r in rs if r.get("grade") == n) for n in names],
                   sum(1 for r in rs if r.get("recommended"))])
    detail = wb.create_sheet("推荐明细")
    detail.append(["推荐单位", "成果编号", "成果名称", "企业名称", "课题类型", "最终得分", "等级", "推荐上报"])
    for cell in detail[1]:
        cell.font = BOLD
    for unit in sorted(units):
        for r in sorted(units[unit], key=lambda r: r.get("code", "")):
            detail.append([unit, r.get("code"), r.get("title"), r.get("organization"), r.get("topic"),
                           _round(r.get("final")), r.get("grade"), "是" if r.get("recommended") else ""])
    return _bytes(wb)
