"""``podium demo``: a demo contest — 2 stages, the QC topic types with their rubrics, 3 venues x 5 judges,
30 entries, reviewers with initial-review scores, a few conflicts, a host and a screen per venue."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from judging.db.base import utcnow
from judging.db.models import (
    Account,
    Conflict,
    Contest,
    Entry,
    PanelMember,
    Person,
    ReviewerAssignment,
    RoleGrant,
    Rubric,
    RubricItem,
    ScoreSheet,
    SheetVersion,
    Stage,
    TopicType,
    Venue,
)
from judging.events import ensure_counter
from judging.presets import CIRCLE_TYPES, DEFAULT_GRADE_RULE, STAGES, TOPIC_TYPES
from judging.staff.assignment import ensure_venue_accounts

CITIES = ("济南市", "青岛市", "淄博市", "烟台市", "潍坊市", "济宁市", "泰安市", "威海市", "日照市", "临沂市")
ORG_KINDS = ("电力公司", "钢铁集团", "化工有限公司", "医院", "港口集团", "机械制造厂", "燃气公司", "烟草公司")
SUBJECTS = ("降低", "提高", "缩短", "减少", "研制")
OBJECTS = ("变压器故障率", "一次交检合格率", "设备停机时间", "门诊候诊时长", "焊接返修率", "能耗", "新型检测工装",
           "物料损耗率", "客户投诉率", "巡检效率")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "霞", "平", "刚", "桂英")


async def contest_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(Contest.id))) or 0)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")


async def seed_demo(session: AsyncSession, seed: int = 2024) -> Contest:
    """Create the demo contest in the caller's transaction and return it."""
    rng = random.Random(seed)
    await ensure_counter(session)
    contest = Contest(name="2024年山东省质量管理小组成果发表赛（演示）", year=2024, organizer="山东省质量管理协会",
                      grade_rule=dict(DEFAULT_GRADE_RULE))
    session.add(contest)
    await session.flush()

    stages = {}
    for kind, zh, en, position, weight in STAGES:
        stage = Stage(contest_id=contest.id, kind=kind, name_zh=zh, name_en=en, position=position, weight=weight)
        session.add(stage)
        stages[kind] = stage
    topic_types, rubrics = {}, {}
    for preset in TOPIC_TYPES:
        tt = TopicType(contest_id=contest.id, key=preset.key, name_zh=preset.name_zh, name_en=preset.name_en)
        session.add(tt)
        topic_types[preset.key] = tt
    await session.flush()
    for preset in TOPIC_TYPES:
        for kind, stage in stages.items():
            rubric = Rubric(topic_type_id=topic_types[preset.key].id, stage_id=stage.id, name=preset.rubric_name)
            rubric.items = [
                RubricItem(key=i.key, label_zh=i.label_zh, label_en=i.label_en, max_points=i.max_points, step=i.step,
                           position=n)
                for n, i in enumerate(preset.items)
            ]
            session.add(rubric)
            rubrics[(preset.key, kind)] = rubric
    venues = []
    for n in range(3):
        venue = Venue(contest_id=contest.id, code=f"V{n + 1}", name=f"第{'一二三'[n]}分会场", position=n,
                      location=f"会议中心 {n + 2}0{n + 1} 室")
        session.add(venue)
        venues.append(venue)
    await session.flush()

    # 30 entries: 12 problem-solving, 12 innovation, 6 quality-trusted teams; 10 per venue.
    keys = ["problem_solving"] * 12 + ["innovation"] * 12 + ["trusted_team"] * 6
    rng.shuffle(keys)
    entries = []
    for n, key in enumerate(keys):
        city = CITIES[n % len(CITIES)]
        org = city.replace("市", "") + rng.choice(ORG_KINDS)
        circle = rng.choice(CIRCLE_TYPES) if key != "innovation" else "创新型"
        team = f"{org.replace('有限公司', '')}{'班组' if key == 'trusted_team' else 'QC小组'}"
        title = (f"{rng.choice(SUBJECTS)}{rng.choice(OBJECTS)}" if key != "trusted_team"
                 else f"{org}质量信得过班组建设")
        entry = Entry(contest_id=contest.id, code=f"2024-{n + 1:03d}", title=title, team=team, organization=org,
                      recommending_unit=f"{city}质量管理协会", circle_type=circle, topic_type_id=topic_types[key].id,
                      venue_id=venues[n % 3].id, running_order=n // 3 + 1)
        session.add(entry)
        entries.append(entry)
    await session.flush()

    # Panels: 5 judges per venue, the first one chief.
    judges_by_venue: dict[int, list[Person]] = {}
    for venue in venues:
        members = []
        for k in range(5):
            person = Person(contest_id=contest.id, name=_name(rng),
                            organization=rng.choice(CITIES).replace("市", "") + rng.choice(ORG_KINDS),
                            title="高级工程师" if k % 2 == 0 else "质量总监")
            session.add(person)
            members.append(person)
        await session.flush()
        for k, person in enumerate(members):
            session.add(PanelMember(venue_id=venue.id, person_id=person.id, is_chief=k == 0))
            account = Account(display_name=person.name, person_id=person.id)
            session.add(account)
            await session.flush()
            session.add(RoleGrant(account_id=account.id, role="judge", contest_id=contest.id, venue_id=venue.id))
            if k == 0:
                session.add(RoleGrant(account_id=account.id, role="chief_judge", contest_id=contest.id,
                                      venue_id=venue.id))
        judges_by_venue[venue.id] = members
        await ensure_venue_accounts(session, venue)

    # A few conflicts: a judge from the same organization as an entry in their venue, and declared ones.
    for venue in venues:
        judge = judges_by_venue[venue.id][2]
        target = next(e for e in entries if e.venue_id == venue.id)
        judge.organization = target.organization
        session.add(Conflict(person_id=judge.id, organization=target.organization, source="auto",
                             reason="与成果单位相同（同单位回避）"))
    declared = judges_by_venue[venues[0].id][3]
    other = [e for e in entries if e.venue_id == venues[0].id][4]
    session.add(Conflict(person_id=declared.id, entry_id=other.id, source="declared", reason="曾担任该小组的辅导老师"))

    # Reviewers: 6 experts, each entry reviewed by 2 of them; initial-review scores as imported totals.
    reviewers = []
    for _ in range(6):
        person = Person(contest_id=contest.id, name=_name(rng), organization="山东省质量管理协会专家库",
                        title="注册质量师")
        session.add(person)
        reviewers.append(person)
    await session.flush()
    for person in reviewers:
        account = Account(display_name=person.name, person_id=person.id)
        session.add(account)
        await session.flush()
        session.add(RoleGrant(account_id=account.id, role="reviewer", contest_id=contest.id))
    severity = {p.id: rng.gauss(0, 2.5) for p in reviewers}
    quality = {e.id: rng.gauss(80, 6) for e in entries}
    now = utcnow()
    for n, entry in enumerate(entries):
        pair = (reviewers[n % 6], reviewers[(n + 1 + n // 6) % 6])
        key = next(k for k, tt in topic_types.items() if tt.id == entry.topic_type_id)
        rubric = rubrics[(key, "initial")]
        rubric.frozen_at = now
        for person in pair:
            session.add(ReviewerAssignment(entry_id=entry.id, person_id=person.id))
            target = quality[entry.id] + severity[person.id] + rng.gauss(0, 2)
            values = _item_scores(rng, rubric, target)
            sheet = ScoreSheet(stage_id=stages["initial"].id, entry_id=entry.id, person_id=person.id,
                               rubric_id=rubric.id, locked=True, locked_at=now)
            session.add(sheet)
            await session.flush()
            session.add(SheetVersion(
                sheet_id=sheet.id, version=1, client_submission_id=f"demo-{contest.id}-{sheet.id}",
                values={k: str(v) for k, v in values.items()}, total=sum(values.values(), Decimal(0)),
                source="import",
            ))
    await session.flush()
    return contest


def _item_scores(rng: random.Random, rubric: Rubric, target_total: float) -> dict[str, Decimal]:
    """Item scores on each item's step grid whose total is close to ``target_total`` (out of 100)."""
    share = max(0.3, min(1.0, target_total / 100))
    out = {}
    for item in rubric.items:
        step = float(item.step)
        raw = float(item.max_points) * min(1.0, max(0.0, share + rng.gauss(0, 0.04)))
        out[item.key] = Decimal(str(round(raw / step) * step)).quantize(Decimal("0.01"))
    return out
