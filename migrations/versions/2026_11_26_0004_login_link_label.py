"""Label login links with the QR sheet they were printed on

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:30:00

Printing a venue's QR sheet revoked every login link of everyone on it, so a judge on two panels (or an
initial-review expert who also sits on a panel) lost the card of the other sheet, and any session opened with it,
whenever one of the sheets was printed. With the label, a sheet replaces its own cards only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_token") as batch:
        batch.add_column(sa.Column("label", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_token") as batch:
        batch.drop_column("label")
