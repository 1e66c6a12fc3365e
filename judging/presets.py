"""Rubric presets (T/CAQ 10201-2020 and the placeholders PRODUCT.md describes), topic types and stage defaults.

Every preset is copied into a contest and stays editable until its first score freezes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class ItemPreset(NamedTuple):
    key: str
    label_zh: str
    label_en: str
    max_points: Decimal
    step: Decimal = Decimal("0.5")


def _items(*rows: tuple[str, str, str, int]) -> tuple[ItemPreset, ...]:
    return tuple(ItemPreset(k, zh, en, Decimal(m)) for k, zh, en, m in rows)


PROBLEM_SOLVING = _items(
    ("topic", "选题", "Topic selection", 15),
    ("cause", "原因分析", "Cause analysis", 30),
    ("measures", "对策与实施", "Countermeasures and implementation", 20),
    ("effect", "效果", "Effect", 20),
    ("report", "成果报告", "Results report", 5),
    ("features", "特点", "Distinctive features", 10),
)

INNOVATION = _items(
    ("topic", "选题", "Topic selection", 20),
    ("solution", "提出方案并确定最佳方案", "Proposing solutions and choosing the best", 30),
    ("measures", "对策与实施", "Countermeasures and implementation", 20),
    ("effect", "效果", "Effect", 15),
    ("report", "成果报告", "Results report", 5),
    ("features", "特点", "Distinctive features", 10),
)

SITE_REVIEW = _items(
    ("organization", "活动的组织", "Organisation of the activity", 10),
    ("records", "活动情况与活动记录", "Activity and records", 30),
    ("authenticity", "活动真实性与有效性", "Authenticity and effectiveness", 30),
    ("sustain", "成果的维持与巩固", "Sustaining the results", 20),
    ("education", "小组教育", "Circle education", 10),
)

DELIVERY = _items(
    ("logic", "逻辑性", "Logic", 22),
    ("expertise", "专业性", "Expertise", 22),
    ("slides", "发布形式", "Presentation form", 14),
    ("speech", "表达", "Delivery", 14),
    ("answers", "回答问题", "Answering questions", 14),
    ("teamwork", "成员配合/时间控制", "Teamwork and timing", 14),
)

# No public T/CAQ 10204 table was found: an editable placeholder, said so in its name.
TRUSTED_TEAM_PLACEHOLDER = _items(
    ("basics", "班组概况与基础管理", "Team profile and basic management", 15),
    ("site", "现场管理", "Workplace management", 15),
    ("quality", "质量管理与过程控制", "Quality management and process control", 25),
    ("improvement", "质量改进与创新", "Quality improvement and innovation", 15),
    ("people", "人员素质与班组文化", "People and team culture", 10),
    ("performance", "质量绩效与成效", "Quality performance and results", 20),
)


class TopicPreset(NamedTuple):
    key: str
    name_zh: str
    name_en: str
    rubric_name: str
    items: tuple[ItemPreset, ...]


TOPIC_TYPES = (
    TopicPreset("problem_solving", "问题解决型", "Problem-solving", "T/CAQ 10201-2020 问题解决型", PROBLEM_SOLVING),
    TopicPreset("innovation", "创新型", "Innovation", "T/CAQ 10201-2020 创新型", INNOVATION),
    TopicPreset("trusted_team", "质量信得过班组", "Quality-trusted team", "质量信得过班组（占位，待替换）",
                TRUSTED_TEAM_PLACEHOLDER),
)

CIRCLE_TYPES = ("现场型", "攻关型", "管理型", "服务型", "创新型")

STAGES = (
    ("initial", "初审", "Initial review", 1, Decimal("0.4")),
    ("onsite", "发表", "On-site presentation", 2, Decimal("0.6")),
)

DEFAULT_GRADE_RULE = {
    "kind": "quota",
    "shares": [0.5, 0.33, 0.17],
    "labels": ["一等", "二等", "三等"],
    "group_by": "topic_type",
    "floor": 60,
    "non_presenter_grade": "优秀奖",
    "recommend_top_k": 3,
    "trim_from": 5,
    "method": "calibrated",
}
