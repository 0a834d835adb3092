"""Muted conversations and the application a status was posted from.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_mutes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_conversation_mutes_account_id_conversation", "conversation_mutes",
                    ["account_id", "conversation"], unique=True)
    op.add_column("statuses", sa.Column("application_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # plain SQL: a batch copy of `statuses` on SQLite would drop its triggers (0008)
    op.execute("ALTER TABLE statuses DROP COLUMN application_id")
    op.drop_table("conversation_mutes")
