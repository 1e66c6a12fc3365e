"""Excel/CSV import of entries, judges/reviewers and scores, as exported by declaration systems.

Real exports have title rows above the header, merged cells, full-width characters and stray spaces, and name
their columns in several ways. :func:`read_table` turns a ``.xlsx`` or ``.csv`` (UTF-8 or GB18030) into rows of
normalised text (merged cells filled with their top-left value; NFKC: full-width digits and letters become
half-width; whitespace collapsed). :func:`validate` finds the header row, maps the documented column aliases
(:data:`COLUMNS`) and checks the whole file against the contest before anything is written; every bad row is
reported with its row number (as in the spreadsheet), column and reason. :func:`apply` writes a clean plan (or
only its valid rows, when the user explicitly asks) inside the caller's write transaction.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.base import utcnow
from judging.db.models import (
    Conflict,
    Entry,
    PanelMember,
    Person,
    Rubric,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import Msgid
from judging.presets import CIRCLE_TYPES

KINDS = ("entries", "judges", "reviews")
MAX_ROWS = 20000


# --------------------------------------------------------------------------------------------------
# Columns and their aliases (documented in docs/staff-guide.md)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    label: str  # canonical Chinese header (used in templates and reports)
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: dict[str, tuple[Column, ...]] = {
    "entries": (
        Column("code", "成果编号", ("编号", "成果编码", "申报编号", "成果序号", "报名编号"), True),
        Column("title", "成果名称", ("课题名称", "成果题目", "课题", "项目名称"), True),
        Column("team", "小组名称", ("QC小组名称", "班组名称", "小组", "班组", "团队名称"), True),
        Column("organization", "企业名称", ("单位名称", "申报单位", "所在单位", "工作单位", "企业", "单位"), True),
        Column("recommending_unit", "推荐单位", ("推荐单位名称", "推荐部门", "推荐协会")),
        Column("topic_type", "课题类型", ("成果类型", "类型", "课题类别类型", "评审类型"), True),
        Column("circle_type", "小组类型", ("课题类别", "成果类别", "小组类别")),
        Column("venue", "分会场", ("会场", "分组", "发表会场")),
        Column("running_order", "发表顺序", ("出场顺序", "顺序号", "发表序号")),
        Column("report_url", "成果报告链接", ("报告链接", "成果报告")),
    ),
    "judges": (
        Column("name", "姓名", ("专家姓名", "评委姓名", "评委", "专家"), True),
        Column("organization", "工作单位", ("单位名称", "企业名称", "所在单位", "单位")),
        Column("recommending_unit", "推荐单位", ("推荐单位名称",)),
        Column("title", "职称", ("职务", "职称/职务", "职称职务")),
        Column("phone", "手机", ("联系电话", "电话", "手机号码", "手机号")),
        Column("role", "角色", ("评审角色", "类别", "身份")),
        Column("venue", "分会场", ("会场", "分组")),
    ),
    "reviews": (
        Column("code", "成果编号", ("编号", "成果编码", "申报编号"), True),
        Column("reviewer", "专家姓名", ("评审专家", "评委姓名", "评委", "专家", "姓名"), True),
        Column("organization", "工作单位", ("单位名称", "专家单位")),
        Column("total", "总分", ("得分", "合计", "评分", "总得分", "合计得分")),
        Column("comment", "评语", ("意见", "评审意见", "备注")),
    ),
}

ROLE_VALUES = {
    "评委": "judge", "judge": "judge", "评审组长": "chief_judge", "组长": "chief_judge", "chief_judge": "chief_judge",
    "初审专家": "reviewer", "专家": "reviewer", "reviewer": "reviewer", "初审评委": "reviewer",
}

# Reasons: English msgids (translated in staff.po); params are filled in by ``RowError.message``.
REASONS = {
    "missing_column": "Required column {column} not found (accepted headers: {aliases}).",
    "no_header": "No header row found in the first {n} rows (expected headers such as {expected}).",
    "empty_file": "The file holds no rows.",
    "unreadable": "The file cannot be read: {detail}",
    "too_many_rows": "The file has more than {n} rows.",
    "required": "Value missing.",
    "duplicate_in_file": "Duplicate: also in row {other}.",
    "unknown_topic_type": "Unknown topic type “{value}”; expected one of {expected}.",
    "unknown_circle_type": "Unknown circle type “{value}”; expected one of {expected}.",
    "unknown_venue": "Unknown venue “{value}”; expected one of {expected}.",
    "not_integer": "Not a whole number: “{value}”.",
    "order_out_of_range": "The running order is a number from 1 to 999, not “{value}”.",
    "not_number": "Not a number: “{value}”.",
    "unknown_role": "Unknown role “{value}”; expected one of {expected}.",
    "unknown_entry": "No entry with code “{value}” in this contest.",
    "unknown_person": "No judge or reviewer named “{value}” in this contest.",
    "ambiguous_person": "Several people are named “{value}”; add the 工作单位 column to tell them apart.",
    "above_max": "Score {value} is above the item maximum {max}.",
    "total_above_max": "Total {value} is above the rubric's full marks {max}.",
    "below_zero": "Score {value} is negative.",
    "off_step": "Score {value} is not a multiple of the step {step}.",
    "no_scores": "Neither a total nor item scores given.",
    "total_mismatch": "Total {value} differs from the sum of the item scores {sum}.",
    "missing_item": "Item {item} missing (the rubric of this entry's topic type needs it).",
    "conflicted": "The reviewer has a conflict of interest with this entry ({reason}).",
    "not_on_panel": "{value} is not on the panel of this entry's venue.",
    "too_long": "Too long ({n} characters; at most {max}).",
    "rubric_missing": "The topic type of this entry has no rubric for the {stage} stage.",
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, gettext: Any = None) -> str:
        template = REASONS[self.code]
        params = self.params
        if gettext is not None:
            template = gettext(template)
            params = {k: gettext(v) if isinstance(v, Msgid) else v for k, v in params.items()}
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template


@dataclass
class Report:
    kind: str
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # key -> header as found in the file
    ignored: list[str] = field(default_factory=list)
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)  # valid rows, ready to apply
    created: int = 0
    updated: int = 0
    written: bool = False

    @property
    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors}

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def valid_rows(self) -> int:
        return len(self.plan)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "header_row": self.header_row, "rows": self.rows, "valid_rows": self.valid_rows,
                "errors": len(self.errors), "created": self.created, "updated": self.updated,
                "written": self.written, "ignored_columns": self.ignored}

    def lines(self, gettext: Any = None) -> list[str]:
        """The report as text lines (the CLI prints these)."""
        g = gettext or (lambda s: s)
        out = [g("Rows read: {rows}; valid: {valid}; with errors: {bad}.").format(
            rows=self.rows, valid=self.valid_rows, bad=len(self.bad_rows))]
        for e in self.errors:
            out.append(g("Row {row} · {column}: {message}").format(row=e.row, column=e.column or "—",
                                                                   message=e.message(gettext)))
        if self.written:
            out.append(g("Written: {created} new, {updated} updated.").format(created=self.created,
                                                                             updated=self.updated))
        return out


class ImportFileError(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Reading and normalising
# --------------------------------------------------------------------------------------------------
_WS = re.compile(r"\s+")


def normalize(value: Any) -> str:
    """Cell text: NFKC (full-width -> half-width, ideographic space -> space), whitespace collapsed, stripped."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = int(value) if value.is_integer() else Decimal(repr(value)).normalize()
    elif isinstance(value, Decimal):
        value = value.normalize()
    text = unicodedata.normalize("NFKC", str(value))
    text = text.replace("\u200b", "").replace("\ufeff", "")
    return _WS.sub(" ", text).strip()


def header_key(text: str) -> str:
    """Header text as compared with aliases: no spaces, no required-marks (*, ※), no trailing colon/brackets."""
    t = normalize(text).replace(" ", "")
    t = re.sub(r"[*※:：]", "", t)
    t = re.sub(r"\((必填|选填|可选|[^)]*分)\)$", "", t)
    return t.upper()


def decode_csv(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("the text is neither UTF-8 nor GB18030: save it again as UTF-8 CSV or as .xlsx")


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """Rows of normalised cell text (index 0 is spreadsheet row 1). ``.xlsx``/``.xlsm`` or ``.csv``/``.txt``."""
    name = filename.lower()
    if not data:
        raise ImportFileError("the file is empty")
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return _read_xlsx(data)
    if name.endswith((".csv", ".txt", ".tsv")) or not name:
        return _read_csv(data)
    if name.endswith(".xls"):
        raise ImportFileError("old .xls files are not supported: save the file as .xlsx or .csv")
    raise ImportFileError("expected a .xlsx or .csv file")


def _read_csv(data: bytes) -> list[list[str]]:
    text = decode_csv(data)
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return [[normalize(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:
        raise ImportFileError("not a readable .xlsx file: open it in Excel or WPS and save it again as .xlsx") \
            from exc
    ws = wb.worksheets[0]
    grid: list[list[Any]] = [list(r) for r in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        top = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else None
        for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
            for c in range(rng.min_col - 1, rng.max_col):
                if c < len(grid[r]):
                    grid[r][c] = top
    return [[normalize(c) for c in row] for row in grid]


# --------------------------------------------------------------------------------------------------
# Header detection
# --------------------------------------------------------------------------------------------------
def _alias_map(columns: tuple[Column, ...], extra: dict[str, str] | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns:
        for name in (col.label, *col.aliases, col.key):
            out.setdefault(header_key(name), col.key)
    for name, key in (extra or {}).items():
        out.setdefault(header_key(name), key)
    return out


def find_header(rows: list[list[str]], aliases: dict[str, str], scan: int = 15) -> tuple[int, dict[int, str]]:
    """(0-based header row index, {column index: key}); (-1, {}) if none of the first ``scan`` rows matches."""
    best: tuple[int, int, dict[int, str]] = (-1, 0, {})
    for r, row in enumerate(rows[:scan]):
        mapping: dict[int, str] = {}
        for c, cell in enumerate(row):
            key = aliases.get(header_key(cell))
            if key and key not in mapping.values():
                mapping[c] = key
        if len(mapping) >= 2 and len(mapping) > best[1]:
            best = (r, len(mapping), mapping)
    return best[0], best[2]


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    contest_id: int
    topic_types: dict[str, TopicType]
    venues: dict[str, Venue]
    stage: Stage | None = None
    rubrics: dict[int, Rubric] = field(default_factory=dict)  # topic_type_id -> rubric of the stage
    item_labels: dict[str, str] = field(default_factory=dict)  # header text -> "item:<key>"


async def _context(session: AsyncSession, contest_id: int, stage_kind: str) -> _Ctx:
    tts = (await session.execute(select(TopicType).where(TopicType.contest_id == contest_id))).scalars().all()
    topic_types: dict[str, TopicType] = {}
    for tt in tts:
        for name in (tt.key, tt.name_zh, tt.name_en, tt.name_zh.replace("型", ""), tt.name_zh + "课题"):
            topic_types[header_key(name)] = tt
        if tt.key == "trusted_team":
            topic_types[header_key("信得过班组")] = tt
    venues: dict[str, Venue] = {}
    for v in (await session.execute(select(Venue).where(Venue.contest_id == contest_id))).scalars():
        venues[header_key(v.code)] = v
        venues[header_key(v.name)] = v
    ctx = _Ctx(contest_id, topic_types, venues)
    ctx.stage = (await session.execute(
        select(Stage).where(Stage.contest_id == contest_id, Stage.kind == stage_kind))).scalar_one_or_none()
    if ctx.stage is not None:
        from sqlalchemy.orm import selectinload

        rubrics = (await session.execute(
            select(Rubric).options(selectinload(Rubric.items)).where(Rubric.stage_id == ctx.stage.id)
        )).scalars().all()
        for rub in rubrics:
            ctx.rubrics[rub.topic_type_id] = rub
            for item in rub.items:
                ctx.item_labels.setdefault(item.label_zh, "item:" + item.key)
                ctx.item_labels.setdefault(item.key, "item:" + item.key)
    return ctx


def _decimal(text: str) -> Decimal | None:
    t = text.replace("分", "").replace(",", "").strip()
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


async def validate(session: AsyncSession, contest_id: int, kind: str, rows: list[list[str]], *,
                   stage: str = "initial") -> Report:
    """Check a whole file; the returned report carries every error and the plan of valid rows."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    report = Report(kind)
    ctx = await _context(session, contest_id, stage)
    columns = COLUMNS[kind]
    aliases = _alias_map(columns, ctx.item_labels if kind == "reviews" else None)
    if not any(any(c for c in row) for row in rows):
        report.errors.append(RowError(0, "", "", "empty_file"))
        return report
    if len(rows) > MAX_ROWS:
        report.errors.append(RowError(0, "", "", "too_many_rows", {"n": MAX_ROWS}))
        return report
    h, mapping = find_header(rows, aliases)
    if h < 0:
        expected = "、".join(c.label for c in columns if c.required)
        report.errors.append(RowError(1, "", "", "no_header", {"n": 15, "expected": expected}))
        return report
    report.header_row = h + 1
    header = rows[h]
    report.columns = {key: header[c] for c, key in mapping.items()}
    report.ignored = [cell for c, cell in enumerate(header) if cell and c not in mapping]
    found = set(mapping.values())
    for col in columns:
        if col.required and col.key not in found:
            report.errors.append(RowError(h + 1, col.label, "", "missing_column",
                                          {"column": col.label, "aliases": "/".join((col.label, *col.aliases))}))
    if kind == "reviews" and "total" not in found and not any(k.startswith("item:") for k in found):
        report.errors.append(RowError(h + 1, "总分", "", "missing_column",
                                      {"column": "总分", "aliases": "总分/得分/合计 " + "/".join(
                                          sorted({lbl for lbl in ctx.item_labels if not lbl.isascii()}))}))
    if report.errors:
        return report
    label_of = {key: header[c] for c, key in mapping.items()}
    records: list[tuple[int, dict[str, str]]] = []
    for r in range(h + 1, len(rows)):
        row = rows[r]
        rec = {key: (row[c] if c < len(row) else "") for c, key in mapping.items()}
        if not any(rec.values()):
            continue
        records.append((r + 1, rec))
    report.rows = len(records)
    checker = {"entries": _check_entries, "judges": _check_judges, "reviews": _check_reviews}[kind]
    await checker(session, ctx, records, label_of, report)
    bad = report.bad_rows
    report.plan = [p for p in report.plan if p["_row"] not in bad]
    return report


def _err(report: Report, row: int, label: str, cell: str, code: str, /, **params: Any) -> None:
    report.errors.append(RowError(row, label, cell, code, params))


def _lengths(report: Report, row: int, rec: dict[str, str], label_of: dict[str, str],
             limits: dict[str, int]) -> None:
    for key, limit in limits.items():
        if len(rec.get(key, "")) > limit:
            _err(report, row, label_of[key], rec[key][:30], "too_long", n=len(rec[key]), max=limit)


async def _check_entries(session: AsyncSession, ctx: _Ctx, records: list[tuple[int, dict[str, str]]],
                         label_of: dict[str, str], report: Report) -> None:
    seen: dict[str, int] = {}
    tt_names = "、".join(sorted({tt.name_zh for tt in ctx.topic_types.values()}))
    venue_names = "、".join(sorted({v.code for v in ctx.venues.values()})) or "—"
    for row, rec in records:
        for col in COLUMNS["entries"]:
            if col.required and not rec.get(col.key):
                _err(report, row, label_of.get(col.key, col.label), "", "required")
        _lengths(report, row, rec, label_of, {"code": 40, "title": 300, "team": 200, "organization": 200,
                                              "recommending_unit": 200, "report_url": 500})
        code = rec.get("code", "").replace(" ", "")
        if code:
            if code in seen:
                _err(report, row, label_of["code"], code, "duplicate_in_file", other=seen[code])
            else:
                seen[code] = row
        tt = ctx.topic_types.get(header_key(rec.get("topic_type", ""))) if rec.get("topic_type") else None
        if rec.get("topic_type") and tt is None:
            _err(report, row, label_of["topic_type"], rec["topic_type"], "unknown_topic_type",
                 value=rec["topic_type"], expected=tt_names)
        circle = rec.get("circle_type", "")
        if circle:
            match = next((c for c in CIRCLE_TYPES if c in circle), None)
            if match is None:
                _err(report, row, label_of["circle_type"], circle, "unknown_circle_type", value=circle,
                     expected="、".join(CIRCLE_TYPES))
            circle = match or ""
        venue = _venue_of(ctx, rec, row, label_of, report, venue_names)
        order = None
        if rec.get("running_order"):
            d = _decimal(rec["running_order"])
            if d is None or d != d.to_integral_value():
                _err(report, row, label_of["running_order"], rec["running_order"], "not_integer",
                     value=rec["running_order"])
            elif not 1 <= d <= 999:
                _err(report, row, label_of["running_order"], rec["running_order"], "order_out_of_range",
                     value=rec["running_order"])
            else:
                order = int(d)
        report.plan.append({
            "_row": row, "code": code, "title": rec.get("title", ""), "team": rec.get("team", ""),
            "organization": rec.get("organization", ""), "recommending_unit": rec.get("recommending_unit", ""),
            "topic_type_id": tt.id if tt else None, "circle_type": circle,
            "venue_id": venue.id if venue else None, "running_order": order,
            "report_url": rec.get("report_url", ""),
        })


def _venue_of(ctx: _Ctx, rec: dict[str, str], row: int, label_of: dict[str, str], report: Report,
              venue_names: str) -> Any:
    """The row's venue (by code or name), or None; an unknown one is reported."""
    if not rec.get("venue"):
        return None
    venue = ctx.venues.get(header_key(rec["venue"]))
    if venue is None:
        _err(report, row, label_of["venue"], rec["venue"], "unknown_venue", value=rec["venue"],
             expected=venue_names)
    return venue


async def _check_judges(session: AsyncSession, ctx: _Ctx, records: list[tuple[int, dict[str, str]]],
                        label_of: dict[str, str], report: Report) -> None:
    seen: dict[tuple[str, str], int] = {}
    venue_names = "、".join(sorted({v.code for v in ctx.venues.values()})) or "—"
    for row, rec in records:
        name = rec.get("name", "")
        if not name:
            _err(report, row, label_of["name"], "", "required")
        _lengths(report, row, rec, label_of, {"name": 100, "organization": 200, "recommending_unit": 200,
                                              "title": 100, "phone": 40})
        key = (name.replace(" ", ""), rec.get("organization", ""))
        if name:
            if key in seen:
                _err(report, row, label_of["name"], name, "duplicate_in_file", other=seen[key])
            else:
                seen[key] = row
        role = "judge"
        if rec.get("role"):
            role_value = ROLE_VALUES.get(rec["role"].replace(" ", "").lower()) or ROLE_VALUES.get(rec["role"])
            if role_value is None:
                _err(report, row, label_of["role"], rec["role"], "unknown_role", value=rec["role"],
                     expected="评委、评审组长、初审专家")
            role = role_value or "judge"
        venue = _venue_of(ctx, rec, row, label_of, report, venue_names)
        report.plan.append({
            "_row": row, "name": name.replace(" ", "") if _is_cjk(name) else name,
            "organization": rec.get("organization", ""), "recommending_unit": rec.get("recommending_unit", ""),
            "title": rec.get("title", ""), "phone": rec.get("phone", "").replace(" ", ""), "role": role,
            "venue_id": venue.id if venue else None,
        })


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def _check_reviews(session: AsyncSession, ctx: _Ctx, records: list[tuple[int, dict[str, str]]],
                         label_of: dict[str, str], report: Report) -> None:
    assert ctx.stage is not None
    entries = {e.code: e for e in (await session.execute(
        select(Entry).where(Entry.contest_id == ctx.contest_id))).scalars()}
    people: dict[str, list[Person]] = {}
    for p in (await session.execute(select(Person).where(Person.contest_id == ctx.contest_id))).scalars():
        people.setdefault(p.name.replace(" ", ""), []).append(p)
    conflicts = (await session.execute(
        select(Conflict).join(Person, Person.id == Conflict.person_id).where(Person.contest_id == ctx.contest_id)
    )).scalars().all()
    panels: set[tuple[int, int]] = set()
    if ctx.stage.kind == "onsite":
        panels = {(m.venue_id, m.person_id) for m in (await session.execute(select(PanelMember))).scalars()}
    seen: dict[tuple[str, int], int] = {}
    item_cols = [k for k in label_of if k.startswith("item:")]
    for row, rec in records:
        code = rec.get("code", "").replace(" ", "")
        name = rec.get("reviewer", "").replace(" ", "")
        entry = person = None
        if not code:
            _err(report, row, label_of["code"], "", "required")
        else:
            entry = entries.get(code)
            if entry is None:
                _err(report, row, label_of["code"], code, "unknown_entry", value=code)
        if not name:
            _err(report, row, label_of["reviewer"], "", "required")
        else:
            candidates = people.get(name, [])
            if rec.get("organization"):
                candidates = [p for p in candidates if p.organization == rec["organization"]] or candidates
            if not candidates:
                _err(report, row, label_of["reviewer"], name, "unknown_person", value=name)
            elif len(candidates) > 1:
                _err(report, row, label_of["reviewer"], name, "ambiguous_person", value=name)
            else:
                person = candidates[0]
        if entry is not None and person is not None:
            pair = (code, person.id)
            if pair in seen:
                _err(report, row, label_of["reviewer"], name, "duplicate_in_file", other=seen[pair])
            else:
                seen[pair] = row
            hit = next((c for c in conflicts if c.person_id == person.id and (
                c.entry_id == entry.id or (c.organization and c.organization == entry.organization))), None)
            if hit is not None:
                _err(report, row, label_of["reviewer"], name, "conflicted", reason=hit.reason)
            if ctx.stage.kind == "onsite" and (entry.venue_id, person.id) not in panels:
                _err(report, row, label_of["reviewer"], name, "not_on_panel", value=name)
        rubric = ctx.rubrics.get(entry.topic_type_id) if entry is not None else None
        if entry is not None and rubric is None:
            _err(report, row, label_of["code"], code, "rubric_missing", stage=ctx.stage.name_zh)
        values: dict[str, str] = {}
        total: Decimal | None = None
        # Item scores (when the file has item columns): each within 0..max and on the item's step grid.
        if rubric is not None and item_cols:
            given = {k[5:]: rec.get(k, "") for k in item_cols}
            if any(given.get(i.key) for i in rubric.items):
                ssum = Decimal(0)
                for item in rubric.items:
                    raw = given.get(item.key, "")
                    col = label_of.get("item:" + item.key, item.label_zh)
                    if not raw:
                        _err(report, row, col, "", "missing_item", item=item.label_zh)
                        continue
                    d = _decimal(raw)
                    if d is None:
                        _err(report, row, col, raw, "not_number", value=raw)
                        continue
                    if d < 0:
                        _err(report, row, col, raw, "below_zero", value=raw)
                    elif d > item.max_points:
                        _err(report, row, col, raw, "above_max", value=_fmt(d), max=_fmt(item.max_points))
                    elif (d / item.step) != (d / item.step).to_integral_value():
                        _err(report, row, col, raw, "off_step", value=_fmt(d), step=_fmt(item.step))
                    values[item.key] = str(d.quantize(Decimal("0.01")))
                    ssum += d
                total = ssum
        if rec.get("total"):
            d = _decimal(rec["total"])
            if d is None:
                _err(report, row, label_of["total"], rec["total"], "not_number", value=rec["total"])
            else:
                limit = sum((i.max_points for i in rubric.items), Decimal(0)) if rubric is not None else Decimal(100)
                if d < 0:
                    _err(report, row, label_of["total"], rec["total"], "below_zero", value=rec["total"])
                elif d > limit:
                    _err(report, row, label_of["total"], rec["total"], "total_above_max", value=_fmt(d),
                         max=_fmt(limit))
                elif total is not None and d != total:
                    _err(report, row, label_of["total"], rec["total"], "total_mismatch", value=_fmt(d),
                         sum=_fmt(total))
                if total is None:
                    total = d
                    values = {"_total": str(d.quantize(Decimal("0.01")))}
        if total is None and entry is not None and rubric is not None and not rec.get("total"):
            _err(report, row, label_of.get("total", "总分"), "", "no_scores")  # (a bad total has its own error)
        report.plan.append({
            "_row": row, "entry_id": entry.id if entry else None, "person_id": person.id if person else None,
            "rubric_id": rubric.id if rubric else None, "values": values,
            "total": str(total.quantize(Decimal("0.01"))) if total is not None else None,
            "comment": rec.get("comment", ""),
        })


def _fmt(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
async def apply(session: AsyncSession, contest_id: int, report: Report, *, only_valid: bool = False,
                account_id: int | None = None, stage: str = "initial") -> Report:
    """Write the plan (all rows if the file is clean; the valid ones with ``only_valid``). Raises if refused."""
    if report.errors and not only_valid:
        raise ImportFileError("the file has errors: nothing was imported")
    if any(e.row <= report.header_row for e in report.errors):
        raise ImportFileError("the file itself is not importable (header or structure errors)")
    fn = {"entries": _apply_entries, "judges": _apply_judges, "reviews": _apply_reviews}[report.kind]
    await fn(session, contest_id, report, account_id, stage)
    report.written = True
    await session.flush()
    return report


async def _apply_entries(session: AsyncSession, contest_id: int, report: Report, _account: int | None,
                         _stage: str) -> None:
    existing = {e.code: e for e in (await session.execute(
        select(Entry).where(Entry.contest_id == contest_id))).scalars()}
    for p in report.plan:
        fields = {k: v for k, v in p.items() if not k.startswith("_")}
        entry = existing.get(p["code"])
        if entry is None:
            session.add(Entry(contest_id=contest_id, **fields))
            report.created += 1
        else:
            for k, v in fields.items():
                if v is not None and (v != "" or k in ("title", "team", "organization")):
                    setattr(entry, k, v)
            report.updated += 1


async def _apply_judges(session: AsyncSession, contest_id: int, report: Report, _account: int | None,
                        _stage: str) -> None:
    from judging.staff.assignment import ensure_account, set_panel_member

    people = {(p.name, p.organization): p for p in (await session.execute(
        select(Person).where(Person.contest_id == contest_id))).scalars()}
    for p in report.plan:
        person = people.get((p["name"], p["organization"]))
        if person is None:
            person = Person(contest_id=contest_id, name=p["name"], organization=p["organization"],
                            recommending_unit=p["recommending_unit"], title=p["title"], phone=p["phone"])
            session.add(person)
            await session.flush()
            people[(person.name, person.organization)] = person
            report.created += 1
        else:
            for k in ("recommending_unit", "title", "phone"):
                if p[k]:
                    setattr(person, k, p[k])
            report.updated += 1
        await ensure_account(session, contest_id, person, reviewer=p["role"] == "reviewer")
        if p["venue_id"] is not None and p["role"] != "reviewer":
            await set_panel_member(session, contest_id, p["venue_id"], person.id, chief=p["role"] == "chief_judge")


async def _apply_reviews(session: AsyncSession, contest_id: int, report: Report, account_id: int | None,
                         stage_kind: str) -> None:
    from judging.db.models import ReviewerAssignment

    stage = (await session.execute(
        select(Stage).where(Stage.contest_id == contest_id, Stage.kind == stage_kind))).scalar_one()
    now = utcnow()
    for p in report.plan:
        sheet = (await session.execute(select(ScoreSheet).where(
            ScoreSheet.stage_id == stage.id, ScoreSheet.entry_id == p["entry_id"],
            ScoreSheet.person_id == p["person_id"]))).scalar_one_or_none()
        if sheet is None:
            sheet = ScoreSheet(stage_id=stage.id, entry_id=p["entry_id"], person_id=p["person_id"],
                               rubric_id=p["rubric_id"], locked=True, locked_at=now, locked_by=account_id)
            session.add(sheet)
            await session.flush()
            version = 1
            base = None
            report.created += 1
        else:
            current = (await session.execute(select(SheetVersion).where(
                SheetVersion.sheet_id == sheet.id, SheetVersion.is_current))).scalar_one_or_none()
            last = await session.scalar(select(func.max(SheetVersion.version)).where(
                SheetVersion.sheet_id == sheet.id))
            version = int(last or 0) + 1
            base = current.version if current else None
            if current is not None:
                current.is_current = False
                await session.flush()
            report.updated += 1
        session.add(SheetVersion(
            sheet_id=sheet.id, version=version, client_submission_id=f"import-{uuid.uuid4().hex}",
            base_version=base, values=p["values"], total=Decimal(p["total"]), comment=p["comment"],
            account_id=account_id, source="import",
        ))
        if stage_kind == "initial":
            exists = await session.scalar(select(ReviewerAssignment.id).where(
                ReviewerAssignment.entry_id == p["entry_id"], ReviewerAssignment.person_id == p["person_id"]))
            if exists is None:
                session.add(ReviewerAssignment(entry_id=p["entry_id"], person_id=p["person_id"]))
        rubric = await session.get(Rubric, p["rubric_id"])
        if rubric is not None and rubric.frozen_at is None:
            rubric.frozen_at = now
    await session.flush()


# --------------------------------------------------------------------------------------------------
# Templates and error files
# --------------------------------------------------------------------------------------------------
async def template_headers(session: AsyncSession, contest_id: int, kind: str, stage: str = "initial") -> list[str]:
    headers = [c.label for c in COLUMNS[kind]]
    if kind == "reviews":
        ctx = await _context(session, contest_id, stage)
        labels: list[str] = []
        for rub in ctx.rubrics.values():
            for item in rub.items:
                if item.label_zh not in labels:
                    labels.append(item.label_zh)
        headers = headers[:3] + labels + headers[3:]
    return headers


TEMPLATE_TITLES = {"entries": "成果导入模板", "judges": "评委与专家导入模板", "reviews": "评分导入模板"}


def template_xlsx(kind: str, headers: list[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = TEMPLATE_TITLES[kind]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, _ in enumerate(headers):
        ws.column_dimensions[chr(65 + i) if i < 26 else "A"].width = 16
    notes = wb.create_sheet("说明")
    notes.append(["列名", "必填", "也接受的列名"])
    for col in COLUMNS[kind]:
        notes.append([col.label, "是" if col.required else "", "、".join(col.aliases)])
    return _save(wb)


def errors_xlsx(report: Report, gettext: Any = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "错误清单"
    ws.append(["行号", "列", "内容", "原因"])
    for e in report.errors:
        ws.append([e.row, e.column, e.value, e.message(gettext)])
    return _save(wb)


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def run_import(session: AsyncSession, contest_id: int, kind: str, data: bytes, filename: str, *,
                     dry_run: bool = False, only_valid: bool = False, stage: str = "initial",
                     account_id: int | None = None) -> Report:
    """Read, validate and (unless ``dry_run`` or the file has errors) write, in the caller's transaction."""
    try:
        rows = read_table(data, filename)
    except ImportFileError as exc:
        report = Report(kind)
        report.errors.append(RowError(0, "", "", "unreadable", {"detail": Msgid(str(exc))}))
        return report
    report = await validate(session, contest_id, kind, rows, stage=stage)
    if dry_run or (report.errors and not only_valid) or not report.plan:
        return report
    if any(e.row <= report.header_row for e in report.errors):
        return report
    return await apply(session, contest_id, report, only_valid=only_valid, account_id=account_id, stage=stage)

