"""Domains an account blocks and hashtags it follows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "domain_blocks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_domain_blocks_account_id_domain", "domain_blocks",
                    ["account_id", "domain"], unique=True)
    op.create_table(
        "tag_follows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_tag_follows_account_id_tag_id", "tag_follows", ["account_id", "tag_id"],
                    unique=True)
    op.create_index("ix_tag_follows_tag_id", "tag_follows", ["tag_id"])
    op.create_index("ix_status_tags_tag_id_status_id", "status_tags", ["tag_id", "status_id"])


def downgrade() -> None:
    op.drop_index("ix_status_tags_tag_id_status_id", table_name="status_tags")
    op.drop_table("tag_follows")
    op.drop_table("domain_blocks")
