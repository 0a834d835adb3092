"""Reports made here, their category, forwarding and resolution.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_COLUMNS = ("category", "rule_ids", "forwarded", "updated_at", "action_taken_at",
            "action_taken_by_account_id")


def upgrade() -> None:
    op.add_column("reports", sa.Column("category", sa.String(length=16), nullable=False,
                                       server_default="other"))
    op.add_column("reports", sa.Column("rule_ids", JSON, nullable=True))
    op.add_column("reports", sa.Column("forwarded", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("reports", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("action_taken_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.add_column("reports", sa.Column("action_taken_by_account_id", sa.BigInteger(),
                                       nullable=True))
    op.add_column("notifications", sa.Column("report_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # plain SQL: SQLite drops a column in place (no batch copy of the table)
    op.execute("ALTER TABLE notifications DROP COLUMN report_id")
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE reports DROP COLUMN {column}")
