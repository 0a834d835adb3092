"""OAuth refresh tokens; the stream-events relay table (live streams across processes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.add_column(sa.Column("refresh_sha256", sa.String(length=64), nullable=True))
        batch.create_index("ix_oauth_tokens_refresh_sha256", ["refresh_sha256"], unique=True)
    op.create_table(
        "stream_events",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("stream_events")
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_index("ix_oauth_tokens_refresh_sha256")
        batch.drop_column("refresh_sha256")
