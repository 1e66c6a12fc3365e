"""Grading preview, finalization and the recompute-from-log check.

* :func:`load_inputs` reads the exact score rows (current, non-discarded sheet versions of both stages) with
  each row's recusal flag; :func:`digest` is the SHA-256 of those rows in a canonical order.
* :func:`compute` runs the scoring engine (``import scoring``): per-stage calibration, combination with the
  stage weights, the grade rule, grade probabilities, the boundary-review list, the comparison with the plain
  trimmed mean and judge/venue diagnostics. It is pure (no database).
* :func:`save_run` stores a preview (GradeRun + GradeResult rows). The run's ``config`` holds the settings,
  a snapshot of what was used (sheet-version ids, recused ids, entry grouping) and the report for the pages.
* :func:`finalize` stamps a preview (approver, time) if the log has not changed since it was computed.
* :func:`verify` recomputes a run from the append-only log (the snapshot's versions) and compares the digest
  and every grade; :func:`refresh_outdated` marks final runs whose inputs changed since (a later correction).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import scoring
from judging.db.base import utcnow
from judging.db.models import (
    AuditLog,
    Contest,
    Entry,
    GradeResult,
    GradeRun,
    Person,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import Refusal
from judging.staff.conflicts import conflicted_pairs

ENGINE_VERSION = getattr(scoring, "ENGINE_VERSION", "unknown")
METHODS = tuple(getattr(scoring, "METHODS", ("mean", "trimmed", "calibrated")))


class GradingError(Refusal):
    """A refused grading step, as a catalog template with its parameters (``str()`` is the English text)."""


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EntryRow:
    id: int
    code: str
    title: str
    team: str
    organization: str
    recommending_unit: str
    topic_type_id: int
    topic: str
    venue_id: int | None
    venue: str
    status: str
    running_order: int | None = None


@dataclass(frozen=True)
class ScoreRow:
    stage: str
    entry_id: int
    person_id: int
    person: str
    sheet_id: int
    version_id: int
    version: int
    values: dict[str, str]
    total: Decimal
    recused: bool


@dataclass
class Inputs:
    contest_id: int
    entries: list[EntryRow]
    rows: list[ScoreRow]
    weights: dict[str, float]
    venues: dict[int, str] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)


async def load_inputs(session: AsyncSession, contest_id: int, snapshot: dict[str, Any] | None = None) -> Inputs:
    """The current score log (or, with ``snapshot``, exactly the versions a run used)."""
    contest = await session.get(Contest, contest_id)
    if contest is None:
        raise GradingError("no such contest")
    stages = {s.id: s for s in (await session.execute(select(Stage).where(Stage.contest_id == contest_id))).scalars()}
    topics = {t.id: t.name_zh for t in (await session.execute(
        select(TopicType).where(TopicType.contest_id == contest_id))).scalars()}
    venues = {v.id: v.name for v in (await session.execute(
        select(Venue).where(Venue.contest_id == contest_id).order_by(Venue.position, Venue.id))).scalars()}
    entries_db = (await session.execute(select(Entry).where(Entry.contest_id == contest_id))).scalars().all()
    frozen = {int(e[0]): e for e in (snapshot or {}).get("entries", [])}
    entries = []
    for e in sorted(entries_db, key=lambda e: (e.code, e.id)):
        tt, vid, status = e.topic_type_id, e.venue_id, e.status
        if snapshot is not None:
            if e.id not in frozen:
                continue
            _, tt, vid, status = frozen[e.id]
        entries.append(EntryRow(e.id, e.code, e.title, e.team, e.organization, e.recommending_unit, tt,
                                topics.get(tt, ""), vid, venues.get(vid, "") if vid else "", status,
                                e.running_order))
    stmt = (select(SheetVersion, ScoreSheet, Person.name)
            .join(ScoreSheet, ScoreSheet.id == SheetVersion.sheet_id)
            .join(Person, Person.id == ScoreSheet.person_id)
            .where(ScoreSheet.stage_id.in_(list(stages))))
    if snapshot is None:
        stmt = stmt.where(SheetVersion.is_current, SheetVersion.discarded.is_(False))
        recused_pairs = await conflicted_pairs(session, contest_id)
    else:
        ids = [int(i) for i in snapshot.get("versions", [])]
        stmt = stmt.where(SheetVersion.id.in_(ids)) if ids else stmt.where(SheetVersion.id < 0)
        recused_ids = {int(i) for i in snapshot.get("recused", [])}
    rows = []
    for v, sheet, name in (await session.execute(stmt)).all():
        recused = (sheet.person_id, sheet.entry_id) in recused_pairs if snapshot is None else v.id in recused_ids
        rows.append(ScoreRow(stages[sheet.stage_id].kind, sheet.entry_id, sheet.person_id, name, sheet.id, v.id,
                             v.version, dict(v.values or {}), Decimal(v.total), recused))
    rows.sort(key=lambda r: (r.stage, r.entry_id, r.person_id, r.version_id))
    weights = {s.kind: float(s.weight) for s in stages.values()}
    return Inputs(contest_id, entries, rows, weights, venues, topics)


def digest(inputs: Inputs) -> str:
    """SHA-256 over the exact score rows used, in a canonical order and text form."""
    h = hashlib.sha256()
    for r in inputs.rows:
        line = json.dumps([r.stage, r.entry_id, r.person_id, r.sheet_id, r.version_id, r.version,
                           sorted(r.values.items()), format(r.total.quantize(Decimal("0.01")), "f"), r.recused],
                          ensure_ascii=False, separators=(",", ":"))
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def snapshot_of(inputs: Inputs) -> dict[str, Any]:
    return {
        "versions": [r.version_id for r in inputs.rows],
        "recused": [r.version_id for r in inputs.rows if r.recused],
        "entries": [[e.id, e.topic_type_id, e.venue_id, e.status] for e in inputs.entries],
    }


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------
def default_settings(contest: Contest) -> dict[str, Any]:
    rule = dict(contest.grade_rule or {})
    return {
        "method": rule.get("method", "calibrated"),
        "initial_method": rule.get("initial_method", "mean"),
        "trim_from": int(rule.get("trim_from", 5)),
        "kind": rule.get("kind", "quota"),
        "shares": list(rule.get("shares", [0.5, 0.33, 0.17])),
        "cuts": list(rule.get("cuts", [90, 85, 80])),
        "labels": list(rule.get("labels", ["一等", "二等", "三等"])),
        "floor": rule.get("floor", 60),
        "non_presenter_grade": rule.get("non_presenter_grade", "优秀奖"),
        "ungraded": rule.get("ungraded", "无等级"),
        "group_by": rule.get("group_by", "topic_type"),
        "recommend_top_k": int(rule.get("recommend_top_k", 0) or 0),
        "moderation": rule.get("moderation", "auto"),
        "draws": int(rule.get("draws", 400)),
        "seed": int(rule.get("seed", 0)),
        "boundary": float(rule.get("boundary", 0.8)),
    }


def make_rule(s: dict[str, Any]) -> Any:
    floor = None if s.get("floor") in (None, "") else float(s["floor"])
    common = {"labels": tuple(s["labels"]), "floor": floor, "non_presenter": s["non_presenter_grade"],
              "ungraded": s.get("ungraded", "无等级"), "onward": int(s.get("recommend_top_k") or 0)}
    if s.get("kind") == "threshold":
        return scoring.Thresholds(cuts=tuple(float(c) for c in s["cuts"]), **common)
    return scoring.Quotas(shares=tuple(float(x) for x in s["shares"]), **common)


# --------------------------------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------------------------------
STEP_LABELS = {
    "raw mean of valid scores": "raw mean",
}


@dataclass
class Preview:
    settings: dict[str, Any]
    digest: str
    results: list[dict[str, Any]]
    report: dict[str, Any]


# --------------------------------------------------------------------------------------------------
# Report items (warnings and flags) are stored structured: a code and its params, plus the English text as a
# fallback. The run page phrases them in the viewer's language through the staff catalog (keys
# ``warning:<code>``, ``flag:<kind>`` and ``flag-detail:<kind>``; list params are joined with ``list:separator``).
# Runs stored before this change hold plain-string warnings and flags with only a ``meaning``: shown as stored.
# --------------------------------------------------------------------------------------------------
WARNING_CODES: dict[str, tuple[str, ...]] = {  # code -> params its message uses
    "no_onsite_scores": (),
    "onsite_without_initial": ("n", "codes"),
    "probabilities_unavailable": ("detail",),
    "diagnostics_unavailable": ("detail",),
    "unlinked_groups": ("n", "groups"),
    "initial_unlinked_groups": ("n",),
    "judge_z_random_assignment": (),
    "venue_z_random_assignment": (),
    "moderation_needs_two_venues": (),
    "moderation_yardstick_not_rising": (),
}
FLAG_KINDS: dict[str, tuple[str, ...]] = {  # scoring.diagnose flag kind -> params its message uses
    "erratic": ("value",),
    "compressing": ("value",),
    "expanding": ("value",),
    "disagrees": ("value",),
    "deviation_cases": ("n", "codes"),
    "conflict_of_interest": ("value",),
    "unlinked": (),
    "low_reliability": ("value",),
}
_MAX_LISTED = 10


def _listed(items: list[str]) -> list[str]:
    return items[:_MAX_LISTED] + (["…"] if len(items) > _MAX_LISTED else [])


def _warning(code: str, text: str, **params: Any) -> dict[str, Any]:
    """A report warning; an unknown ``code`` (or "") is shown as its English ``text``."""
    return {"code": code, "params": params, "text": text}


def _note(note: str, stage: str, venue_name: Callable[[int], str]) -> dict[str, Any]:
    """A scoring caveat (a ``scoring.Note``: English text with a code and params) as a report warning."""
    code = str(getattr(note, "code", ""))
    params = dict(getattr(note, "params", None) or {})
    if code == "unlinked_groups":
        n = int(params.get("n_groups", 0))
        if stage == "initial":
            return _warning("initial_unlinked_groups", str(note), n=n)
        groups = [" + ".join(venue_name(v) for v in vs) or "—" for vs in params.get("venues", [])]
        return _warning(code, str(note), n=n, groups=groups + (["…"] if n > len(groups) else []))
    if code in WARNING_CODES and not WARNING_CODES[code]:
        return _warning(code, str(note))
    return _warning("", str(note))


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for it in items:
        seen.setdefault(json.dumps(it, sort_keys=True, ensure_ascii=False, default=str), it)
    return list(seen.values())


def _num(x: Any, nd: int = 4) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return round(f, nd) if math.isfinite(f) else None


def _stage_obs(inputs: Inputs, stage: str, eidx: dict[int, int], vidx: dict[int | None, int]
               ) -> tuple[Any, list[ScoreRow], dict[int, int]] | None:
    rows = [r for r in inputs.rows if r.stage == stage and r.entry_id in eidx]
    if not rows:
        return None
    judges = sorted({r.person_id for r in rows})
    jidx = {p: k for k, p in enumerate(judges)}
    ent_venue = {e.id: e.venue_id for e in inputs.entries}
    kwargs: dict[str, Any] = {}
    if stage == "onsite":
        kwargs["venue"] = [vidx[ent_venue.get(r.entry_id)] for r in rows]
    obs = scoring.Scores(entry=[eidx[r.entry_id] for r in rows], judge=[jidx[r.person_id] for r in rows],
                         value=[float(r.total) for r in rows], recused=[r.recused for r in rows],
                         n_entries=len(eidx), n_judges=len(judges), **kwargs)
    return obs, rows, jidx


def compute(inputs: Inputs, settings: dict[str, Any]) -> Preview:
    s = dict(settings)
    if s["method"] not in METHODS:
        raise GradingError("unknown calibration method {method}", method=s["method"])
    entries = inputs.entries
    n = len(entries)
    if n == 0:
        raise GradingError("the contest has no entries")
    eidx = {e.id: i for i, e in enumerate(entries)}
    venue_ids = sorted({e.venue_id for e in entries}, key=lambda v: (v is None, v or 0))
    vidx = {v: k for k, v in enumerate(venue_ids)}
    rule = make_rule(s)
    warnings: list[dict[str, Any]] = []
    onsite = _stage_obs(inputs, "onsite", eidx, vidx)
    initial = _stage_obs(inputs, "initial", eidx, vidx)
    if onsite is None:
        warnings.append(_warning("no_onsite_scores", "no on-site scores yet: every entry counts as not presented"))
    trim = int(s["trim_from"])
    fits: dict[str, Any] = {}
    trimmed: dict[str, Any] = {}
    try:
        if initial is not None:
            fits["initial"] = scoring.calibrate(initial[0], s["initial_method"], min_for_trim=trim)
            trimmed["initial"] = scoring.calibrate(initial[0], "trimmed", min_for_trim=trim)
        if onsite is not None:
            kw: dict[str, Any] = {"min_for_trim": trim}
            if s["method"] == "calibrated" and "initial" in fits:
                kw["yardstick"] = fits["initial"].score
                kw["moderation"] = s.get("moderation", "auto")
            fits["onsite"] = scoring.calibrate(onsite[0], s["method"], **kw)
            trimmed["onsite"] = scoring.calibrate(onsite[0], "trimmed", min_for_trim=trim)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        raise GradingError("the scoring engine refused the scores: {detail}", detail=str(exc)) from exc
    venue_name = _venue_namer(inputs, vidx)
    for stage, f in fits.items():
        warnings.extend(_note(w, stage, venue_name) for w in getattr(f, "warnings", ()))
    weights = {k: inputs.weights.get(k, 0.0) for k in fits}
    nan = np.full(n, np.nan)
    if fits:
        final = scoring.combine({k: f.score for k, f in fits.items()}, weights)
        base_final = scoring.combine({k: f.score for k, f in trimmed.items()}, weights)
    else:
        final, base_final = nan.copy(), nan.copy()
    status = np.array([e.status for e in entries])
    presented = np.isfinite(final) & ~np.isin(status, ["absent", "withdrawn"])
    if onsite is not None:
        has_onsite = np.isfinite(fits["onsite"].score)
        missing_initial = has_onsite & ~np.isfinite(final)
        if missing_initial.any():
            listed = [entries[i].code for i in np.flatnonzero(missing_initial)]
            text = ("entries with on-site but no initial-review scores count as not presented: "
                    + ", ".join(listed[:_MAX_LISTED]))
            warnings.append(_warning("onsite_without_initial", text, n=len(listed), codes=_listed(listed)))
    if s.get("group_by") == "venue":
        group = np.array([vidx[e.venue_id] for e in entries])
    elif s.get("group_by") == "none":
        group = np.zeros(n, dtype=int)
    else:
        tts = sorted({e.topic_type_id for e in entries})
        group = np.array([tts.index(e.topic_type_id) for e in entries])
    tiebreak = fits["onsite"].score if "onsite" in fits else None
    grades = scoring.assign_grades(final, rule, group=group, presented=presented,
                                   tiebreak=np.nan_to_num(tiebreak) if tiebreak is not None else None)
    base = scoring.assign_grades(base_final, rule, group=group, presented=presented)
    probs = None
    if fits:
        try:
            probs = scoring.grade_probabilities(fits, weights, rule, draws=int(s["draws"]), seed=int(s["seed"]),
                                                group=group, presented=presented)
        except (ValueError, np.linalg.LinAlgError) as exc:
            warnings.append(_warning("probabilities_unavailable", f"grade probabilities unavailable: {exc}",
                                     detail=str(exc)))
    boundary: set[int] = set()
    if probs is not None:
        boundary = {int(i) for i in scoring.boundary_review(probs, float(s["boundary"]))}
    labels = grades.label
    base_labels = base.label
    # Per-entry panel details (raw and trimmed on-site mean, dropped marks).
    dropped_rows: set[int] = set()
    if onsite is not None:
        pr = scoring.panel_trimmed(onsite[0], min_for_trim=trim)
        dropped_rows = {onsite[1][k].version_id for k in np.flatnonzero(pr.dropped)}
    results = []
    for i, e in enumerate(entries):
        steps: list[list[Any]] = []
        if "onsite" in fits and np.isfinite(fits["onsite"].score[i]):
            ex = fits["onsite"].explain(i)
            steps = [[label, _num(v)] for label, v in ex.steps]
        res = {
            "entry_id": e.id, "code": e.code, "title": e.title, "team": e.team, "organization": e.organization,
            "recommending_unit": e.recommending_unit, "topic": e.topic, "venue": e.venue, "venue_id": e.venue_id,
            "running_order": e.running_order,
            "initial": _num(fits["initial"].score[i]) if "initial" in fits else None,
            "initial_n": int(np.sum((initial[0].entry == i) & ~initial[0].recused)) if initial else 0,
            "onsite_raw": _num(fits["onsite"].raw_mean[i]) if "onsite" in fits else None,
            "onsite_trimmed": _num(trimmed["onsite"].score[i]) if "onsite" in trimmed else None,
            "onsite": _num(fits["onsite"].score[i]) if "onsite" in fits else None,
            "onsite_n": int(np.sum((onsite[0].entry == i) & ~onsite[0].recused)) if onsite else 0,
            "steps": steps,
            "final": _num(final[i]),
            "rank": int(grades.rank[i]) or None,
            "grade": labels[i],
            "grade_code": int(grades.code[i]),
            "probability": _num(probs[i, grades.code[i]], 3) if probs is not None else None,
            "probabilities": [_num(p, 3) for p in probs[i]] if probs is not None else [],
            "recommended": bool(grades.onward[i]),
            "boundary": i in boundary,
            "baseline_final": _num(base_final[i]),
            "baseline_grade": base_labels[i],
            "changed": labels[i] != base_labels[i],
        }
        results.append(res)
    report = _report(inputs, fits, onsite, vidx, s, warnings, grades, results, dropped_rows)
    return Preview(s, digest(inputs), results, report)


def _report(inputs: Inputs, fits: dict[str, Any], onsite: Any, vidx: dict[int | None, int], s: dict[str, Any],
            warnings: list[dict[str, Any]], grades: Any, results: list[dict[str, Any]], dropped: set[int]
            ) -> dict[str, Any]:
    report: dict[str, Any] = {
        "warnings": _unique(warnings), "counts": grades.counts(), "grade_names": list(grades.names),
        "changes": [r["entry_id"] for r in results if r["changed"]],
        "boundary": [r["entry_id"] for r in sorted(results, key=lambda r: r["probability"] or 0) if r["boundary"]],
        "judges": [], "venues": [], "flags": [], "dropped": sorted(dropped), "engine_version": ENGINE_VERSION,
        "venue_scores": {},
    }
    if onsite is None:
        return report
    obs, rows, jidx = onsite
    names = {}
    for r in rows:
        names[r.person_id] = r.person
    person_venue: dict[int, int | None] = {}
    ent_venue = {e.id: e.venue_id for e in inputs.entries}
    for r in rows:
        person_venue.setdefault(r.person_id, ent_venue.get(r.entry_id))
    inv_v = {k: v for v, k in vidx.items()}
    for r in rows:
        if not r.recused:
            name = inputs.venues.get(ent_venue.get(r.entry_id) or -1, "—")
            report["venue_scores"].setdefault(name, []).append(float(r.total))
    try:
        diag = scoring.diagnose(obs, fits["onsite"])
    except (ValueError, np.linalg.LinAlgError) as exc:
        report["warnings"].append(_warning("diagnostics_unavailable", f"diagnostics unavailable: {exc}",
                                           detail=str(exc)))
        return report
    inv_j = {k: p for p, k in jidx.items()}
    jr = diag.judges
    for k in range(len(inv_j)):
        pid = inv_j[k]
        report["judges"].append({
            "person_id": pid, "name": names.get(pid, str(pid)),
            "venue": inputs.venues.get(person_venue.get(pid) or -1, ""),
            "n": int(jr.n[k]), "severity": _num(jr.severity[k], 3), "se": _num(jr.severity_se[k], 3),
            "consistency": _num(jr.consistency[k], 3), "agreement": _num(jr.agreement[k], 3),
        })
    if diag.venues is not None:
        vr = diag.venues
        for k in range(len(vr.n_entries)):
            vid = inv_v.get(k)
            if int(vr.n_entries[k]) == 0:
                continue
            report["venues"].append({
                "venue": inputs.venues.get(vid or -1, "—"), "n_entries": int(vr.n_entries[k]),
                "n_judges": int(vr.n_judges[k]), "icc_1": _num(vr.icc_1[k], 3), "icc_k": _num(vr.icc_k[k], 3),
                "kendall_w": _num(vr.kendall_w[k], 3), "linked": bool(vr.linked[k]),
            })
    for f in diag.flags:
        if f.subject == "judge":
            who = names.get(inv_j.get(f.id, -1), str(f.id))
        elif f.subject == "venue":
            who = inputs.venues.get(inv_v.get(f.id) or -1, str(f.id))
        else:
            who = ""
        report["flags"].append(_flag(f, who, inputs))
    venue_name = _venue_namer(inputs, vidx)
    report["warnings"] = _unique(report["warnings"] + [_note(n, "onsite", venue_name) for n in diag.notes])
    return report


def _venue_namer(inputs: Inputs, vidx: dict[int | None, int]) -> Callable[[int], str]:
    """Venue index (as given to the scoring engine) -> venue name."""
    inv_v = {k: v for v, k in vidx.items()}

    def name(k: int) -> str:
        vid = inv_v.get(k)
        return inputs.venues.get(vid, "—") if vid is not None else "—"

    return name


def _flag(f: Any, who: str, inputs: Inputs) -> dict[str, Any]:
    """A diagnostics flag for the report: kind, who, the statistic(s) to phrase it, and the English meaning
    (the fallback). A flag whose statistic is not finite keeps only its meaning (shown as is)."""
    item: dict[str, Any] = {"subject": f.subject, "who": who, "kind": f.kind, "meaning": f.meaning}
    params: dict[str, Any] = {}
    if f.kind == "deviation_cases":
        n = _num(f.statistic, 0)
        params = {"n": None if n is None else int(n),
                  "codes": _listed([inputs.entries[i].code for i in f.entries if 0 <= i < len(inputs.entries)])}
    elif f.kind in FLAG_KINDS and "value" in FLAG_KINDS[f.kind]:
        params = {"value": _num(f.statistic, 4)}
    if all(v is not None for v in params.values()):
        item["params"] = params
    return item


# --------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------
def _dec(x: float | None) -> Decimal | None:
    return None if x is None else Decimal(str(x)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


async def save_run(session: AsyncSession, contest_id: int, inputs: Inputs, preview: Preview,
                   account_id: int | None) -> GradeRun:
    run = GradeRun(contest_id=contest_id, status="preview", input_digest=preview.digest,
                   engine_version=ENGINE_VERSION, created_by=account_id,
                   config={"settings": preview.settings, "snapshot": snapshot_of(inputs), "report": preview.report})
    run.results = [
        GradeResult(entry_id=r["entry_id"], rank=r["rank"], final_score=_dec(r["final"]), grade=r["grade"],
                    probability=r["probability"], recommended=r["recommended"], explanation=r)
        for r in preview.results
    ]
    session.add(run)
    await session.flush()
    return run


async def preview_run(session: AsyncSession, contest_id: int, settings: dict[str, Any],
                      account_id: int | None) -> GradeRun:
    inputs = await load_inputs(session, contest_id)
    return await save_run(session, contest_id, inputs, compute(inputs, settings), account_id)


async def current_digest(session: AsyncSession, contest_id: int) -> str:
    return digest(await load_inputs(session, contest_id))


# --------------------------------------------------------------------------------------------------
# Boundary review: before approval, staff decide on each entry of the preview's boundary-review list (its grade
# the data cannot settle): keep the computed grade, or give another one, with a reason. Decisions live in the run
# (``config["reviews"]``, keyed by entry id, and the result's ``explanation["review"]``), are audited, and are
# re-applied by :func:`verify`; approval needs a decision for every listed entry.
# --------------------------------------------------------------------------------------------------
REASON_MIN = 2
REASON_MAX = 500  # AuditLog.reason


def reviews_of(run: GradeRun) -> dict[str, dict[str, Any]]:
    return dict((run.config or {}).get("reviews", {}))


def unreviewed(run: GradeRun) -> list[int]:
    """Entries on the run's boundary-review list without a decision yet."""
    done = reviews_of(run)
    return [int(i) for i in (run.config or {}).get("report", {}).get("boundary", []) if str(i) not in done]


async def review_boundary(session: AsyncSession, run_id: int, entry_id: int, grade: str, reason: str,
                          account_id: int | None, by_name: str) -> dict[str, Any]:
    """Record (or replace) the decision on one boundary entry of a preview; returns the decision."""
    # Locked and re-read (populate_existing: the route may have loaded it before): two decisions at once, or a
    # decision and the approval, happen one after the other on the current row, so none is lost or comes late.
    run = await session.get(GradeRun, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise GradingError("there is no grade run {run}", run=run_id)
    if run.status != "preview":
        raise GradingError("run {run} is not a preview (it was approved, or is outdated); only a preview can be "
                           "reviewed", run=run_id)
    report = (run.config or {}).get("report", {})
    if entry_id not in report.get("boundary", []):
        code = await session.scalar(select(Entry.code).where(Entry.id == entry_id))
        raise GradingError("entry {entry} is not on this run's boundary-review list",
                           entry=code or f"#{entry_id}")
    names = list(report.get("grade_names", []))
    if grade not in names:
        raise GradingError("“{grade}” is not a grade of this run's rule; choose one of {grades}", grade=grade,
                           grades="、".join(names))
    result = (await session.execute(select(GradeResult).where(
        GradeResult.run_id == run_id, GradeResult.entry_id == entry_id))).scalar_one()
    computed = str((result.explanation or {}).get("grade", result.grade))
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise GradingError("the reason is too long (at most {max} characters)", max=REASON_MAX)
    if grade != computed and len(reason) < REASON_MIN:
        raise GradingError("a changed grade needs a reason (at least two characters); it is kept with the list")
    decision = {"grade": grade, "from": computed, "kept": grade == computed, "reason": reason,
                "by": account_id, "by_name": by_name, "at": utcnow().isoformat(timespec="seconds")}
    result.grade = grade
    result.recommended = recommended_after(run.config.get("settings", {}), decision,
                                           bool((result.explanation or {}).get("recommended")))
    result.explanation = {**(result.explanation or {}), "review": decision}
    run.config = {**run.config, "reviews": {**reviews_of(run), str(entry_id): decision}}
    await session.flush()
    return decision


def recommended_after(settings: dict[str, Any], decision: dict[str, Any], computed: bool) -> bool:
    """Recommended onward after a review decision: an entry the committee moves to no grade (the rule's ungraded
    or non-presenter label) is not recommended; otherwise the computed recommendation stands."""
    no_grade = {settings.get("ungraded", "无等级"), settings.get("non_presenter_grade", "优秀奖")}
    return computed and decision["grade"] not in no_grade


def reviews_digest(run: GradeRun) -> str:
    """A short fingerprint of the run's review decisions: the approval form carries the one its page showed, so
    an approval does not stamp decisions the owner has not seen."""
    text = json.dumps(reviews_of(run), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def finalize(session: AsyncSession, run_id: int, account_id: int, *, seen_reviews: str | None = None
                   ) -> GradeRun:
    run = await session.get(GradeRun, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise GradingError("no such grade run")
    if run.status != "preview":
        raise GradingError("run {run} is not a preview (it was approved, or is outdated); only a preview can be "
                           "approved", run=run_id)
    if seen_reviews is not None and seen_reviews != reviews_digest(run):
        raise GradingError("boundary-review decisions changed since this page was loaded; reload it and check them")
    pending = unreviewed(run)
    if pending:
        codes = (await session.execute(select(Entry.code).where(Entry.id.in_(pending)).order_by(Entry.code))
                 ).scalars().all()
        raise GradingError("{n} boundary entries have no review decision yet: {codes}", n=len(pending),
                           codes=", ".join(codes))
    if await current_digest(session, run.contest_id) != run.input_digest:
        raise GradingError("scores changed since this preview was computed; compute a new preview first")
    for other in (await session.execute(select(GradeRun).where(
            GradeRun.contest_id == run.contest_id, GradeRun.status == "final"))).scalars():
        other.status = "outdated"
        other.outdated_at = utcnow()
    run.status = "final"
    run.approved_by = account_id
    run.approved_at = utcnow()
    await make_official(session, run.contest_id)
    await session.flush()
    return run


async def make_official(session: AsyncSession, contest_id: int) -> list[int]:
    """The result lifecycle's last step (released -> official): every released entry of the contest, in the
    finalizing transaction, announced on the feeds (``grades.finalized``), so screens, the board and tablets
    show the results as official. Returns the entries' ids."""
    from judging.events import append_event

    released = list((await session.execute(
        select(Entry.id).where(Entry.contest_id == contest_id, Entry.status == "released").order_by(Entry.id)
    )).scalars())
    if released:
        await session.execute(update(Entry).where(Entry.id.in_(released)).values(status="official"))
        await append_event(session, "grades.finalized", {"contest_id": contest_id, "entry_ids": released},
                           contest_id=contest_id)
    return released


# A mismatch is a ``scoring.Note``: the English sentence (the JSON API and ``podium grades verify`` print it as is)
# with a code and params, so the recompute-check page phrases it through the staff catalog (``mismatch:<code>``).
MISMATCH_CODES: dict[str, tuple[str, ...]] = {  # code -> params its message uses
    "engine_version": ("stored", "current"),
    "input_digest": (),
    "missing_in_stored": ("code",),
    "grade_differs": ("code", "stored_grade", "stored_score", "grade", "score"),
    "not_recomputed": ("entry",),
    "review_base_differs": ("code", "reviewed_from", "grade"),
}


def _shown(x: object) -> str:
    return "—" if x is None else str(x)


@dataclass
class Verification:
    run_id: int
    ok: bool
    stored_digest: str
    recomputed_digest: str
    current_digest: str
    mismatches: list[str]  # scoring.Note items

    @property
    def current(self) -> bool:
        return self.current_digest == self.stored_digest


async def verify(session: AsyncSession, run_id: int) -> Verification:
    """Recompute a run from the log (the exact versions it used) and compare digest and results."""
    run = await session.get(GradeRun, run_id)
    if run is None:
        raise GradingError("there is no grade run {run}", run=run_id)
    inputs = await load_inputs(session, run.contest_id, snapshot=run.config.get("snapshot", {}))
    preview = compute(inputs, run.config.get("settings", {}))
    stored = {r.entry_id: r for r in (await session.execute(
        select(GradeResult).where(GradeResult.run_id == run_id))).scalars()}
    mismatches: list[str] = []
    if run.engine_version != ENGINE_VERSION:
        mismatches.append(scoring.Note(f"engine version {run.engine_version} != {ENGINE_VERSION}", "engine_version",
                                       {"stored": run.engine_version, "current": ENGINE_VERSION}))
    if preview.digest != run.input_digest:
        mismatches.append(scoring.Note("input digest differs", "input_digest"))
    seen = set()
    reviews = reviews_of(run)
    for r in preview.results:
        s = stored.get(r["entry_id"])
        seen.add(r["entry_id"])
        if s is None:
            mismatches.append(scoring.Note(f"{r['code']}: missing in the stored run", "missing_in_stored",
                                           {"code": r["code"]}))
            continue
        review = reviews.get(str(r["entry_id"]))
        if review is not None:  # the boundary review's decision stands on the grade it was made on
            if review["from"] != r["grade"]:
                mismatches.append(scoring.Note(
                    f"{r['code']}: reviewed from {review['from']}, recomputed {r['grade']}", "review_base_differs",
                    {"code": r["code"], "reviewed_from": review["from"], "grade": r["grade"]}))
            r = {**r, "grade": review["grade"],
                 "recommended": recommended_after(run.config.get("settings", {}), review, r["recommended"])}
        if s.grade != r["grade"] or _dec(r["final"]) != (None if s.final_score is None else Decimal(s.final_score)
                                                          .quantize(Decimal("0.0001"))) \
                or (s.rank or None) != r["rank"] or bool(s.recommended) != r["recommended"]:
            mismatches.append(scoring.Note(
                f"{r['code']}: stored {s.grade} {s.final_score}, recomputed {r['grade']} {r['final']}", "grade_differs",
                {"code": r["code"], "stored_grade": _shown(s.grade), "stored_score": _shown(s.final_score),
                 "grade": _shown(r["grade"]), "score": _shown(r["final"])}))
    for eid in set(stored) - seen:
        mismatches.append(scoring.Note(f"entry {eid}: stored but not recomputed", "not_recomputed", {"entry": eid}))
    cur = await current_digest(session, run.contest_id)
    return Verification(run_id, not mismatches, run.input_digest, preview.digest, cur, mismatches)


async def refresh_outdated(session: AsyncSession, contest_id: int) -> list[GradeRun]:
    """Mark final runs whose score log changed since approval as outdated (never silently recomputed)."""
    finals = (await session.execute(select(GradeRun).where(
        GradeRun.contest_id == contest_id, GradeRun.status == "final"))).scalars().all()
    if not finals:
        return []
    cur = await current_digest(session, contest_id)
    changed = []
    for run in finals:
        if run.input_digest != cur:
            run.status = "outdated"
            run.outdated_at = utcnow()
            changed.append(run)
    await session.flush()
    return changed


_OUTDATE = (
    update(GradeRun.__table__).where(GradeRun.__table__.c.contest_id == bindparam("of_contest"),
                                     GradeRun.__table__.c.status == "final")
    .values(status="outdated", outdated_at=bindparam("now", type_=GradeRun.__table__.c.outdated_at.type))
    .returning(GradeRun.__table__.c.id)
)


async def outdate_finals(session: AsyncSession, contest_id: int, entry_id: int | None, why: str) -> int:
    """A score changed after finalization: mark the contest's final grade lists outdated in the same
    transaction (never recomputed silently). Cheap enough for every submission: one indexed UPDATE, built once."""
    result = await session.execute(_OUTDATE, {"of_contest": contest_id, "now": utcnow()})
    ids = [int(r) for r in result.scalars()]
    if ids:
        session.add(AuditLog(action="grades.outdated", contest_id=contest_id, entry_id=entry_id,
                             target=",".join(f"run:{i}" for i in ids), reason=why, detail={"runs": ids}))
    return len(ids)


async def needs_outdating(session: AsyncSession, contest_id: int) -> bool:
    finals = (await session.execute(select(GradeRun.input_digest).where(
        GradeRun.contest_id == contest_id, GradeRun.status == "final"))).scalars().all()
    if not finals:
        return False
    cur = await current_digest(session, contest_id)
    return any(d != cur for d in finals)
