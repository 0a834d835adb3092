"""Initial schema: accounts (local and remote), statuses and what hangs off them, OAuth, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
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
LOCAL = sa.text("domain = ''")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("bot", sa.Boolean(), nullable=False),
        sa.Column("generator", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("discoverable", sa.Boolean(), nullable=False),
        sa.Column("indexable", sa.Boolean(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=True),
        sa.Column("public_key_pem", sa.Text(), nullable=True),
        sa.Column("avatar_path", sa.String(length=512), nullable=True),
        sa.Column("header_path", sa.String(length=512), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("also_known_as", JSON, nullable=False),
        sa.Column("moved_to_account_id", sa.BigInteger(), nullable=True),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("inbox", sa.String(length=2048), nullable=True),
        sa.Column("shared_inbox", sa.String(length=2048), nullable=True),
        sa.Column("outbox", sa.String(length=2048), nullable=True),
        sa.Column("followers_url", sa.String(length=2048), nullable=True),
        sa.Column("following_url", sa.String(length=2048), nullable=True),
        sa.Column("featured_url", sa.String(length=2048), nullable=True),
        sa.Column("key_id", sa.String(length=2048), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.Column("header_url", sa.String(length=2048), nullable=True),
        sa.Column("raw", JSON, nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_accounts_domain_username", "accounts", ["domain", "username"], unique=False)
    op.create_index(op.f("ix_accounts_email"), "accounts", ["email"], unique=True)
    op.create_index(op.f("ix_accounts_key_id"), "accounts", ["key_id"], unique=False)
    op.create_index(op.f("ix_accounts_uri"), "accounts", ["uri"], unique=True)
    op.create_table(
        "hosts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unavailable_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_hosts_domain"), "hosts", ["domain"], unique=True)
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_jobs_queue_state_run_at", "jobs", ["queue", "state", "run_at"], unique=False
    )
    op.create_index("uq_jobs_queue_dedupe_key", "jobs", ["queue", "dedupe_key"], unique=True)
    op.create_table(
        "oauth_apps",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("client_secret", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_oauth_apps_client_id"), "oauth_apps", ["client_id"], unique=True)
    op.create_table(
        "tags",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "blocks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index("ix_blocks_target_account_id", "blocks", ["target_account_id"], unique=False)
    op.create_index(
        "uq_blocks_account_id_target_account_id",
        "blocks",
        ["account_id", "target_account_id"],
        unique=True,
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index("ix_follows_target_account_id", "follows", ["target_account_id"], unique=False)
    op.create_index(
        "uq_follows_account_id_target_account_id",
        "follows",
        ["account_id", "target_account_id"],
        unique=True,
    )
    op.create_table(
        "mutes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("notifications", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mutes_target_account_id", "mutes", ["target_account_id"], unique=False)
    op.create_index(
        "uq_mutes_account_id_target_account_id",
        "mutes",
        ["account_id", "target_account_id"],
        unique=True,
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=True),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["app_id"], ["oauth_apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_oauth_tokens_account_id"), "oauth_tokens", ["account_id"], unique=False
    )
    op.create_index(op.f("ix_oauth_tokens_app_id"), "oauth_tokens", ["app_id"], unique=False)
    op.create_index(
        op.f("ix_oauth_tokens_token_sha256"), "oauth_tokens", ["token_sha256"], unique=True
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_ids", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index(
        op.f("ix_reports_target_account_id"), "reports", ["target_account_id"], unique=False
    )
    op.create_table(
        "statuses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("in_reply_to_account_id", sa.BigInteger(), nullable=True),
        sa.Column("in_reply_to_uri", sa.String(length=2048), nullable=True),
        sa.Column("reblog_of_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation", sa.String(length=2048), nullable=True),
        sa.Column("poll", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reblog_of_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_statuses_account_id_id", "statuses", ["account_id", "id"], unique=False)
    op.create_index(
        op.f("ix_statuses_in_reply_to_id"), "statuses", ["in_reply_to_id"], unique=False
    )
    op.create_index(
        "ix_statuses_local_visibility_id", "statuses", ["local", "visibility", "id"], unique=False
    )
    op.create_index(op.f("ix_statuses_reblog_of_id"), "statuses", ["reblog_of_id"], unique=False)
    op.create_index(op.f("ix_statuses_uri"), "statuses", ["uri"], unique=True)
    op.create_table(
        "bookmarks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bookmarks_status_id", "bookmarks", ["status_id"], unique=False)
    op.create_index(
        "uq_bookmarks_account_id_status_id", "bookmarks", ["account_id", "status_id"], unique=True
    )
    op.create_table(
        "favourites",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index("ix_favourites_status_id", "favourites", ["status_id"], unique=False)
    op.create_index(
        "uq_favourites_account_id_status_id", "favourites", ["account_id", "status_id"], unique=True
    )
    op.create_table(
        "media_attachments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("file_path", sa.String(length=512), nullable=True),
        sa.Column("thumbnail_path", sa.String(length=512), nullable=True),
        sa.Column("remote_url", sa.String(length=2048), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("blurhash", sa.String(length=128), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("focus_x", sa.Float(), nullable=False),
        sa.Column("focus_y", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_media_attachments_account_id"), "media_attachments", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_media_attachments_status_id"), "media_attachments", ["status_id"], unique=False
    )
    op.create_table(
        "mentions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mentions_account_id", "mentions", ["account_id"], unique=False)
    op.create_index(
        "uq_mentions_status_id_account_id", "mentions", ["status_id", "account_id"], unique=True
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["from_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notifications_account_id_id", "notifications", ["account_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_status_id"), "notifications", ["status_id"], unique=False
    )
    op.create_table(
        "pins",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pins_status_id", "pins", ["status_id"], unique=False)
    op.create_index(
        "uq_pins_account_id_status_id", "pins", ["account_id", "status_id"], unique=True
    )
    op.create_table(
        "status_edits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("media", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_status_edits_status_id"), "status_edits", ["status_id"], unique=False)
    op.create_table(
        "status_tags",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_status_tags_tag_id", "status_tags", ["tag_id"], unique=False)
    op.create_index(
        "uq_status_tags_status_id_tag_id", "status_tags", ["status_id", "tag_id"], unique=True
    )
    op.create_index(
        "ix_accounts_username_lower",
        "accounts",
        [sa.text("lower(username)")],
        unique=True,
        sqlite_where=LOCAL,
        postgresql_where=LOCAL,
    )
    op.create_index("ix_tags_name_lower", "tags", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)


TABLES = [
    "accounts",
    "hosts",
    "jobs",
    "oauth_apps",
    "tags",
    "blocks",
    "follows",
    "mutes",
    "oauth_tokens",
    "reports",
    "statuses",
    "bookmarks",
    "favourites",
    "media_attachments",
    "mentions",
    "notifications",
    "pins",
    "status_edits",
    "status_tags",
]
