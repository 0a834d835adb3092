"""Account source: the note as typed and the posting defaults; mutes that expire.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("note_text", sa.Text(), nullable=False, server_default=""))
    op.add_column("accounts", sa.Column("default_privacy", sa.String(length=16), nullable=False,
                                        server_default="public"))
    op.add_column("accounts", sa.Column("default_sensitive", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.add_column("accounts", sa.Column("default_language", sa.String(length=16), nullable=True))
    op.add_column("mutes", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("mutes", "expires_at")
    for name in ("default_language", "default_sensitive", "default_privacy", "note_text"):
        op.drop_column("accounts", name)
