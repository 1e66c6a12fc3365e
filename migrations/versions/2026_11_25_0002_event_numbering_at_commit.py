"""PostgreSQL: number events at commit, in the server (deferred constraint trigger)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:30:00

Events used to be numbered by the writing transaction itself (``UPDATE event_counter ... RETURNING`` just
before commit, then INSERT, NOTIFY and COMMIT): the counter's row lock was held across four client round
trips, each waiting for a busy worker's event loop, and with two workers every event-writing transaction queued
behind it (the national benchmark showed fifty sessions waiting on that one row). Now a transaction inserts its
events with temporary negative seqs (no lock) and a deferred constraint trigger numbers them during COMMIT,
inside the server: the lock is held from the trigger to the end of the commit, with no client round trip.
Seqs stay gap-free and become visible in order. SQLite is unchanged (one writer at a time anyway).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "CREATE SEQUENCE event_pending_seq",
    """
    CREATE FUNCTION podium_number_event() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        s bigint;
    BEGIN
        UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq INTO s;
        IF s IS NULL THEN
            INSERT INTO event_counter (id, last_seq) VALUES (1, 1);
            s := 1;
        END IF;
        UPDATE event SET seq = s WHERE seq = NEW.seq;
        PERFORM pg_notify('podium_events', '');
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER event_number_at_commit AFTER INSERT ON event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.seq < 0)
    EXECUTE FUNCTION podium_number_event()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER event_number_at_commit ON event",
    "DROP FUNCTION podium_number_event()",
    "DROP SEQUENCE event_pending_seq",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
