"""Index events by venue (venue_id, seq)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 04:30:00

A venue's released results are read from its events (``released_results``: every release, and every read of the
venue control console) and a venue feed's snapshot reads its venue's events; without an index each of these
scanned the whole event log, which grows all day (0.8 ms per read on PostgreSQL by the end of a benchmark
national day, the most expensive statement after lock waits).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_venue_seq", "event", ["venue_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_event_venue_seq", table_name="event")
