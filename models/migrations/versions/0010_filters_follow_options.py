"""Filters (v2: keywords and statuses per filter), and what a follow asks for: notify on
each new post, show boosts, languages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "filters",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("filter_action", sa.String(length=16), nullable=False,
                  server_default="warn"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filters_account_id", "filters", ["account_id"])
    op.create_table(
        "filter_keywords",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("filter_id", sa.BigInteger(), nullable=False),
        sa.Column("keyword", sa.String(length=512), nullable=False),
        sa.Column("whole_word", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.ForeignKeyConstraint(["filter_id"], ["filters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filter_keywords_filter_id", "filter_keywords", ["filter_id"])
    op.create_table(
        "filter_statuses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("filter_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["filter_id"], ["filters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_filter_statuses_filter_id_status_id", "filter_statuses",
                    ["filter_id", "status_id"], unique=True)
    op.create_index("ix_filter_statuses_status_id", "filter_statuses", ["status_id"])
    # plain ALTER TABLE (no batch copy on SQLite, which would drop the follows triggers)
    op.add_column("follows", sa.Column("notify", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("follows", sa.Column("show_reblogs", sa.Boolean(), nullable=False,
                                       server_default=sa.true()))
    op.add_column("follows", sa.Column("languages", JSON, nullable=True))
    op.create_index("ix_follows_target_account_id_notify", "follows", ["target_account_id"],
                    sqlite_where=sa.text("notify"), postgresql_where=sa.text("notify"))


def downgrade() -> None:
    op.drop_index("ix_follows_target_account_id_notify", "follows")
    for name in ("languages", "show_reblogs", "notify"):
        op.drop_column("follows", name)
    op.drop_table("filter_statuses")
    op.drop_table("filter_keywords")
    op.drop_table("filters")
