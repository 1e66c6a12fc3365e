"""Staff console handlers (pages and JSON API). Mounted on the staff router in ``judging/routes/staff.py``,
whose guard admits staff and the owner only; finalization additionally requires the owner.

Every change runs in one ``db.write()`` transaction together with its audit row (``judging.audit.record``).
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from judging.audit import record
from judging.auth import Principal, requires_owner
from judging.db.models import (
    AuditLog,
    Contest,
    Entry,
    GradeRun,
    PanelMember,
    Person,
    ReviewerAssignment,
    RoleGrant,
    Rubric,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import Msgid, PodiumError, Refusal
from judging.events import after_commit
from judging.i18n import Translator
from judging.routes import display
from judging.staff import assignment, charts, conflicts, exports, grading, importing, monitor, qr, setup
from judging.venue_control import HelpResolvedOut, resolve_help
from judging.web import client_ip, principal_of, render, translator_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_TITLES = {"entries": "Entries", "judges": "Judges and reviewers", "reviews": "Scores"}


def _me(request: Request[Any, Any, Any]) -> Principal:
    p = principal_of(request)
    assert p is not None  # the router's guard guarantees it
    return p


def _bad(reason: str | Exception, code: str = "invalid", status_code: int = 400) -> PodiumError:
    """A refused request (400). The API gets the JSON error with the English text; a staff form gets the refusal
    page in the viewer's language. ``reason`` is a :class:`Refusal` (a ``SetupError`` or ``AssignmentError``:
    a catalog template and its parameters) or an English message that is itself a catalog msgid; raise it inside
    the handler's ``db.write()`` block (or before it), so the refused change is rolled back."""
    refusal = reason if isinstance(reason, Refusal) else Refusal(str(reason))
    return PodiumError(str(refusal), code=code, status_code=status_code, page=partial(_refused_page, refusal))


_SECTIONS = {"setup": "setup", "import": "import", "assign": "assign", "conflicts": "conflicts", "qr": "qr",
             "people": "people", "monitor": "monitor", "grading": "grading", "runs": "grading"}


def _refused_page(refusal: Refusal, request: Request[Any, Any, Any], exc: PodiumError) -> Response[Any]:
    """The staff page for a refused form: the message in the viewer's language, nothing changed, a way back (the
    form's page from the Referer when it is on this site, else the contest's page)."""
    contest_id = request.path_params.get("contest_id")
    home = f"/staff/contests/{contest_id}" if contest_id is not None else "/staff"
    try:
        ref = urlsplit(request.headers.get("referer", ""))
    except ValueError:  # not a URL at all ("http://["): no way back through it
        ref = urlsplit("")
    same_site = ref.netloc in ("", request.url.netloc) and ref.path.startswith("/") and not ref.path.startswith("//")
    back = ref.path + (f"?{ref.query}" if ref.query else "") if same_site else home
    parts = request.url.path.split("/")
    tab = _SECTIONS.get(parts[4], "overview") if len(parts) > 4 else "overview"
    t = translator_for(request)
    return render(request, "staff/error.html", status_code=exc.status_code, message=refusal.text(t.gettext),
                  back=back, home=home, contest={"id": contest_id} if contest_id is not None else None, tab=tab)


async def _contest(session: Any, contest_id: int) -> Contest:
    contest = await session.get(Contest, contest_id)
    if contest is None:
        raise PodiumError(f"There is no contest {contest_id}.", code="not_found", status_code=404)
    return contest


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: (v if isinstance(v, str) else "") for k, v in form.items()}


def _int(value: Any, what: str, default: int | None = None) -> int:
    if value in (None, ""):
        if default is not None:
            return default
        raise _bad(Refusal("{what} is required.", what=Msgid(what)))
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise _bad(Refusal("{what} must be a whole number.", what=Msgid(what))) from exc


def _back(path: str, msg: str = "") -> Redirect:
    return Redirect(path + (f"?msg={msg}" if msg else ""))


def _download(data: bytes, filename: str, media_type: str) -> Response[bytes]:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": exports.content_disposition(filename)})


# ============================================================================================ overview
class ContestIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    year: int
    organizer: str = ""


class ContestOut(msgspec.Struct):
    id: int
    name: str
    year: int


@post("/api/staff/contests", summary="Create a contest with the preset stages, topic types and rubrics",
      tags=["staff"])
async def create_contest_api(request: Request[Any, Any, Any], data: JSONBody[ContestIn]) -> ContestOut:
    async with request.app.state.db.write() as session:
        try:
            c = await setup.create_contest(session, data.name, data.year, data.organizer)
        except setup.SetupError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "contest.create", contest_id=c.id, target=f"contest:{c.id}",
               ip=client_ip(request), name=c.name, year=c.year)
    return ContestOut(c.id, c.name, c.year)


@post("/staff/contests", include_in_schema=False)
async def create_contest_page(request: Request[Any, Any, Any]) -> Redirect:
    f = await _form(request)
    async with request.app.state.db.write() as session:
        try:
            c = await setup.create_contest(session, f.get("name", ""), _int(f.get("year"), "year"),
                                           f.get("organizer", ""))
        except setup.SetupError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "contest.create", contest_id=c.id, target=f"contest:{c.id}",
               ip=client_ip(request), name=c.name, year=c.year)
    return Redirect(f"/staff/contests/{c.id}/setup")


@get("/staff/contests/{contest_id:int}", include_in_schema=False)
async def contest_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        counts = {
            "entries": await session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == contest_id)),
            "people": await session.scalar(select(func.count(Person.id)).where(Person.contest_id == contest_id)),
            "venues": await session.scalar(select(func.count(Venue.id)).where(Venue.contest_id == contest_id)),
            "unassigned": await session.scalar(select(func.count(Entry.id)).where(
                Entry.contest_id == contest_id, Entry.venue_id.is_(None))),
            "runs": await session.scalar(select(func.count(GradeRun.id)).where(GradeRun.contest_id == contest_id)),
        }
        conn = await assignment.connectivity(session, contest_id)
    board_url = display.board_url(request.app.state.settings, contest_id)  # the public leaderboard: link + QR
    return render(request, "staff/contest.html", contest=contest, counts=counts, conn=conn, tab="overview",
                  board_url=board_url, board_qr=qr.qr_svg(board_url, 5))


# ============================================================================================ setup
async def _setup_context(session: Any, contest_id: int) -> dict[str, Any]:
    contest = await _contest(session, contest_id)
    stages = (await session.execute(select(Stage).where(Stage.contest_id == contest_id).order_by(Stage.position))
              ).scalars().all()
    tts = (await session.execute(select(TopicType).where(TopicType.contest_id == contest_id).order_by(TopicType.id))
           ).scalars().all()
    rubrics = (await session.execute(select(Rubric).options(selectinload(Rubric.items))
                                     .where(Rubric.topic_type_id.in_([t.id for t in tts])))).scalars().all()
    frozen = {r.id: await setup.rubric_is_frozen(session, r) for r in rubrics}
    venues = (await session.execute(select(Venue).where(Venue.contest_id == contest_id)
                                    .order_by(Venue.position, Venue.id))).scalars().all()
    return {"contest": contest, "stages": stages, "topic_types": tts, "rubrics": rubrics, "frozen": frozen,
            "venues": venues, "rule": contest.grade_rule or {}, "tab": "setup", "methods": grading.METHODS}


@get("/staff/contests/{contest_id:int}/setup", include_in_schema=False)
async def setup_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        ctx = await _setup_context(session, contest_id)
    return render(request, "staff/setup.html", msg=request.query_params.get("msg", ""), **ctx)


@post("/staff/contests/{contest_id:int}/setup/stages", include_in_schema=False)
async def setup_stages(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            done = await setup.set_stage_weights(session, contest_id, {k: f[k] for k in ("initial", "onsite")
                                                                       if f.get(k)})
        except setup.SetupError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "setup.stage_weights", contest_id=contest_id, ip=client_ip(request), **done)
    return _back(f"/staff/contests/{contest_id}/setup", "saved")


@post("/staff/contests/{contest_id:int}/setup/grade-rule", include_in_schema=False)
async def setup_grade_rule(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)

    def nums(text: str, what: str) -> list[float]:
        try:
            return [float(x) for x in text.replace("，", ",").split(",") if x.strip()]
        except ValueError as exc:
            raise setup.SetupError("{what} must be numbers separated by commas", what=Msgid(what)) from exc

    try:
        rule = {
            "kind": f.get("kind", "quota"), "labels": [x.strip() for x in f.get("labels", "").replace("，", ",")
                                                       .split(",") if x.strip()],
            "shares": nums(f.get("shares", ""), "shares"), "cuts": nums(f.get("cuts", ""), "thresholds"),
            "floor": f.get("floor", ""),
            "non_presenter_grade": f.get("non_presenter_grade", "优秀奖").strip() or "优秀奖",
            "recommend_top_k": f.get("recommend_top_k") or 0, "trim_from": f.get("trim_from") or 5,
            "group_by": f.get("group_by", "topic_type"), "method": f.get("method", "calibrated"),
            "coi_same_recommending_unit": f.get("coi_same_recommending_unit") == "on",
        }
        cleaned = setup.validate_grade_rule(rule)
    except (ValueError, setup.SetupError) as exc:
        raise _bad(exc) from exc
    async with request.app.state.db.write() as session:
        contest = await _contest(session, contest_id)
        before = dict(contest.grade_rule or {})
        contest.grade_rule = {**before, **cleaned}
        record(session, _me(request), "setup.grade_rule", contest_id=contest_id, ip=client_ip(request),
               before=before, after=contest.grade_rule)
    return _back(f"/staff/contests/{contest_id}/setup", "saved")


@post("/staff/contests/{contest_id:int}/setup/venues", include_in_schema=False)
async def setup_venue(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    venue_id = _int(f.get("venue_id"), "venue", 0) or None
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            v = await setup.save_venue(session, contest_id, f, venue_id, tz=request.app.state.settings.tz)
        except (setup.SetupError, ValueError) as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "setup.venue", contest_id=contest_id, target=f"venue:{v.id}",
               ip=client_ip(request), code=v.code, name=v.name, created=venue_id is None)
    return _back(f"/staff/contests/{contest_id}/setup", "saved")


@post("/staff/contests/{contest_id:int}/setup/topic-types", include_in_schema=False)
async def setup_topic_type(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            tt = await setup.add_topic_type(session, contest_id, f.get("key", ""), f.get("name_zh", ""),
                                            f.get("name_en", "") or f.get("name_zh", ""))
        except setup.SetupError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "setup.topic_type", contest_id=contest_id, target=f"topic_type:{tt.id}",
               ip=client_ip(request), key=tt.key)
    return _back(f"/staff/contests/{contest_id}/setup", "saved")


@post("/staff/contests/{contest_id:int}/setup/venues/{venue_id:int}/delete", include_in_schema=False)
async def setup_venue_delete(request: Request[Any, Any, Any], contest_id: FromPath[int], venue_id: FromPath[int]
                             ) -> Redirect:
    """Delete a venue made by mistake (the page asks to confirm); refused while anything uses it."""
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            venue, disabled = await setup.delete_venue(session, contest_id, venue_id)
        except setup.SetupError as exc:
            raise _bad(exc, exc.code, exc.status_code) from exc
        record(session, _me(request), "setup.venue_delete", contest_id=contest_id, target=f"venue:{venue_id}",
               ip=client_ip(request), code=venue.code, name=venue.name, location=venue.location,
               starts_at=venue.starts_at.isoformat() if venue.starts_at else None,
               presentation_minutes=venue.presentation_minutes, qa_minutes=venue.qa_minutes,
               position=venue.position, disabled_accounts=disabled)
    return _back(f"/staff/contests/{contest_id}/setup", "deleted")


@post("/staff/contests/{contest_id:int}/setup/topic-types/{topic_type_id:int}/delete", include_in_schema=False)
async def setup_topic_type_delete(request: Request[Any, Any, Any], contest_id: FromPath[int],
                                  topic_type_id: FromPath[int]) -> Redirect:
    """Delete a topic type made by mistake, with its rubrics (the page asks to confirm); refused while in use."""
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            tt, rubrics = await setup.delete_topic_type(session, contest_id, topic_type_id)
        except setup.SetupError as exc:
            raise _bad(exc, exc.code, exc.status_code) from exc
        record(session, _me(request), "setup.topic_type_delete", contest_id=contest_id,
               target=f"topic_type:{topic_type_id}", ip=client_ip(request), key=tt.key, name=tt.name_zh,
               name_en=tt.name_en, rubrics=rubrics)
    return _back(f"/staff/contests/{contest_id}/setup", "deleted")


@post("/staff/contests/{contest_id:int}/setup/rubrics/{rubric_id:int}", include_in_schema=False)
async def setup_rubric(request: Request[Any, Any, Any], contest_id: FromPath[int], rubric_id: FromPath[int]
                       ) -> Redirect:
    """Items as lines ``key | 中文名称 | English label | max | step``."""
    f = await _form(request)
    items = []
    for line in f.get("items", "").splitlines():
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if not any(parts):
            continue
        if len(parts) < 4:
            raise _bad(Refusal("Each line needs key | label | English label | max | step: “{line}”", line=line))
        items.append({"key": parts[0], "label_zh": parts[1], "label_en": parts[2], "max_points": parts[3],
                      "step": parts[4] if len(parts) > 4 and parts[4] else "0.5"})
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            rub = await setup.replace_rubric_items(session, contest_id, rubric_id, items)
        except setup.SetupError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "setup.rubric", contest_id=contest_id, target=f"rubric:{rub.id}",
               ip=client_ip(request), items=items)
    return _back(f"/staff/contests/{contest_id}/setup", "saved")


# ============================================================================================ import
UPLOAD_KEEP_S = 24 * 3600
"""How long an uploaded import file (and its name and commit claim) is kept in ``var/imports``: a day to read the
report and commit. The files hold people's names and organizations, so they do not stay on the server for good:
older ones are swept when the server starts and with each new upload."""


def _imports_dir(request: Request[Any, Any, Any]) -> Path:
    d = Path(request.app.state.settings.var_dir) / "imports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def sweep_uploads(d: Path) -> None:
    """Delete the uploads in ``d`` older than :data:`UPLOAD_KEEP_S` with their name and claim files. A claim left
    by a process killed mid-import goes with its upload (upload the file again)."""
    limit = time.time() - UPLOAD_KEEP_S
    for p in d.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < limit:
                p.unlink()
        except OSError:  # another worker swept it first, or it cannot be removed: not this request's problem
            continue


def _kind(kind: str) -> str:
    if kind not in importing.KINDS:
        raise _bad(Refusal("there is no import of {kind}: import entries, judges or reviews", kind=kind[:40]),
                   "not_found", 404)
    return kind


def _stage(stage: str | None) -> str:
    stage = stage or "initial"
    if stage not in ("initial", "onsite"):
        raise _bad("stage must be initial or onsite")
    return stage


@dataclass
class UploadForm:
    file: UploadFile
    stage: str = "initial"


class RowErrorOut(msgspec.Struct):
    row: int
    column: str
    value: str
    code: str
    message: str


class ImportReportOut(msgspec.Struct):
    kind: str
    header_row: int
    rows: int
    valid_rows: int
    created: int
    updated: int
    written: bool
    ignored_columns: list[str]
    errors: list[RowErrorOut]


def _report_out(report: importing.Report, t: Translator) -> ImportReportOut:
    return ImportReportOut(report.kind, report.header_row, report.rows, report.valid_rows, report.created,
                           report.updated, report.written, report.ignored,
                           [RowErrorOut(e.row, e.column, e.value, e.code, e.message(t.gettext)) for e in report.errors])


async def _do_import(request: Request[Any, Any, Any], contest_id: int, kind: str, data: bytes, filename: str,
                     *, dry_run: bool, only_valid: bool, stage: str) -> importing.Report:
    me = _me(request)
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        report = await importing.run_import(session, contest_id, kind, data, filename, dry_run=dry_run,
                                            only_valid=only_valid, stage=stage, account_id=me.account_id)
        if report.written:
            if kind == "judges":
                await conflicts.detect_automatic(session, contest_id, account_id=me.account_id)
            record(session, me, f"import.{kind}", contest_id=contest_id, target=filename[:100],
                   ip=client_ip(request), only_valid=only_valid, stage=stage, **report.summary())
    return report


@post("/api/staff/contests/{contest_id:int}/import/{kind:str}", summary="Import entries, judges or scores",
      tags=["staff"], status_code=200)
async def import_api(
    request: Request[Any, Any, Any], contest_id: FromPath[int], kind: FromPath[str],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    dry_run: FromQuery[bool] = False, only_valid: FromQuery[bool] = False,
) -> ImportReportOut:
    """Validates the whole file; writes nothing unless it is clean (or ``only_valid`` is set explicitly)."""
    content = await data.file.read()
    report = await _do_import(request, contest_id, _kind(kind), content, data.file.filename or "", dry_run=dry_run,
                              only_valid=only_valid, stage=_stage(data.stage))
    return _report_out(report, translator_for(request))


@get("/staff/contests/{contest_id:int}/import", include_in_schema=False)
async def import_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
    return render(request, "staff/import.html", contest=contest, tab="import", columns=importing.COLUMNS,
                  kinds=KIND_TITLES, msg=request.query_params.get("msg", ""))


@post("/staff/contests/{contest_id:int}/import/{kind:str}", include_in_schema=False)
async def import_upload(
    request: Request[Any, Any, Any], contest_id: FromPath[int], kind: FromPath[str],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:
    """Step 1: validate the uploaded file (nothing is written) and show the report."""
    kind = _kind(kind)
    stage = _stage(data.stage)
    content = await data.file.read()
    filename = (data.file.filename or "upload.xlsx").replace("/", "_")[-120:]
    token = secrets.token_hex(12)
    suffix = ".csv" if filename.lower().endswith((".csv", ".txt", ".tsv")) else ".xlsx"
    imports = _imports_dir(request)
    sweep_uploads(imports)
    (imports / f"{token}{suffix}").write_bytes(content)
    (imports / f"{token}.name").write_text(filename, encoding="utf-8")
    report = await _do_import(request, contest_id, kind, content, filename, dry_run=True, only_valid=False,
                              stage=stage)
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
    return render(request, "staff/import_report.html", contest=contest, tab="import", kind=kind, report=report,
                  token=token, filename=filename, stage=stage, kinds=KIND_TITLES)


def _stored(request: Request[Any, Any, Any], token: str) -> tuple[bytes, str]:
    if not token.isalnum() or len(token) > 40:
        raise _bad("This upload has expired; upload the file again.", "not_found", 404)
    d = _imports_dir(request)
    for suffix in (".xlsx", ".csv"):
        p = d / f"{token}{suffix}"
        try:
            if p.stat().st_mtime < time.time() - UPLOAD_KEEP_S:
                break
            name_file = d / f"{token}.name"
            name = name_file.read_text(encoding="utf-8") if name_file.exists() else p.name
            return p.read_bytes(), name
        except FileNotFoundError:  # not this suffix, or swept by another worker a moment ago
            continue
    raise _bad("This upload has expired; upload the file again.", "not_found", 404)


@post("/staff/contests/{contest_id:int}/import/{kind:str}/{token:str}/commit", include_in_schema=False)
async def import_commit(request: Request[Any, Any, Any], contest_id: FromPath[int], kind: FromPath[str],
                        token: FromPath[str]) -> Template:
    """Step 2: re-validate the stored file and write it (all rows if clean, or the valid rows if asked)."""
    f = await _form(request)
    kind = _kind(kind)
    content, filename = _stored(request, token)
    # One upload is written once: a double click, a reload of the result page or a second tab must not import
    # the file again (every score row would get another version). The claim is a file created exclusively.
    claim = _imports_dir(request) / f"{token}.committed"
    try:
        claim.touch(exist_ok=False)
    except FileExistsError:
        raise _bad("This file was already imported. To import it again, upload it again.",
                   code="already_imported", status_code=409) from None
    try:
        report = await _do_import(request, contest_id, kind, content, filename, dry_run=False,
                                  only_valid=f.get("only_valid") == "1", stage=_stage(f.get("stage")))
    except BaseException:
        claim.unlink(missing_ok=True)
        raise
    if not report.written:
        claim.unlink(missing_ok=True)  # nothing was written (errors in the file): it may be committed later
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
    return render(request, "staff/import_report.html", contest=contest, tab="import", kind=kind, report=report,
                  token=token, filename=filename, stage=f.get("stage") or "initial", kinds=KIND_TITLES)


@get("/staff/contests/{contest_id:int}/import/{kind:str}/{token:str}/errors.xlsx", include_in_schema=False)
async def import_errors(request: Request[Any, Any, Any], contest_id: FromPath[int], kind: FromPath[str],
                        token: FromPath[str], stage: FromQuery[str] = "initial") -> Response[bytes]:
    kind = _kind(kind)
    content, filename = _stored(request, token)
    async with request.app.state.db.read() as session:
        await _contest(session, contest_id)
        report = await importing.run_import(session, contest_id, kind, content, filename, dry_run=True,
                                            stage=_stage(stage))
    data = importing.errors_xlsx(report, translator_for(request).gettext)
    return _download(data, f"{Path(filename).stem}_错误清单.xlsx", XLSX)


@get("/staff/contests/{contest_id:int}/import/{kind:str}/template.xlsx", include_in_schema=False)
async def import_template(request: Request[Any, Any, Any], contest_id: FromPath[int], kind: FromPath[str],
                          stage: FromQuery[str] = "initial") -> Response[bytes]:
    kind = _kind(kind)
    async with request.app.state.db.read() as session:
        await _contest(session, contest_id)
        headers = await importing.template_headers(session, contest_id, kind, _stage(stage))
    return _download(importing.template_xlsx(kind, headers), f"{importing.TEMPLATE_TITLES[kind]}.xlsx", XLSX)


# ============================================================================================ assignment
async def _assign_context(session: Any, contest_id: int) -> dict[str, Any]:
    contest = await _contest(session, contest_id)
    venues = (await session.execute(select(Venue).where(Venue.contest_id == contest_id)
                                    .order_by(Venue.position, Venue.id))).scalars().all()
    entries = (await session.execute(select(Entry).where(Entry.contest_id == contest_id)
                                     .order_by(Entry.venue_id, Entry.running_order, Entry.code))).scalars().all()
    people = (await session.execute(select(Person).where(Person.contest_id == contest_id).order_by(Person.id))
              ).scalars().all()
    members = (await session.execute(select(PanelMember).where(PanelMember.venue_id.in_([v.id for v in venues])))
               ).scalars().all()
    from judging.db.models import Account

    reviewer_ids = {pid for pid in (await session.execute(
        select(Account.person_id).join(RoleGrant, RoleGrant.account_id == Account.id)
        .where(RoleGrant.role == "reviewer", RoleGrant.contest_id == contest_id))).scalars() if pid}
    ra = (await session.execute(select(ReviewerAssignment).where(
        ReviewerAssignment.entry_id.in_([e.id for e in entries])))).scalars().all()
    tts = {t.id: t for t in (await session.execute(
        select(TopicType).where(TopicType.contest_id == contest_id))).scalars()}
    load: dict[int, int] = {}
    per_entry: dict[int, int] = {}
    for a in ra:
        load[a.person_id] = load.get(a.person_id, 0) + 1
        per_entry[a.entry_id] = per_entry.get(a.entry_id, 0) + 1
    mix: dict[int, dict[str, int]] = {v.id: {} for v in venues}
    for e in entries:
        if e.venue_id in mix:
            name = tts[e.topic_type_id].name_zh if e.topic_type_id in tts else "?"
            mix[e.venue_id][name] = mix[e.venue_id].get(name, 0) + 1
    last_seed = (await session.execute(select(AuditLog).where(
        AuditLog.contest_id == contest_id, AuditLog.action == "assign.entries_random")
        .order_by(AuditLog.id.desc()).limit(1))).scalar_one_or_none()
    pairs = await conflicts.conflicted_pairs(session, contest_id)
    venue_conf = await assignment.venue_conflicts(session, contest_id)
    return {
        "contest": contest, "venues": venues, "entries": entries, "people": people, "members": members,
        "person_by_id": {p.id: p for p in people}, "topic_types": tts, "reviewer_load": load,
        "reviewer_done": await assignment.reviewer_progress(session, contest_id),
        "reviewers_per_entry": per_entry, "mix": mix,
        "short_reviews": sum(1 for e in entries if per_entry.get(e.id, 0) < 2),
        "reviewer_ids": reviewer_ids, "last_seed": last_seed.detail.get("seed") if last_seed else None,
        "conn": await assignment.connectivity(session, contest_id), "conflicted_pairs": pairs,
        "venue_conflicts": venue_conf, "tab": "assign", "new_seed": secrets.randbelow(10**6),
    }


@get("/staff/contests/{contest_id:int}/assign", include_in_schema=False)
async def assign_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        ctx = await _assign_context(session, contest_id)
    return render(request, "staff/assign.html", msg=request.query_params.get("msg", ""), **ctx)


@post("/staff/contests/{contest_id:int}/assign/random", include_in_schema=False)
async def assign_random(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    seed = _int(f.get("seed"), "seed")
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            plan = await assignment.assign_entries_random(session, contest_id, seed)
        except assignment.AssignmentError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "assign.entries_random", contest_id=contest_id, ip=client_ip(request),
               seed=seed, placement={str(k): list(v) for k, v in plan.placement.items()},
               conflicts_left=plan.conflicts)
    return _back(f"/staff/contests/{contest_id}/assign", "assigned")


@post("/staff/contests/{contest_id:int}/assign/entry", include_in_schema=False)
async def assign_entry(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    entry_id = _int(f.get("entry_id"), "entry")
    venue_id = _int(f.get("venue_id"), "venue", 0) or None
    order = _int(f.get("running_order"), "running order", 0) or None
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            entry = await assignment.assign_entry(session, contest_id, entry_id, venue_id, order)
        except assignment.AssignmentError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "assign.entry", contest_id=contest_id, entry_id=entry.id,
               ip=client_ip(request), venue_id=venue_id, running_order=order)
    return _back(f"/staff/contests/{contest_id}/assign", "saved")


@post("/staff/contests/{contest_id:int}/assign/panel", include_in_schema=False)
async def assign_panel(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    venue_id = _int(f.get("venue_id"), "venue")
    person_id = _int(f.get("person_id"), "person")
    action = f.get("action", "add")
    if action not in ("add", "remove", "chief"):
        raise _bad(Refusal("unknown action {action}", action=action[:40]))
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            if action == "remove":
                await assignment.remove_panel_member(session, contest_id, venue_id, person_id)
            elif action == "chief":
                await assignment.set_panel_member(session, contest_id, venue_id, person_id)
                await assignment.set_chief(session, contest_id, venue_id, person_id)
            else:
                await assignment.set_panel_member(session, contest_id, venue_id, person_id,
                                                  chief=f.get("chief") == "on")
        except assignment.AssignmentError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), f"assign.panel_{action}", contest_id=contest_id,
               target=f"person:{person_id}", ip=client_ip(request), venue_id=venue_id)
    return _back(f"/staff/contests/{contest_id}/assign", "saved")


@post("/staff/contests/{contest_id:int}/assign/reviewers", include_in_schema=False)
async def assign_reviewers(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    per_entry = _int(f.get("per_entry"), "reviewers per entry", 2)
    seed = _int(f.get("seed"), "seed", 1)
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            plan = await assignment.assign_reviewers(session, contest_id, per_entry, seed)
        except assignment.AssignmentError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "assign.reviewers", contest_id=contest_id, ip=client_ip(request),
               seed=seed, per_entry=per_entry, added=len(plan.pairs), short=plan.short)
    return _back(f"/staff/contests/{contest_id}/assign", "assigned")


class ConnectivityOut(msgspec.Struct):
    connected: bool
    components: list[list[int]]
    shared_judges: dict[int, list[int]]
    anchors: dict[int, list[int]]
    suggestions: list[list[int]]


@get("/api/staff/contests/{contest_id:int}/connectivity", summary="Are the venues linked?", tags=["staff"])
async def connectivity_api(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> ConnectivityOut:
    async with request.app.state.db.read() as session:
        await _contest(session, contest_id)
        c = await assignment.connectivity(session, contest_id)
    return ConnectivityOut(c.connected, c.components, c.shared_judges, c.anchors, [list(s) for s in c.suggestions])


# ============================================================================================ conflicts
@get("/staff/contests/{contest_id:int}/conflicts", include_in_schema=False)
async def conflicts_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        rows = await conflicts.list_conflicts(session, contest_id)
        people = (await session.execute(select(Person).where(Person.contest_id == contest_id).order_by(Person.name))
                  ).scalars().all()
        entries = (await session.execute(select(Entry).where(Entry.contest_id == contest_id).order_by(Entry.code))
                   ).scalars().all()
    return render(request, "staff/conflicts.html", contest=contest, rows=rows, people=people, entries=entries,
                  tab="conflicts", same_unit=conflicts.same_unit_enabled(contest),
                  msg=request.query_params.get("msg", ""))


@post("/staff/contests/{contest_id:int}/conflicts/auto", include_in_schema=False)
async def conflicts_auto(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        n = await conflicts.detect_automatic(session, contest_id, account_id=_me(request).account_id)
        record(session, _me(request), "conflict.auto", contest_id=contest_id, ip=client_ip(request), added=n)
    return _back(f"/staff/contests/{contest_id}/conflicts", "saved")


@post("/staff/contests/{contest_id:int}/conflicts", include_in_schema=False)
async def conflicts_add(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    f = await _form(request)
    person_id = _int(f.get("person_id"), "person")
    entry_id = _int(f.get("entry_id"), "entry", 0) or None
    async with request.app.state.db.write() as session:
        await _contest(session, contest_id)
        try:
            c = await conflicts.add_conflict(session, contest_id, person_id, entry_id=entry_id,
                                             organization=f.get("organization", "").strip() or None,
                                             reason=f.get("reason", ""), source="staff",
                                             account_id=_me(request).account_id)
        except ValueError as exc:
            raise _bad(exc) from exc
        record(session, _me(request), "conflict.add", contest_id=contest_id, entry_id=entry_id,
               target=f"person:{person_id}", reason=c.reason, ip=client_ip(request), organization=c.organization)
    return _back(f"/staff/contests/{contest_id}/conflicts", "saved")


@post("/staff/contests/{contest_id:int}/conflicts/{conflict_id:int}/delete", include_in_schema=False)
async def conflicts_delete(request: Request[Any, Any, Any], contest_id: FromPath[int],
                           conflict_id: FromPath[int]) -> Redirect:
    from judging.db.models import Conflict

    f = await _form(request)
    reason = f.get("reason", "").strip()
    if not reason:
        raise _bad("Say why the conflict of interest is removed; the reason is kept in the audit log.")
    if len(reason) > 500:
        raise _bad(Refusal("the reason is too long (at most {max} characters)", max=500))
    async with request.app.state.db.write() as session:
        c = await session.get(Conflict, conflict_id)
        person = await session.get(Person, c.person_id) if c else None
        if c is None or person is None or person.contest_id != contest_id:
            raise PodiumError("No such conflict.", code="not_found", status_code=404)
        record(session, _me(request), "conflict.delete", contest_id=contest_id, entry_id=c.entry_id,
               target=f"person:{c.person_id}", reason=reason, ip=client_ip(request),
               was={"source": c.source, "reason": c.reason, "organization": c.organization})
        await session.delete(c)
    return _back(f"/staff/contests/{contest_id}/conflicts", "saved")


# ============================================================================================ QR sheets
@get("/staff/contests/{contest_id:int}/qr", include_in_schema=False)
async def qr_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        venues = (await session.execute(select(Venue).where(Venue.contest_id == contest_id)
                                        .order_by(Venue.position, Venue.id))).scalars().all()
        people = {v.id: await qr.sheet_accounts(session, v.id, "judges") for v in venues}
        screens = {v.id: await qr.sheet_accounts(session, v.id, "screens") for v in venues}
    return render(request, "staff/qr.html", contest=contest, venues=venues, people=people, screens=screens,
                  tab="qr")


@post("/staff/contests/{contest_id:int}/qr/reviewers", include_in_schema=False)
async def qr_reviewers(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    """Every initial-review expert's personal link and QR code, to send to each (they review remotely): issues
    fresh links (earlier ones stop working), as a venue's sheet does."""
    state = request.app.state
    async with state.db.write() as session:
        contest = await _contest(session, contest_id)
        cards = await qr.issue_reviewer_sheet(session, state.settings.secret, state.settings.base_url, contest_id)
        _audit_sheet(session, request, contest_id, cards, "reviewers", f"contest:{contest_id}", "reviewer links")
    return _sheet_page(request, contest, None, cards, "reviewers")


def _audit_sheet(session: Any, request: Request[Any, Any, Any], contest_id: int, cards: list[qr.Card], kind: str,
                 target: str, reason: str) -> None:
    """A printed sheet in the audit log: each account's reissued link, and the sheet itself."""
    for c in cards:
        record(session, _me(request), "token.reissue", contest_id=contest_id, target=f"account:{c.account_id}",
               reason=reason, ip=client_ip(request))
    record(session, _me(request), "qr.sheet", contest_id=contest_id, target=target, ip=client_ip(request),
           kind=kind, accounts=[c.account_id for c in cards])


def _sheet_page(request: Request[Any, Any, Any], contest: Contest, venue: Venue | None, cards: list[qr.Card],
                kind: str) -> Template:
    page = render(request, "staff/qr_sheet.html", contest=contest, venue=venue, cards=cards, kind=kind)
    page.headers["Cache-Control"] = "no-store"  # live login links
    return page


@post("/staff/contests/{contest_id:int}/qr/{venue_id:int}/{kind:str}", include_in_schema=False)
async def qr_sheet(request: Request[Any, Any, Any], contest_id: FromPath[int], venue_id: FromPath[int],
                   kind: FromPath[str]) -> Template:
    """Printable A4 sheet: issues fresh login links for everyone on it (earlier links stop working)."""
    if kind not in ("judges", "screens"):
        raise PodiumError("Unknown sheet.", code="not_found", status_code=404)
    state = request.app.state
    async with state.db.write() as session:
        contest = await _contest(session, contest_id)
        venue = await session.get(Venue, venue_id)
        if venue is None or venue.contest_id != contest_id:
            raise PodiumError("No such venue.", code="not_found", status_code=404)
        cards = await qr.issue_sheet(session, state.settings.secret, state.settings.base_url, venue, kind)
        _audit_sheet(session, request, contest_id, cards, kind, f"venue:{venue.id}", "QR sheet")
    return _sheet_page(request, contest, venue, cards, kind)


# ============================================================================================ monitoring
@get("/staff/contests/{contest_id:int}/monitor", include_in_schema=False)
async def monitor_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        snap = await monitor.snapshot(session, contest_id)
    return render(request, "staff/monitor.html", contest=contest, snap=snap, tab="monitor")


@get("/api/staff/contests/{contest_id:int}/monitor", summary="All venues at a glance", tags=["staff"])
async def monitor_api(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> dict[str, Any]:
    async with request.app.state.db.read() as session:
        await _contest(session, contest_id)
        return await monitor.snapshot(session, contest_id)


@post("/api/staff/contests/{contest_id:int}/help/{help_call_id:int}/resolve",
      summary="Mark a help call handled (any of the contest's, including those of people on no panel)",
      tags=["staff"], status_code=200)
async def resolve_help_api(request: Request[Any, Any, Any], contest_id: FromPath[int],
                           help_call_id: FromPath[int]) -> HelpResolvedOut:
    who = _me(request)
    out = await request.app.state.db.transaction(
        lambda session: resolve_help(session, who, help_call_id, contest_id=contest_id, ip=client_ip(request)))
    after_commit(request.app)
    return out


# ============================================================================================ grading
async def _outdate(request: Request[Any, Any, Any], contest_id: int) -> None:
    """Mark final runs whose inputs changed as outdated (audited), before showing or exporting them."""
    async with request.app.state.db.read() as session:
        if not await grading.needs_outdating(session, contest_id):
            return
    async with request.app.state.db.write() as session:
        for run in await grading.refresh_outdated(session, contest_id):
            record(session, None, "grades.outdated", contest_id=contest_id, target=f"grade_run:{run.id}",
                   reason="score log changed after approval")


def _settings_from_form(contest: Contest, f: dict[str, str]) -> dict[str, Any]:
    s = grading.default_settings(contest)
    if f.get("method"):
        s["method"] = f["method"]
    if f.get("initial_method"):
        s["initial_method"] = f["initial_method"]
    for key in ("trim_from", "draws", "seed", "recommend_top_k"):
        if f.get(key):
            s[key] = _int(f[key], key)
    if f.get("kind") in ("quota", "threshold"):
        s["kind"] = f["kind"]
    if f.get("group_by") in ("topic_type", "venue", "none"):
        s["group_by"] = f["group_by"]
    if f.get("floor") is not None and "floor" in f:
        try:
            s["floor"] = float(f["floor"]) if f["floor"].strip() else None
        except ValueError as exc:
            raise _bad(Refusal("{what} must be a number", what=Msgid("floor"))) from exc
        if s["floor"] is not None and not math.isfinite(s["floor"]):  # NaN/inf: not storable as JSON either
            raise _bad(Refusal("{what} must be a number", what=Msgid("floor")))
    if s["method"] not in grading.METHODS or s["initial_method"] not in grading.METHODS:
        raise _bad("Unknown calibration method.")
    try:
        floor = s["floor"] if isinstance(s["floor"], int | float) else None  # an older rule may hold ""
        setup.check_rule_numbers(int(s["trim_from"]), int(s["recommend_top_k"] or 0), floor)
    except setup.SetupError as exc:
        raise _bad(exc) from exc
    if not 50 <= int(s["draws"]) <= 5000:
        raise _bad("draws must be between 50 and 5000")
    return s


@get("/staff/contests/{contest_id:int}/grading", include_in_schema=False)
async def grading_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    await _outdate(request, contest_id)
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        runs = (await session.execute(select(GradeRun).where(GradeRun.contest_id == contest_id)
                                      .order_by(GradeRun.id.desc()).limit(50))).scalars().all()
    return render(request, "staff/grading.html", contest=contest, runs=runs, tab="grading",
                  settings=grading.default_settings(contest), methods=grading.METHODS)


class PreviewIn(msgspec.Struct):
    method: str | None = None
    initial_method: str | None = None
    trim_from: int | None = None
    kind: str | None = None
    group_by: str | None = None
    draws: int | None = None
    seed: int | None = None


class RunOut(msgspec.Struct):
    id: int
    status: str
    input_digest: str
    engine_version: str
    counts: dict[str, int]
    changes: int
    boundary: int
    results: list[dict[str, Any]]


async def _preview(request: Request[Any, Any, Any], contest_id: int, form: dict[str, str]) -> GradeRun:
    me = _me(request)
    async with request.app.state.db.write() as session:
        contest = await _contest(session, contest_id)
        s = _settings_from_form(contest, form)
        try:
            run = await grading.preview_run(session, contest_id, s, me.account_id)
        except grading.GradingError as exc:
            raise _bad(exc, "grading_failed") from exc
        record(session, me, "grades.preview", contest_id=contest_id, target=f"grade_run:{run.id}",
               ip=client_ip(request), digest=run.input_digest, settings=s)
    return run


@post("/api/staff/contests/{contest_id:int}/grading/preview", summary="Compute a grading preview",
      tags=["staff"], status_code=200)
async def preview_api(request: Request[Any, Any, Any], contest_id: FromPath[int], data: JSONBody[PreviewIn]) -> RunOut:
    form = {k: str(v) for k, v in msgspec.structs.asdict(data).items() if v is not None}
    run = await _preview(request, contest_id, form)
    return await _run_out(request, run.id)


async def _run_out(request: Request[Any, Any, Any], run_id: int) -> RunOut:
    async with request.app.state.db.read() as session:
        run = await session.get(GradeRun, run_id)
        if run is None:
            raise PodiumError("No such grade run.", code="not_found", status_code=404)
        results = await exports.run_results(session, run)
    rep = run.config.get("report", {})
    return RunOut(run.id, run.status, run.input_digest, run.engine_version, _counts(rep, results),
                  len(rep.get("changes", [])), len(rep.get("boundary", [])), results)


def _counts(report: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, int]:
    """Entries per grade as the list stands (after the boundary review's decisions), in the rule's order."""
    counts = {name: 0 for name in report.get("grade_names", [])}
    for r in results:
        counts[r["grade"]] = counts.get(r["grade"], 0) + 1
    return counts


@post("/staff/contests/{contest_id:int}/grading/preview", include_in_schema=False)
async def preview_page(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Redirect:
    run = await _preview(request, contest_id, await _form(request))
    return Redirect(f"/staff/contests/{contest_id}/runs/{run.id}")


async def _run(session: Any, contest_id: int, run_id: int) -> GradeRun:
    run = await session.get(GradeRun, run_id)
    if run is None or run.contest_id != contest_id:
        raise PodiumError("No such grade run.", code="not_found", status_code=404)
    return run


@get("/staff/contests/{contest_id:int}/runs/{run_id:int}", include_in_schema=False)
async def run_page(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int]) -> Template:
    await _outdate(request, contest_id)
    t = translator_for(request)
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        run = await _run(session, contest_id, run_id)
        results = await exports.run_results(session, run)
        approver = None
        if run.approved_by:
            from judging.db.models import Account

            acc = await session.get(Account, run.approved_by)
            approver = acc.display_name if acc else str(run.approved_by)
    rep = run.config.get("report", {})
    by_id = {r["entry_id"]: r for r in results}
    svg = {
        "severity": charts.severity_chart(rep.get("judges", []), t("Judge severity (points, + = lenient)")),
        "distribution": charts.distribution_chart(rep.get("venue_scores", {}), t("On-site scores per venue")),
        "agreement": charts.agreement_chart(rep.get("venues", []), t("Agreement per venue (ICC, Kendall's W)")),
    }
    counts = _counts(rep, results)  # after the boundary review's decisions (the report's are the computed ones)
    return render(request, "staff/run.html", contest=contest, run=run, results=results, report=rep, svg=svg,
                  counts={k: v for k, v in counts.items() if v}, unreviewed=grading.unreviewed(run),
                  reviews_digest=grading.reviews_digest(run),
                  boundary=[by_id[i] for i in rep.get("boundary", []) if i in by_id],
                  changes=[by_id[i] for i in rep.get("changes", []) if i in by_id], approver=approver,
                  tab="grading", verification=None, msg=request.query_params.get("msg", ""))


async def _finalize(request: Request[Any, Any, Any], run_id: int, seen_reviews: str | None = None) -> GradeRun:
    me = _me(request)
    async with request.app.state.db.write() as session:
        try:
            run = await grading.finalize(session, run_id, me.account_id, seen_reviews=seen_reviews)
        except grading.GradingError as exc:
            raise _bad(exc, "not_allowed", status_code=409) from exc
        record(session, me, "grades.finalize", contest_id=run.contest_id, target=f"grade_run:{run.id}",
               ip=client_ip(request), digest=run.input_digest, engine_version=run.engine_version)
    after_commit(request.app)  # grades.finalized: the screens show the results as official
    return run


@post("/staff/contests/{contest_id:int}/runs/{run_id:int}/finalize", include_in_schema=False,
      guards=[requires_owner])
async def finalize_page(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int]
                        ) -> Redirect:
    async with request.app.state.db.read() as session:
        await _run(session, contest_id, run_id)
    # the decisions the page showed (the form's fingerprint): approval refuses if they changed meanwhile
    await _finalize(request, run_id, (await _form(request)).get("reviews") or None)
    return Redirect(f"/staff/contests/{contest_id}/runs/{run_id}?msg=finalized")


@post("/api/staff/runs/{run_id:int}/finalize", summary="Approve a preview (owner only)", tags=["staff"],
      guards=[requires_owner], status_code=200)
async def finalize_api(request: Request[Any, Any, Any], run_id: FromPath[int]) -> RunOut:
    await _finalize(request, run_id)
    return await _run_out(request, run_id)


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    entry_id: int
    grade: Annotated[str, msgspec.Meta(max_length=20)]
    """The grade decided: the computed one (kept) or another of the run's grades."""
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""
    """Why (required when the grade changes; kept with the grade list and in the audit log)."""


class ReviewOut(msgspec.Struct):
    run_id: int
    entry_id: int
    grade: str
    computed_grade: str
    kept: bool
    reason: str
    unreviewed: int
    """Entries of the run's boundary-review list still without a decision (approval needs none left)."""


async def _review(request: Request[Any, Any, Any], contest_id: int | None, run_id: int, data: ReviewIn
                  ) -> ReviewOut:
    me = _me(request)
    async with request.app.state.db.write() as session:
        if contest_id is not None:
            await _run(session, contest_id, run_id)
        try:
            decision = await grading.review_boundary(session, run_id, data.entry_id, data.grade.strip(),
                                                     data.reason, me.account_id, me.display_name)
        except grading.GradingError as exc:
            raise _bad(exc, "review_refused", status_code=409) from exc
        run = await session.get(GradeRun, run_id)
        assert run is not None
        record(session, me, "grades.review", contest_id=run.contest_id, entry_id=data.entry_id,
               target=f"grade_run:{run_id}", ip=client_ip(request), reason=decision["reason"],
               grade=decision["grade"], computed_grade=decision["from"])
        left = len(grading.unreviewed(run))
    return ReviewOut(run_id, data.entry_id, decision["grade"], decision["from"], decision["kept"],
                     decision["reason"], left)


@post("/staff/contests/{contest_id:int}/runs/{run_id:int}/review", include_in_schema=False)
async def review_page(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int]
                      ) -> Redirect:
    f = await _form(request)
    await _review(request, contest_id, run_id,
                  ReviewIn(_int(f.get("entry_id"), "entry"), f.get("grade", ""), f.get("reason", "")))
    return Redirect(f"/staff/contests/{contest_id}/runs/{run_id}?msg=reviewed#boundary")


@post("/api/staff/runs/{run_id:int}/review", summary="Decide on a boundary-review entry of a preview",
      tags=["staff"], status_code=200)
async def review_api(request: Request[Any, Any, Any], run_id: FromPath[int], data: JSONBody[ReviewIn]
                     ) -> ReviewOut:
    """Keep the computed grade or give another, with a reason (required for a change). Only on a preview and
    only for entries on its boundary-review list; a new decision replaces the earlier one. Audited
    (``grades.review``); approving the preview needs a decision for every listed entry."""
    return await _review(request, None, run_id, data)


class VerifyOut(msgspec.Struct):
    run_id: int
    ok: bool
    stored_digest: str
    recomputed_digest: str
    current_digest: str
    current: bool
    mismatches: list[str]


async def _verify(request: Request[Any, Any, Any], run_id: int) -> grading.Verification:
    async with request.app.state.db.write() as session:
        try:
            v = await grading.verify(session, run_id)
        except grading.GradingError as exc:
            raise _bad(exc, "not_found", status_code=404) from exc
        run = await session.get(GradeRun, run_id)
        record(session, _me(request), "grades.verify", contest_id=run.contest_id if run else None,
               target=f"grade_run:{run_id}", ip=client_ip(request), ok=v.ok, current=v.current)
    return v


@get("/api/staff/runs/{run_id:int}/verify", summary="Recompute a grade run from the score log", tags=["staff"])
async def verify_api(request: Request[Any, Any, Any], run_id: FromPath[int]) -> VerifyOut:
    v = await _verify(request, run_id)
    return VerifyOut(v.run_id, v.ok, v.stored_digest, v.recomputed_digest, v.current_digest, v.current, v.mismatches)


@get("/api/staff/contests/{contest_id:int}/runs/{run_id:int}", summary="A grade run with its results",
     tags=["staff"])
async def run_api(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int]) -> RunOut:
    await _outdate(request, contest_id)
    async with request.app.state.db.read() as session:
        await _run(session, contest_id, run_id)
    return await _run_out(request, run_id)


@post("/staff/contests/{contest_id:int}/runs/{run_id:int}/verify", include_in_schema=False)
async def verify_page(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int]
                      ) -> Template:
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        await _run(session, contest_id, run_id)
    v = await _verify(request, run_id)
    return render(request, "staff/verify.html", contest=contest, v=v, tab="grading")


# ============================================================================================ exports
EXPORTS = {
    "grades.xlsx": "成绩等级名单", "grades.csv": "成绩等级名单", "venues.xlsx": "分会场评分表",
    "judges.xlsx": "评委评分表", "summary.xlsx": "推荐汇总表",
}


@get("/staff/contests/{contest_id:int}/runs/{run_id:int}/export/{what:str}", include_in_schema=False)
async def export_run(request: Request[Any, Any, Any], contest_id: FromPath[int], run_id: FromPath[int],
                     what: FromPath[str]) -> Response[bytes] | Template:
    await _outdate(request, contest_id)
    async with request.app.state.db.read() as session:
        contest = await _contest(session, contest_id)
        run = await _run(session, contest_id, run_id)
        results = await exports.run_results(session, run)
        if what == "print":
            return render(request, "staff/print_grades.html", contest=contest, run=run, results=results)
        if what not in EXPORTS:
            raise PodiumError("Unknown export.", code="not_found", status_code=404)
        stem = exports.file_stem(contest, run, EXPORTS[what])
        if what == "grades.xlsx":
            data = exports.grade_list_xlsx(contest, run, results)
        elif what == "grades.csv":
            # (Litestar adds "; charset=utf-8" to a text/* type: giving it here doubled it)
            return _download(exports.grade_list_csv(results), stem + ".csv", "text/csv")
        elif what == "venues.xlsx":
            data = await exports.venue_sheets_xlsx(session, run, results)
        elif what == "judges.xlsx":
            data = await exports.judge_sheets_xlsx(session, run)
        else:
            data = exports.recommendation_summary_xlsx(contest, run, results)
    return _download(data, stem + ".xlsx", XLSX)


HANDLERS = [
    create_contest_api, create_contest_page, contest_page, setup_page, setup_stages, setup_grade_rule, setup_venue,
    setup_topic_type, setup_venue_delete, setup_topic_type_delete, setup_rubric, import_api, import_page,
    import_upload, import_commit, import_errors, import_template, assign_page, assign_random, assign_entry,
    assign_panel, assign_reviewers, connectivity_api, conflicts_page, conflicts_auto, conflicts_add, conflicts_delete,
    qr_page, qr_reviewers, qr_sheet, monitor_page, monitor_api, resolve_help_api, grading_page, preview_api,
    preview_page, run_page, finalize_page, finalize_api, review_page, review_api, verify_api, run_api, verify_page,
    export_run,
]

__all__ = ["HANDLERS"]
