"""The whole Podium data model.

Constraints live in the database, not only in Python: unique client submission ids, one current version
per judge x entry x stage (a partial unique index), foreign keys everywhere, CHECK constraints on enums.
Score sheets are append-only: every submission is a new ``SheetVersion`` row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.db.base import Base, BigId, utcnow

POINTS = Numeric(7, 2)


def _enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


STAGE_KINDS = ("initial", "onsite")
ENTRY_STATUSES = (
    "scheduled", "presenting", "scoring", "unofficial", "released", "official", "absent", "withdrawn",
)
ROLES = ("owner", "staff", "chief_judge", "host", "judge", "reviewer", "display")
TOKEN_KINDS = ("setup", "login_link", "session")
CONFLICT_SOURCES = ("auto", "declared", "staff")
GRADE_RUN_STATUSES = ("preview", "final", "outdated")


# --------------------------------------------------------------------------------------------------
# Contest structure
# --------------------------------------------------------------------------------------------------
class Contest(Base):
    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    organizer: Mapped[str] = mapped_column(String(200), default="")
    grade_rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Grade rule configuration (quota/threshold, floor, labels, non-presenter grade, recommendation count)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stages: Mapped[list[Stage]] = relationship(back_populates="contest", order_by="Stage.position")
    venues: Mapped[list[Venue]] = relationship(back_populates="contest", order_by="Venue.position")
    topic_types: Mapped[list[TopicType]] = relationship(back_populates="contest", order_by="TopicType.id")


class Stage(Base):
    """初审 (initial review) or 发表 (on-site presentation), with its order and weight in the final score."""

    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("contest_id", "kind"),
        _enum_check("kind", STAGE_KINDS, "kind"),
        CheckConstraint("weight >= 0 AND weight <= 1", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 4))

    contest: Mapped[Contest] = relationship(back_populates="stages")


class TopicType(Base):
    """问题解决型 / 创新型 / 质量信得过班组: decides which rubric an entry is scored against."""

    __tablename__ = "topic_type"
    __table_args__ = (UniqueConstraint("contest_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))

    contest: Mapped[Contest] = relationship(back_populates="topic_types")
    rubrics: Mapped[list[Rubric]] = relationship(back_populates="topic_type")


class Rubric(Base):
    """The score sheet of one topic type in one stage. ``frozen_at`` is set by the first accepted score."""

    __tablename__ = "rubric"
    __table_args__ = (UniqueConstraint("topic_type_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_type_id: Mapped[int] = mapped_column(ForeignKey("topic_type.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)

    topic_type: Mapped[TopicType] = relationship(back_populates="rubrics")
    items: Mapped[list[RubricItem]] = relationship(
        back_populates="rubric", order_by="RubricItem.position", cascade="all, delete-orphan"
    )


class RubricItem(Base):
    __tablename__ = "rubric_item"
    __table_args__ = (
        UniqueConstraint("rubric_id", "key"),
        CheckConstraint("max_points > 0", name="max_positive"),
        CheckConstraint("step > 0", name="step_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubric.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    max_points: Mapped[Decimal] = mapped_column(POINTS)
    step: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    position: Mapped[int] = mapped_column(Integer)

    rubric: Mapped[Rubric] = relationship(back_populates="items")


class Venue(Base):
    """分会场, with its schedule and the live state the host drives (now presenting, timer)."""

    __tablename__ = "venue"
    __table_args__ = (UniqueConstraint("contest_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    presentation_minutes: Mapped[int] = mapped_column(Integer, default=15)
    qa_minutes: Mapped[int] = mapped_column(Integer, default=5)
    current_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entry.id", ondelete="SET NULL", use_alter=True), default=None
    )
    timer_started_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the running timer (re)started; None while paused or reset."""
    timer_elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    """Milliseconds accumulated before the current run (pause keeps it, reset zeroes it)."""

    contest: Mapped[Contest] = relationship(back_populates="venues")


class Entry(Base):
    """One result (成果) presented by a team."""

    __tablename__ = "entry"
    __table_args__ = (
        UniqueConstraint("contest_id", "code"),
        _enum_check("status", ENTRY_STATUSES, "status"),
        Index("ix_entry_venue_order", "venue_id", "running_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    team: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str] = mapped_column(String(200))
    recommending_unit: Mapped[str] = mapped_column(String(200), default="")
    circle_type: Mapped[str] = mapped_column(String(20), default="")
    topic_type_id: Mapped[int] = mapped_column(ForeignKey("topic_type.id"), index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="SET NULL"), default=None)
    running_order: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    report_url: Mapped[str] = mapped_column(String(500), default="")

    topic_type: Mapped[TopicType] = relationship()


class Person(Base):
    """A judge (评委) or reviewer (初审专家)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    organization: Mapped[str] = mapped_column(String(200), default="")
    recommending_unit: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")


class PanelMember(Base):
    """Membership of a venue panel; ``is_chief`` marks the chief judge (评审组长)."""

    __tablename__ = "panel_member"
    __table_args__ = (
        UniqueConstraint("venue_id", "person_id"),
        Index("uq_panel_member_one_chief", "venue_id", unique=True,
              sqlite_where=text("is_chief"), postgresql_where=text("is_chief")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    is_chief: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewerAssignment(Base):
    """An initial-review (初审) assignment of a reviewer to an entry."""

    __tablename__ = "reviewer_assignment"
    __table_args__ = (UniqueConstraint("entry_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)


class Conflict(Base):
    """A conflict of interest (回避): a person against one entry, or against a whole organization."""

    __tablename__ = "conflict"
    __table_args__ = (
        CheckConstraint("entry_id IS NOT NULL OR organization IS NOT NULL", name="target"),
        _enum_check("source", CONFLICT_SOURCES, "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), default=None)
    organization: Mapped[str | None] = mapped_column(String(200), default=None)
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)


# --------------------------------------------------------------------------------------------------
# Scores: append-only sheets
# --------------------------------------------------------------------------------------------------
class ScoreSheet(Base):
    """One judge's sheet for one entry in one stage. The values live in its versions."""

    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("stage_id", "entry_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubric.id"))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[SheetVersion]] = relationship(back_populates="sheet", order_by="SheetVersion.version")


class SheetVersion(Base):
    """Every submission of a sheet, never updated in place except the ``is_current``/``discarded`` flags."""

    __tablename__ = "sheet_version"
    __table_args__ = (
        UniqueConstraint("sheet_id", "version"),
        UniqueConstraint("client_submission_id"),
        Index("uq_sheet_version_current", "sheet_id", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    client_submission_id: Mapped[str] = mapped_column(String(64))
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Item key -> points as a decimal string (exact; no float rounding in storage)."""
    total: Mapped[Decimal] = mapped_column(POINTS)
    comment: Mapped[str] = mapped_column(Text, default="")
    device_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    discarded: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="tablet")
    """tablet, import or staff."""

    sheet: Mapped[ScoreSheet] = relationship(back_populates="versions")


# --------------------------------------------------------------------------------------------------
# Event log (outbox) and audit log
# --------------------------------------------------------------------------------------------------
class EventCounter(Base):
    """A single row whose ``UPDATE ... RETURNING`` hands out gap-free, commit-ordered sequence numbers.

    The row lock is held until commit, so on PostgreSQL an event with a higher seq can never become
    visible before one with a lower seq (a plain sequence would allow that).
    """

    __tablename__ = "event_counter"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId, default=0)


class Event(Base):
    """What screens and staff must see, written in the same transaction as the change it describes."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_contest_seq", "contest_id", "seq"),
                      Index("ix_event_venue_seq", "venue_id", "seq"))

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), default=None)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), default=None)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None, index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contest.id", ondelete="SET NULL"), default=None)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"), default=None)
    target: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


# --------------------------------------------------------------------------------------------------
# Accounts, roles, tokens
# --------------------------------------------------------------------------------------------------
class Account(Base):
    """Someone who logs in: staff with a password, judges/reviewers/screens with login links."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), default=None)
    locale: Mapped[str | None] = mapped_column(String(10), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[RoleGrant]] = relationship(back_populates="account", cascade="all, delete-orphan")


class RoleGrant(Base):
    """A role, optionally scoped to a contest and a venue (chief judge, host, display are per venue)."""

    __tablename__ = "role_grant"
    __table_args__ = (
        _enum_check("role", ROLES, "role"),
        UniqueConstraint("account_id", "role", "contest_id", "venue_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), default=None)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), default=None)

    account: Mapped[Account] = relationship(back_populates="roles")


class AuthToken(Base):
    """A random secret, stored only as its SHA-256. Kinds: one-time owner setup, login link (QR), session.

    Revocation sets ``revoked_at``; every request re-reads the token, so it takes effect on the next request.
    """

    __tablename__ = "auth_token"
    __table_args__ = (_enum_check("kind", TOKEN_KINDS, "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("auth_token.id", ondelete="CASCADE"), default=None)
    """For sessions opened from a login link: revoking the link revokes its sessions."""
    label: Mapped[str | None] = mapped_column(String(40), default=None)
    """For a login link printed on a QR sheet: which sheet (``sheet:venue:3:judges``, ``sheet:reviewers:1``).
    Printing a sheet again replaces its own cards (and unlabelled links), not a judge's card of another sheet."""


class Presence(Base):
    """A tablet's last heartbeat: device, app version, queued sheets, online state."""

    __tablename__ = "presence"
    __table_args__ = (UniqueConstraint("account_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(64))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="SET NULL"), default=None)
    app_version: Mapped[str] = mapped_column(String(40), default="")
    queued: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class HelpCall(Base):
    """A judge's "需要帮助" call to the chief judge and staff."""

    __tablename__ = "help_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), default=None)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)


# --------------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------------
class GradeRun(Base):
    """A grading computation: preview, or a finalized (stamped) grade list."""

    __tablename__ = "grade_run"
    __table_args__ = (_enum_check("status", GRADE_RUN_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="preview")
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 over the exact score rows used (sheet version ids, values), in a canonical order."""
    engine_version: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    outdated_at: Mapped[datetime | None] = mapped_column(default=None)

    results: Mapped[list[GradeResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="GradeResult.rank"
    )


class GradeResult(Base):
    __tablename__ = "grade_result"
    __table_args__ = (UniqueConstraint("run_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("grade_run.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"))
    rank: Mapped[int | None] = mapped_column(Integer, default=None)
    final_score: Mapped[Decimal | None] = mapped_column(Numeric(9, 4), default=None)
    grade: Mapped[str] = mapped_column(String(20))
    probability: Mapped[float | None] = mapped_column(default=None)
    recommended: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    run: Mapped[GradeRun] = relationship(back_populates="results")
