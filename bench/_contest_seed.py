"""Seed a contest of any size for load and crash runs, and mint login links through the accounts service.

``podium demo`` has 3 venues; a provincial day has 40, a national one 100. This builds the same shape (two
stages, the preset topic types and rubrics) with V venues x K judges (the first of each panel is the chief),
a host and a screen (display) account per venue, E entries per venue in running order, no conflicts, and a
staff account. Everything is written in one transaction with the CLI's ``run_db`` pattern (a short-lived
engine on the configured database), so it works on SQLite and PostgreSQL alike.

    from bench._contest_seed import seed_contest
    plan = seed_contest(settings, venues=40, judges=7, entries=4)
    plan.venues[0].judges[0].link     # a raw login-link token: GET /j/<token> opens a session
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from judging.settings import Settings


@dataclass
class Person:
    account_id: int
    person_id: int | None
    link: str
    """Raw login-link token (``/j/<link>``)."""


@dataclass
class VenuePlan:
    venue_id: int
    code: str
    entries: list[int]
    judges: list[Person]
    """Chief first."""
    host: Person
    display: Person


@dataclass
class ContestPlan:
    contest_id: int
    venues: list[VenuePlan] = field(default_factory=list)
    staff: Person | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ContestPlan:
        def person(p: dict[str, Any]) -> Person:
            return Person(**p)

        venues = [VenuePlan(v["venue_id"], v["code"], v["entries"], [person(j) for j in v["judges"]],
                            person(v["host"]), person(v["display"])) for v in raw["venues"]]
        return cls(raw["contest_id"], venues, person(raw["staff"]) if raw.get("staff") else None)


async def build(session: Any, secret: str, venues: int, judges: int, entries: int) -> ContestPlan:
    """Create the contest in the caller's transaction and return the plan with fresh login links."""
    from judging import accounts
    from judging.db.models import (
        Account,
        Contest,
        Entry,
        PanelMember,
        RoleGrant,
        Rubric,
        RubricItem,
        Stage,
        TopicType,
        Venue,
    )
    from judging.db.models import Person as PersonRow
    from judging.events import ensure_counter
    from judging.presets import DEFAULT_GRADE_RULE, STAGES, TOPIC_TYPES

    await ensure_counter(session)
    contest = Contest(name=f"压力测试赛 {venues}×{judges}", year=2024, organizer="bench",
                      grade_rule=dict(DEFAULT_GRADE_RULE))
    session.add(contest)
    await session.flush()
    stages = {}
    for kind, zh, en, position, weight in STAGES:
        stages[kind] = Stage(contest_id=contest.id, kind=kind, name_zh=zh, name_en=en, position=position,
                             weight=weight)
        session.add(stages[kind])
    tts = {p.key: TopicType(contest_id=contest.id, key=p.key, name_zh=p.name_zh, name_en=p.name_en)
           for p in TOPIC_TYPES}
    session.add_all(tts.values())
    await session.flush()
    for preset in TOPIC_TYPES:
        for stage in stages.values():
            rubric = Rubric(topic_type_id=tts[preset.key].id, stage_id=stage.id, name=preset.rubric_name)
            rubric.items = [RubricItem(key=i.key, label_zh=i.label_zh, label_en=i.label_en, max_points=i.max_points,
                                       step=i.step, position=n) for n, i in enumerate(preset.items)]
            session.add(rubric)
    keys = [p.key for p in TOPIC_TYPES]

    async def account(name: str, role: str, venue_id: int | None, person_id: int | None = None,
                      extra: tuple[str, ...] = ()) -> Person:
        acc = Account(display_name=name, person_id=person_id)
        session.add(acc)
        await session.flush()
        for r in (role, *extra):
            session.add(RoleGrant(account_id=acc.id, role=r, contest_id=contest.id, venue_id=venue_id))
        link = await accounts.add_login_link(session, secret, acc.id)
        return Person(acc.id, person_id, link)

    plan = ContestPlan(contest.id)
    for v in range(venues):
        venue = Venue(contest_id=contest.id, code=f"V{v + 1}", name=f"第{v + 1}分会场", position=v)
        session.add(venue)
        await session.flush()
        rows = [Entry(contest_id=contest.id, code=f"B{v + 1:03d}-{n + 1:02d}", title=f"压力测试成果 {v + 1}-{n + 1}",
                      team=f"测试小组 {v + 1}-{n + 1}", organization=f"测试单位 {v + 1}-{n + 1}",
                      recommending_unit="bench", circle_type="现场型",
                      topic_type_id=tts[keys[(v + n) % len(keys)]].id, venue_id=venue.id, running_order=n + 1)
                for n in range(entries)]
        session.add_all(rows)
        panel: list[Person] = []
        for k in range(judges):
            person = PersonRow(contest_id=contest.id, name=f"评委{v + 1}-{k + 1}", organization="专家库",
                               title="高级工程师")
            session.add(person)
            await session.flush()
            session.add(PanelMember(venue_id=venue.id, person_id=person.id, is_chief=k == 0))
            panel.append(await account(person.name, "judge", venue.id, person.id,
                                       ("chief_judge",) if k == 0 else ()))
        host = await account(f"{venue.name}主持人", "host", venue.id)
        display = await account(f"{venue.name}大屏", "display", venue.id)
        await session.flush()
        plan.venues.append(VenuePlan(venue.id, venue.code, [e.id for e in rows], panel, host, display))
    staff = Account(display_name="bench staff")
    session.add(staff)
    await session.flush()
    session.add(RoleGrant(account_id=staff.id, role="staff"))
    plan.staff = Person(staff.id, None, await accounts.add_login_link(session, secret, staff.id))
    await session.flush()
    return plan


def seed_contest(settings: Settings, *, venues: int, judges: int, entries: int) -> ContestPlan:
    """Run :func:`build` in one write transaction against ``settings``' database (migrated already)."""
    from judging.db.engine import Database

    settings = settings.with_secret()

    async def main() -> ContestPlan:
        db = Database(settings, null_pool=True)
        try:
            async with db.write() as session:
                return await build(session, settings.secret, venues, judges, entries)
        finally:
            await db.dispose()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # callers may sit inside a running event loop
        return pool.submit(asyncio.run, main()).result()


if __name__ == "__main__":  # seed the configured database (PODIUM_*): python bench/_contest_seed.py 40 7 4
    import json
    import sys

    plan = seed_contest(Settings.from_env(), venues=int(sys.argv[1]), judges=int(sys.argv[2]),
                        entries=int(sys.argv[3]))
    print(json.dumps(plan.to_json()))
