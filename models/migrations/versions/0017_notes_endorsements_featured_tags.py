"""Private notes on accounts, endorsed accounts and featured hashtags.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pair(table: str, a: str, b: str) -> None:
    op.create_index(f"uq_{table}_{a}_{b}", table, [a, b], unique=True)
    op.create_index(f"ix_{table}_{b}", table, [b])


def _account(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "account_notes",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        _account("account_id"), _account("target_account_id"),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    _pair("account_notes", "account_id", "target_account_id")
    op.create_table(
        "account_pins",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        _account("account_id"), _account("target_account_id"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    _pair("account_pins", "account_id", "target_account_id")
    op.create_table(
        "featured_tags",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        _account("account_id"),
        sa.Column("tag_id", sa.BigInteger(), sa.ForeignKey("tags.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    _pair("featured_tags", "account_id", "tag_id")


def downgrade() -> None:
    for table in ("featured_tags", "account_pins", "account_notes"):
        op.drop_table(table)
