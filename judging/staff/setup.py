"""Contest setup services: contest with preset stages, topic types and rubrics; stage weights; rubric editing
(until frozen by the first score); venues and their schedule; deleting a venue or topic type made by mistake
(only while nothing uses it); the grade rule. Callers audit and commit."""

from __future__ import annotations

import math
import re
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from judging.accounts import revoke_tokens
from judging.db.models import (
    Account,
    Contest,
    Entry,
    Event,
    HelpCall,
    PanelMember,
    Presence,
    RoleGrant,
    Rubric,
    RubricItem,
    ScoreSheet,
    Stage,
    TopicType,
    Venue,
)
from judging.errors import Msgid, Refusal
from judging.events import ensure_counter
from judging.presets import DEFAULT_GRADE_RULE, STAGES, TOPIC_TYPES, TopicPreset
from judging.staff.assignment import VENUE_ACCOUNTS, ensure_venue_accounts

M = TypeVar("M", Venue, TopicType)


class SetupError(Refusal):
    """A refused setup change: an English catalog template and its parameters (``str()`` is the English text;
    the staff console shows it in the viewer's language). ``code`` and ``status_code`` are the HTTP error's."""

    code = "invalid"
    status_code = 400


class SetupNotFound(SetupError):
    """The venue or topic type named is not one of this contest's."""

    code = "not_found"
    status_code = 404


class SetupInUse(SetupError):
    """The venue or topic type is in use: deleting it would lose or rewrite what refers to it."""

    code = "in_use"
    status_code = 409


async def create_contest(session: AsyncSession, name: str, year: int, organizer: str = "") -> Contest:
    name = name.strip()
    if not name:
        raise SetupError("the contest needs a name")
    if not 2000 <= year <= 2100:
        raise SetupError("the year must be between 2000 and 2100")
    await ensure_counter(session)
    contest = Contest(name=name[:200], year=year, organizer=organizer.strip()[:200],
                      grade_rule=dict(DEFAULT_GRADE_RULE))
    session.add(contest)
    await session.flush()
    stages = []
    for kind, zh, en, position, weight in STAGES:
        stage = Stage(contest_id=contest.id, kind=kind, name_zh=zh, name_en=en, position=position, weight=weight)
        session.add(stage)
        stages.append(stage)
    await session.flush()
    for preset in TOPIC_TYPES:
        await add_topic_type(session, contest.id, preset.key, preset.name_zh, preset.name_en, preset=preset)
    return contest


async def add_topic_type(session: AsyncSession, contest_id: int, key: str, name_zh: str, name_en: str,
                         preset: TopicPreset | None = None) -> TopicType:
    key = key.strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
        raise SetupError("the key must be lower-case letters, digits and _")
    if await session.scalar(select(TopicType.id).where(TopicType.contest_id == contest_id, TopicType.key == key)):
        raise SetupError("topic type {key} exists already", key=key)
    if not name_zh.strip():
        raise SetupError("the topic type needs a Chinese name")
    tt = TopicType(contest_id=contest_id, key=key, name_zh=name_zh.strip()[:50], name_en=name_en.strip()[:80])
    session.add(tt)
    await session.flush()
    preset = preset or next((p for p in TOPIC_TYPES if p.key == key), TOPIC_TYPES[0])
    for stage in (await session.execute(select(Stage).where(Stage.contest_id == contest_id))).scalars():
        rubric = Rubric(topic_type_id=tt.id, stage_id=stage.id, name=preset.rubric_name if preset.key == key
                        else f"{tt.name_zh}（自定义）")
        rubric.items = [RubricItem(key=i.key, label_zh=i.label_zh, label_en=i.label_en, max_points=i.max_points,
                                   step=i.step, position=n) for n, i in enumerate(preset.items)]
        session.add(rubric)
    await session.flush()
    return tt


async def set_stage_weights(session: AsyncSession, contest_id: int, weights: dict[str, Any]) -> dict[str, str]:
    out = {}
    stages = (await session.execute(select(Stage).where(Stage.contest_id == contest_id))).scalars().all()
    for stage in stages:
        if stage.kind in weights:
            w = _decimal(weights[stage.kind], "weight")
            if not Decimal(0) <= w <= Decimal(1):
                raise SetupError("a stage weight must be between 0 and 1")
            stage.weight = w
            out[stage.kind] = str(w)
    total = sum((Decimal(stage.weight) for stage in stages), Decimal(0))
    if stages and total != 1:
        raise SetupError("the stage weights must add up to 1 (they add up to {total})", total=f"{total:g}")
    await session.flush()
    return out


async def rubric_is_frozen(session: AsyncSession, rubric: Rubric) -> bool:
    if rubric.frozen_at is not None:
        return True
    used = await session.scalar(select(func.count(ScoreSheet.id)).where(ScoreSheet.rubric_id == rubric.id))
    return bool(used)


async def replace_rubric_items(session: AsyncSession, contest_id: int, rubric_id: int,
                               items: list[dict[str, Any]]) -> Rubric:
    rubric = (await session.execute(select(Rubric).options(selectinload(Rubric.items))
                                    .where(Rubric.id == rubric_id))).scalar_one_or_none()
    if rubric is None:
        raise SetupError("no such rubric")
    tt = await session.get(TopicType, rubric.topic_type_id)
    if tt is None or tt.contest_id != contest_id:
        raise SetupError("no such rubric in this contest")
    if await rubric_is_frozen(session, rubric):
        raise SetupError("this rubric is frozen: scoring has started")
    if not items:
        raise SetupError("a rubric needs at least one item")
    keys = set()
    new = []
    for n, it in enumerate(items):
        key = str(it.get("key", "")).strip() or f"item{n + 1}"
        if key in keys:
            raise SetupError("duplicate item key {key}", key=key)
        keys.add(key)
        label = str(it.get("label_zh", "")).strip()
        if not label:
            raise SetupError("every item needs a Chinese label")
        mx, step = _decimal(it.get("max_points"), "max"), _decimal(it.get("step", "0.5"), "step")
        if mx <= 0 or step <= 0 or mx > 1000:
            raise SetupError("maximum and step must be positive")
        if mx != mx.quantize(_CENT) or step != step.quantize(_CENT):
            raise SetupError("{label}: maximum and step have at most 2 decimals", label=label)
        if step > mx or mx % step != 0:
            raise SetupError("{label}: the maximum {max} must be a whole number of steps of {step}", label=label,
                             max=f"{mx.normalize():f}", step=f"{step.normalize():f}")
        new.append(RubricItem(key=key[:40], label_zh=label[:100], label_en=str(it.get("label_en", "") or label)[:100],
                              max_points=mx, step=step, position=n))
    rubric.items.clear()
    await session.flush()
    rubric.items.extend(new)
    await session.flush()
    return rubric


async def save_venue(session: AsyncSession, contest_id: int, data: dict[str, Any],
                     venue_id: int | None = None, tz: tzinfo | None = None) -> Venue:
    """Create or update a venue; a start time without a zone is the contest's local time (``tz``, the settings'
    ``PODIUM_TIMEZONE``; Asia/Shanghai by default)."""
    code = str(data.get("code", "")).strip()
    name = str(data.get("name", "")).strip()
    if not code or not name:
        raise SetupError("a venue needs a code and a name")
    if len(code) > 20 or len(name) > 100:
        raise SetupError("a venue code has at most 20 characters and a venue name at most 100")
    clash = await session.scalar(select(Venue.id).where(Venue.contest_id == contest_id, Venue.code == code))
    if clash is not None and clash != venue_id:
        raise SetupError("venue code {code} is taken", code=code)
    old_name = None
    if venue_id is None:
        # After the last one, not at the count: a deleted venue leaves a gap, and the others keep their places.
        last = await session.scalar(select(func.max(Venue.position)).where(Venue.contest_id == contest_id))
        position = 0 if last is None else int(last) + 1
        venue = Venue(contest_id=contest_id, code=code, name=name, position=position)
        session.add(venue)
    else:
        venue = await session.get(Venue, venue_id)
        if venue is None or venue.contest_id != contest_id:
            raise SetupError("no such venue")
        old_name = venue.name
        venue.code, venue.name = code, name
    venue.location = str(data.get("location", "") or "")[:200]
    for field_name in ("presentation_minutes", "qa_minutes"):
        if data.get(field_name) not in (None, ""):
            try:
                minutes = int(str(data[field_name]).strip())
            except ValueError as exc:
                raise SetupError("minutes must be a whole number between 0 and 180") from exc
            if not 0 <= minutes <= 180:
                raise SetupError("minutes must be between 0 and 180")
            setattr(venue, field_name, minutes)
    if data.get("starts_at"):
        try:
            starts = datetime.fromisoformat(str(data["starts_at"]))
        except ValueError as exc:
            raise SetupError("start time must look like 2024-05-20T08:30") from exc
        if starts.tzinfo is None:
            from zoneinfo import ZoneInfo

            starts = starts.replace(tzinfo=tz or ZoneInfo("Asia/Shanghai"))
        venue.starts_at = starts
    await session.flush()
    await ensure_venue_accounts(session, venue, old_name=old_name)
    return venue


async def delete_venue(session: AsyncSession, contest_id: int, venue_id: int) -> tuple[Venue, list[int]]:
    """Delete a venue made by mistake, only while nothing refers to it: no entry assigned, nobody on its panel, and
    no live record (event, help call, tablet presence). Those rows would otherwise be unassigned (``SET NULL``) or
    deleted with it (``ON DELETE CASCADE``): the event log and the help calls are history that is never lost.

    Its role grants go with it; its host and screen accounts, left with no role, are disabled and their login links
    and sessions revoked, so the printed cards stop working. The other venues keep their positions. Returns the
    deleted venue and the ids of the accounts disabled."""
    venue = await _locked_of_contest(session, Venue, venue_id, contest_id, "no such venue")
    entries = await _count(session, Entry.id, Entry.venue_id == venue_id)
    if entries:
        raise SetupInUse("venue {code} still has entries assigned ({n}): move them to another venue on the "
                         "assignment page, then delete it", code=venue.code, n=entries)
    judges = await _count(session, PanelMember.id, PanelMember.venue_id == venue_id)
    if judges:
        raise SetupInUse("venue {code} still has judges on its panel ({n}): remove them on the assignment page, "
                         "then delete it", code=venue.code, n=judges)
    used = (await _count(session, Event.seq, Event.venue_id == venue_id)
            + await _count(session, HelpCall.id, HelpCall.venue_id == venue_id)
            + await _count(session, Presence.id, Presence.venue_id == venue_id))
    if used or venue.current_entry_id is not None:
        raise SetupInUse("venue {code} has been used live (its events, help calls or tablets are on record, and that "
                         "record is kept), so it cannot be deleted: rename it and use it instead", code=venue.code)
    own = {role for role, _ in VENUE_ACCOUNTS}
    holders = set((await session.execute(
        select(RoleGrant.account_id).where(RoleGrant.venue_id == venue_id, RoleGrant.role.in_(own)))).scalars())
    await session.execute(delete(RoleGrant).where(RoleGrant.venue_id == venue_id))
    # An account that still has a role elsewhere keeps it; the venue's own host and screen have none left.
    kept = set((await session.execute(
        select(RoleGrant.account_id).where(RoleGrant.account_id.in_(holders)))).scalars()) if holders else set()
    disabled = sorted(holders - kept)
    for account_id in disabled:
        await revoke_tokens(session, account_id, ("setup", "login_link", "session"))
        account = await session.get(Account, account_id)
        if account is not None:
            account.disabled = True
    await session.execute(delete(Venue).where(Venue.id == venue_id))
    await session.flush()
    return venue, disabled


async def delete_topic_type(session: AsyncSession, contest_id: int, topic_type_id: int
                            ) -> tuple[TopicType, list[dict[str, Any]]]:
    """Delete a topic type made by mistake, with its rubrics and their items, only while no entry has it and no score
    sheet was started against one of its rubrics (a frozen rubric counts as scored). Returns the topic type and its
    rubrics as they were (name, stage and items: for the audit log, as they may have been edited by hand)."""
    tt = await _locked_of_contest(session, TopicType, topic_type_id, contest_id, "no such topic type")
    entries = await _count(session, Entry.id, Entry.topic_type_id == topic_type_id)
    if entries:
        raise SetupInUse("topic type {key} is still the topic type of entries ({n}): import them again with the "
                         "right topic type, then delete it", key=tt.key, n=entries)
    rubric_ids = select(Rubric.id).where(Rubric.topic_type_id == topic_type_id)
    scored = await _count(session, ScoreSheet.id, ScoreSheet.rubric_id.in_(rubric_ids))
    frozen = await _count(session, Rubric.id, Rubric.topic_type_id == topic_type_id, Rubric.frozen_at.is_not(None))
    if scored or frozen:
        raise SetupInUse("topic type {key} has been scored against its rubrics, and those scores are kept: it cannot "
                         "be deleted", key=tt.key)
    rubrics = [
        {"name": r.name, "stage_id": r.stage_id,
         "items": [[i.key, i.label_zh, i.label_en, str(i.max_points), str(i.step)] for i in r.items]}
        for r in (await session.execute(select(Rubric).options(selectinload(Rubric.items))
                                        .where(Rubric.topic_type_id == topic_type_id).order_by(Rubric.id))).scalars()
    ]
    await session.execute(delete(RubricItem).where(RubricItem.rubric_id.in_(rubric_ids)))
    await session.execute(delete(Rubric).where(Rubric.topic_type_id == topic_type_id))
    await session.execute(delete(TopicType).where(TopicType.id == topic_type_id))
    await session.flush()
    return tt, rubrics


async def _locked_of_contest(session: AsyncSession, model: type[M], row_id: int, contest_id: int, missing: str) -> M:
    """The row, locked against concurrent use (a foreign-key insert waits, then fails), if it is this contest's."""
    row = (await session.execute(select(model).where(model.id == row_id).with_for_update())).scalar_one_or_none()
    if row is None or row.contest_id != contest_id:
        raise SetupNotFound(missing)
    return row


async def _count(session: AsyncSession, column: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count(column)).where(*where)) or 0)


def validate_grade_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """Check a grade rule against the scoring engine's own validation; returns the cleaned rule."""
    from judging.staff.grading import make_rule

    out = dict(DEFAULT_GRADE_RULE)
    out.update({k: v for k, v in rule.items() if v is not None})
    if out.get("kind") not in ("quota", "threshold"):
        raise SetupError("the grade rule kind must be quota or threshold")
    labels = [str(x).strip() for x in out.get("labels", []) if str(x).strip()]
    if not labels:
        raise SetupError("the grade rule needs at least one grade label")
    out["labels"] = labels
    out["shares"] = [_float(x, "shares") for x in out.get("shares", [])][: len(labels)]
    out["cuts"] = [_float(x, "thresholds") for x in out.get("cuts", [90, 85, 80])][: len(labels)]
    if out.get("floor") in ("", None):
        out["floor"] = None
    else:
        out["floor"] = _float(out["floor"], "floor")
    out["recommend_top_k"] = _whole(out.get("recommend_top_k") or 0, "recommend_top_k")
    out["trim_from"] = _whole(out.get("trim_from") or 5, "trim_from")
    check_rule_numbers(out["trim_from"], out["recommend_top_k"], out["floor"])
    from judging.staff.grading import METHODS

    if out.get("method", "calibrated") not in METHODS:
        raise SetupError("unknown calibration method {method}", method=str(out.get("method"))[:40])
    if out.get("group_by", "topic_type") not in ("topic_type", "venue", "none"):
        raise SetupError("grades are given per topic type, per venue or over all entries")
    if out["kind"] == "quota":
        if len(out["shares"]) != len(labels):
            raise SetupError("give one share per grade label ({labels} labels, {given} shares)",
                             labels=len(labels), given=len(out["shares"]))
        total = sum(out["shares"])
        if any(x < 0 for x in out["shares"]) or total > 1 + 1e-9:
            raise SetupError("the shares must not be negative and must add up to at most 1 (they add up to "
                             "{total})", total=f"{total:g}")
    else:
        if len(out["cuts"]) != len(labels):
            raise SetupError("give one threshold per grade label ({labels} labels, {given} thresholds)",
                             labels=len(labels), given=len(out["cuts"]))
        if any(a <= b for a, b in zip(out["cuts"], out["cuts"][1:], strict=False)):
            raise SetupError("the thresholds must go down from the best grade to the last")
    out["coi_same_recommending_unit"] = bool(out.get("coi_same_recommending_unit", False))
    settings = {"kind": out["kind"], "shares": out["shares"], "cuts": out["cuts"], "labels": labels,
                "floor": out["floor"], "non_presenter_grade": out.get("non_presenter_grade", "优秀奖"),
                "recommend_top_k": out["recommend_top_k"]}
    try:
        make_rule(settings)
    except ValueError as exc:
        raise SetupError("the grade rule is not valid: {detail}", detail=str(exc)) from exc
    return out


_CENT = Decimal("0.01")


def check_rule_numbers(trim_from: int, recommend_top_k: int, floor: float | None) -> None:
    """The grade rule's numbers that the engine would accept but that make no sense (the setup page and the
    grading preview's form both check them)."""
    if not 3 <= trim_from <= 30:
        raise SetupError("the highest and lowest marks can be dropped from 3 to 30 judges on (got {n})", n=trim_from)
    if recommend_top_k < 0:
        raise SetupError("the number recommended onward cannot be negative")
    if floor is not None and not 0 <= floor <= 100:
        raise SetupError("the floor is a score from 0 to 100 (got {floor})", floor=f"{floor:g}")


def _decimal(value: Any, what: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise SetupError("{what} must be a number", what=Msgid(what)) from exc
    if not d.is_finite():
        raise SetupError("{what} must be a number", what=Msgid(what))
    return d


def _float(value: Any, what: str) -> float:
    try:
        x = float(str(value).strip())
    except ValueError as exc:
        raise SetupError("{what} must be a number", what=Msgid(what)) from exc
    if not math.isfinite(x):
        raise SetupError("{what} must be a number", what=Msgid(what))
    return x


def _whole(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise SetupError("{what} must be a whole number.", what=Msgid(what)) from exc
