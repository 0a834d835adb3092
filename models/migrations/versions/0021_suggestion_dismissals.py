"""Accounts one does not want suggested again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    account = {"nullable": False}
    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), **account),
        sa.Column("target_account_id", sa.BigInteger(),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), **account),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("uq_suggestion_dismissals_account_id_target_account_id",
                    "suggestion_dismissals", ["account_id", "target_account_id"], unique=True)
    op.create_index("ix_suggestion_dismissals_target_account_id", "suggestion_dismissals",
                    ["target_account_id"])


def downgrade() -> None:
    op.drop_table("suggestion_dismissals")
