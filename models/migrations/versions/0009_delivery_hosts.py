"""Delivery records that outlive their jobs: the signature standard each host took, and the
inboxes each of our activities reached (finished delivery jobs are pruned into it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("hosts", sa.Column("signature_scheme", sa.String(length=16), nullable=True))
    op.create_table(
        "delivered_inboxes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("inbox", sa.String(length=2048), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["outbox_activities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_delivered_inboxes_activity_id_inbox", "delivered_inboxes",
                    ["activity_id", "inbox"], unique=True)


def downgrade() -> None:
    op.drop_table("delivered_inboxes")
    with op.batch_alter_table("hosts") as batch:
        batch.drop_column("signature_scheme")
