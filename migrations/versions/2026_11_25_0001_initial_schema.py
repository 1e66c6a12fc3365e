"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 16:52:04.928946
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import judging.db.base


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand: see the venue/entry foreign key cycle below.
    op.create_table('contest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('organizer', sa.String(length=200), nullable=False),
    sa.Column('grade_rule', sa.JSON(), nullable=False),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contest'))
    )
    op.create_table('event_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_event_counter_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_counter'))
    )
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('recommending_unit', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_person_contest_id_contest'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_contest_id'), ['contest_id'], unique=False)

    op.create_table('stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name_zh', sa.String(length=50), nullable=False),
    sa.Column('name_en', sa.String(length=50), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.CheckConstraint("kind IN ('initial', 'onsite')", name=op.f('ck_stage_kind')),
    sa.CheckConstraint('weight >= 0 AND weight <= 1', name=op.f('ck_stage_weight')),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_stage_contest_id_contest'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage')),
    sa.UniqueConstraint('contest_id', 'kind', name=op.f('uq_stage_contest_id_kind'))
    )
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_contest_id'), ['contest_id'], unique=False)

    op.create_table('topic_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=50), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_topic_type_contest_id_contest'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_type')),
    sa.UniqueConstraint('contest_id', 'key', name=op.f('uq_topic_type_contest_id_key'))
    )
    with op.batch_alter_table('topic_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_type_contest_id'), ['contest_id'], unique=False)

    op.create_table('venue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('starts_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('presentation_minutes', sa.Integer(), nullable=False),
    sa.Column('qa_minutes', sa.Integer(), nullable=False),
    sa.Column('current_entry_id', sa.Integer(), nullable=True),
    sa.Column('timer_started_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('timer_elapsed_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_venue_contest_id_contest'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue')),
    sa.UniqueConstraint('contest_id', 'code', name=op.f('uq_venue_contest_id_code'))
    )
    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_contest_id'), ['contest_id'], unique=False)

    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=True),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_account_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('username', name=op.f('uq_account_username'))
    )
    op.create_table('entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('team', sa.String(length=200), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('recommending_unit', sa.String(length=200), nullable=False),
    sa.Column('circle_type', sa.String(length=20), nullable=False),
    sa.Column('topic_type_id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('running_order', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('report_url', sa.String(length=500), nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'presenting', 'scoring', 'unofficial', 'released', 'official', 'absent', 'withdrawn')", name=op.f('ck_entry_status')),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_entry_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_type_id'], ['topic_type.id'], name=op.f('fk_entry_topic_type_id_topic_type')),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_entry_venue_id_venue'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry')),
    sa.UniqueConstraint('contest_id', 'code', name=op.f('uq_entry_contest_id_code'))
    )
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_contest_id'), ['contest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_topic_type_id'), ['topic_type_id'], unique=False)
        batch_op.create_index('ix_entry_venue_order', ['venue_id', 'running_order'], unique=False)

    # venue <-> entry is a cycle: the venue's "now presenting" key is added once entry exists.
    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_venue_current_entry_id_entry'), 'entry', ['current_entry_id'], ['id'],
            ondelete='SET NULL',
        )

    op.create_table('event',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=True),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_event_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_event_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_contest_seq', ['contest_id', 'seq'], unique=False)

    op.create_table('panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('is_chief', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_panel_member_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_panel_member_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_member')),
    sa.UniqueConstraint('venue_id', 'person_id', name=op.f('uq_panel_member_venue_id_person_id'))
    )
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_member_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_panel_member_venue_id'), ['venue_id'], unique=False)
        batch_op.create_index('uq_panel_member_one_chief', ['venue_id'], unique=True, sqlite_where=sa.text('is_chief'), postgresql_where=sa.text('is_chief'))

    op.create_table('rubric',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_type_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('frozen_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], name=op.f('fk_rubric_stage_id_stage'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_type_id'], ['topic_type.id'], name=op.f('fk_rubric_topic_type_id_topic_type'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric')),
    sa.UniqueConstraint('topic_type_id', 'stage_id', name=op.f('uq_rubric_topic_type_id_stage_id'))
    )
    with op.batch_alter_table('rubric', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rubric_stage_id'), ['stage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rubric_topic_type_id'), ['topic_type_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_audit_log_account_id_account')),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_audit_log_contest_id_contest'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_audit_log_entry_id_entry'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)

    op.create_table('auth_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('setup', 'login_link', 'session')", name=op.f('ck_auth_token_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_auth_token_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['auth_token.id'], name=op.f('fk_auth_token_parent_id_auth_token'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_auth_token_token_hash'))
    )
    op.create_table('conflict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('auto', 'declared', 'staff')", name=op.f('ck_conflict_source')),
    sa.CheckConstraint('entry_id IS NOT NULL OR organization IS NOT NULL', name=op.f('ck_conflict_target')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_conflict_created_by_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_conflict_entry_id_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_conflict_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict'))
    )
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_person_id'), ['person_id'], unique=False)

    op.create_table('grade_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('input_digest', sa.String(length=64), nullable=False),
    sa.Column('engine_version', sa.String(length=40), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outdated_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('preview', 'final', 'outdated')", name=op.f('ck_grade_run_status')),
    sa.ForeignKeyConstraint(['approved_by'], ['account.id'], name=op.f('fk_grade_run_approved_by_account')),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_grade_run_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_grade_run_created_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_run'))
    )
    with op.batch_alter_table('grade_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_run_contest_id'), ['contest_id'], unique=False)

    op.create_table('help_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_help_call_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by'], ['account.id'], name=op.f('fk_help_call_resolved_by_account')),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_help_call_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_call'))
    )
    op.create_table('presence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('app_version', sa.String(length=40), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_presence_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_presence_venue_id_venue'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_presence')),
    sa.UniqueConstraint('account_id', 'device_id', name=op.f('uq_presence_account_id_device_id'))
    )
    op.create_table('reviewer_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_reviewer_assignment_entry_id_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_reviewer_assignment_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewer_assignment')),
    sa.UniqueConstraint('entry_id', 'person_id', name=op.f('uq_reviewer_assignment_entry_id_person_id'))
    )
    with op.batch_alter_table('reviewer_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviewer_assignment_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviewer_assignment_person_id'), ['person_id'], unique=False)

    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=True),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('owner', 'staff', 'chief_judge', 'host', 'judge', 'reviewer', 'display')", name=op.f('ck_role_grant_role')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_role_grant_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_role_grant_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_role_grant_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grant')),
    sa.UniqueConstraint('account_id', 'role', 'contest_id', 'venue_id', name=op.f('uq_role_grant_account_id_role_contest_id_venue_id'))
    )
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_account_id'), ['account_id'], unique=False)

    op.create_table('rubric_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label_zh', sa.String(length=100), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('step', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_rubric_item_max_positive')),
    sa.CheckConstraint('step > 0', name=op.f('ck_rubric_item_step_positive')),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubric.id'], name=op.f('fk_rubric_item_rubric_id_rubric'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_item')),
    sa.UniqueConstraint('rubric_id', 'key', name=op.f('uq_rubric_item_rubric_id_key'))
    )
    with op.batch_alter_table('rubric_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rubric_item_rubric_id'), ['rubric_id'], unique=False)

    op.create_table('score_sheet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('locked_at', judging.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.Integer(), nullable=True),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_score_sheet_entry_id_entry')),
    sa.ForeignKeyConstraint(['locked_by'], ['account.id'], name=op.f('fk_score_sheet_locked_by_account')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_score_sheet_person_id_person')),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubric.id'], name=op.f('fk_score_sheet_rubric_id_rubric')),
    sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], name=op.f('fk_score_sheet_stage_id_stage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_sheet')),
    sa.UniqueConstraint('stage_id', 'entry_id', 'person_id', name=op.f('uq_score_sheet_stage_id_entry_id_person_id'))
    )
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_sheet_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_sheet_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_sheet_stage_id'), ['stage_id'], unique=False)

    op.create_table('grade_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('final_score', sa.Numeric(precision=9, scale=4), nullable=True),
    sa.Column('grade', sa.String(length=20), nullable=False),
    sa.Column('probability', sa.Double(), nullable=True),
    sa.Column('recommended', sa.Boolean(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_grade_result_entry_id_entry')),
    sa.ForeignKeyConstraint(['run_id'], ['grade_run.id'], name=op.f('fk_grade_result_run_id_grade_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_result')),
    sa.UniqueConstraint('run_id', 'entry_id', name=op.f('uq_grade_result_run_id_entry_id'))
    )
    with op.batch_alter_table('grade_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_result_run_id'), ['run_id'], unique=False)

    op.create_table('sheet_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('client_submission_id', sa.String(length=64), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', judging.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('discarded', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_sheet_version_version_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_sheet_version_account_id_account')),
    sa.ForeignKeyConstraint(['sheet_id'], ['score_sheet.id'], name=op.f('fk_sheet_version_sheet_id_score_sheet')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sheet_version')),
    sa.UniqueConstraint('client_submission_id', name=op.f('uq_sheet_version_client_submission_id')),
    sa.UniqueConstraint('sheet_id', 'version', name=op.f('uq_sheet_version_sheet_id_version'))
    )
    with op.batch_alter_table('sheet_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_version_sheet_id'), ['sheet_id'], unique=False)
        batch_op.create_index('uq_sheet_version_current', ['sheet_id'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    # ### end Alembic commands ###


def downgrade() -> None:
    # Reviewed by hand: see the venue/entry foreign key cycle below.
    with op.batch_alter_table('sheet_version', schema=None) as batch_op:
        batch_op.drop_index('uq_sheet_version_current', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index(batch_op.f('ix_sheet_version_sheet_id'))

    op.drop_table('sheet_version')
    with op.batch_alter_table('grade_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_result_run_id'))

    op.drop_table('grade_result')
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_sheet_stage_id'))
        batch_op.drop_index(batch_op.f('ix_score_sheet_person_id'))
        batch_op.drop_index(batch_op.f('ix_score_sheet_entry_id'))

    op.drop_table('score_sheet')
    with op.batch_alter_table('rubric_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rubric_item_rubric_id'))

    op.drop_table('rubric_item')
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grant_account_id'))

    op.drop_table('role_grant')
    with op.batch_alter_table('reviewer_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviewer_assignment_person_id'))
        batch_op.drop_index(batch_op.f('ix_reviewer_assignment_entry_id'))

    op.drop_table('reviewer_assignment')
    op.drop_table('presence')
    op.drop_table('help_call')
    with op.batch_alter_table('grade_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_run_contest_id'))

    op.drop_table('grade_run')
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_person_id'))

    op.drop_table('conflict')
    op.drop_table('auth_token')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))
        batch_op.drop_index(batch_op.f('ix_audit_log_account_id'))

    op.drop_table('audit_log')
    with op.batch_alter_table('rubric', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rubric_topic_type_id'))
        batch_op.drop_index(batch_op.f('ix_rubric_stage_id'))

    op.drop_table('rubric')
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_index('uq_panel_member_one_chief', sqlite_where=sa.text('is_chief'), postgresql_where=sa.text('is_chief'))
        batch_op.drop_index(batch_op.f('ix_panel_member_venue_id'))
        batch_op.drop_index(batch_op.f('ix_panel_member_person_id'))

    op.drop_table('panel_member')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_contest_seq')

    op.drop_table('event')
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_venue_order')
        batch_op.drop_index(batch_op.f('ix_entry_topic_type_id'))
        batch_op.drop_index(batch_op.f('ix_entry_contest_id'))

    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_venue_current_entry_id_entry'), type_='foreignkey')

    op.drop_table('entry')
    op.drop_table('account')
    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_contest_id'))

    op.drop_table('venue')
    with op.batch_alter_table('topic_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_type_contest_id'))

    op.drop_table('topic_type')
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_contest_id'))

    op.drop_table('stage')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_contest_id'))

    op.drop_table('person')
    op.drop_table('event_counter')
    op.drop_table('contest')
    # ### end Alembic commands ###
