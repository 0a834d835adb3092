"""Initial schema: accounts, remote actors, statuses, OAuth apps and tokens, jobs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False)


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _str(name: str, length: int, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _bool(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _ref(name: str, target: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey(target, ondelete="CASCADE"),
                     nullable=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        _id(),
        _str("kind", 16),
        _str("username", 64),
        _text("display_name"),
        _text("note"),
        _str("email", 320, nullable=True),
        _str("password_hash", 255, nullable=True),
        _bool("is_admin"),
        _bool("bot"),
        _bool("generator"),
        _bool("locked"),
        _bool("discoverable"),
        _bool("indexable"),
        _text("private_key_pem"),
        _text("public_key_pem"),
        _str("avatar_path", 512, nullable=True),
        _str("header_path", 512, nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("also_known_as", JSON, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("last_active_at", nullable=True),
        _time("suspended_at", nullable=True),
    )
    op.create_index("ix_accounts_email", "accounts", ["email"], unique=True)
    op.create_index("ix_accounts_username_lower", "accounts", [sa.text("lower(username)")],
                    unique=True)

    op.create_table(
        "remote_actors",
        _id(),
        _str("uri", 2048),
        _str("inbox", 2048),
        _str("shared_inbox", 2048, nullable=True),
        _str("outbox", 2048, nullable=True),
        _str("followers_url", 2048, nullable=True),
        _str("username", 255),
        _str("domain", 255),
        _text("display_name"),
        _str("key_id", 2048, nullable=True),
        _text("public_key_pem", nullable=True),
        _str("actor_type", 32),
        sa.Column("raw", JSON, nullable=False),
        _time("fetched_at"),
        _time("gone_at", nullable=True),
    )
    op.create_index("ix_remote_actors_uri", "remote_actors", ["uri"], unique=True)
    op.create_index("ix_remote_actors_key_id", "remote_actors", ["key_id"])
    op.create_index("ix_remote_actors_domain_username", "remote_actors", ["domain", "username"])

    op.create_table(
        "statuses",
        _id(),
        _str("uri", 2048),
        _str("url", 2048, nullable=True),
        _ref("account_id", "accounts.id"),
        _ref("remote_actor_id", "remote_actors.id"),
        _bool("local"),
        _text("content"),
        _text("text"),
        _text("spoiler_text"),
        _bool("sensitive"),
        _str("visibility", 16),
        _str("language", 16, nullable=True),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        _time("created_at"),
        _time("edited_at", nullable=True),
        _time("deleted_at", nullable=True),
    )
    op.create_index("ix_statuses_uri", "statuses", ["uri"], unique=True)
    op.create_index("ix_statuses_remote_actor_id", "statuses", ["remote_actor_id"])
    op.create_index("ix_statuses_in_reply_to_id", "statuses", ["in_reply_to_id"])
    op.create_index("ix_statuses_account_id_id", "statuses", ["account_id", "id"])
    op.create_index("ix_statuses_local_visibility_id", "statuses", ["local", "visibility", "id"])

    op.create_table(
        "oauth_apps",
        _id(),
        _str("name", 255),
        _str("website", 2048, nullable=True),
        _text("redirect_uris"),
        _str("client_id", 128),
        _str("client_secret", 128),
        _str("scopes", 1024),
        _time("created_at"),
    )
    op.create_index("ix_oauth_apps_client_id", "oauth_apps", ["client_id"], unique=True)

    op.create_table(
        "oauth_tokens",
        _id(),
        _str("token_sha256", 64),
        _ref("app_id", "oauth_apps.id"),
        _ref("account_id", "accounts.id"),
        _str("scopes", 1024),
        _time("created_at"),
        _time("revoked_at", nullable=True),
        _time("last_used_at", nullable=True),
    )
    op.create_index("ix_oauth_tokens_token_sha256", "oauth_tokens", ["token_sha256"], unique=True)
    op.create_index("ix_oauth_tokens_app_id", "oauth_tokens", ["app_id"])
    op.create_index("ix_oauth_tokens_account_id", "oauth_tokens", ["account_id"])

    op.create_table(
        "jobs",
        _id(),
        _str("queue", 64),
        _str("kind", 64),
        sa.Column("payload", JSON, nullable=False),
        _str("state", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        _time("run_at"),
        _str("locked_by", 128, nullable=True),
        _time("locked_until", nullable=True),
        _text("last_error", nullable=True),
        _str("dedupe_key", 512, nullable=True),
        _time("created_at"),
        _time("finished_at", nullable=True),
    )
    op.create_index("ix_jobs_queue_state_run_at", "jobs", ["queue", "state", "run_at"])
    op.create_index("uq_jobs_queue_dedupe_key", "jobs", ["queue", "dedupe_key"], unique=True)


def downgrade() -> None:
    for table in ("jobs", "oauth_tokens", "oauth_apps", "statuses", "remote_actors", "accounts"):
        op.drop_table(table)
