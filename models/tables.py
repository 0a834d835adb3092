"""The tables. Rows only: queries live in the modules named after what they do
(`accounts`, `tokens`, `queue`), and conversions to other formats live outside `models/`.

Every primary key is a 64-bit id from `models.ids.new_id` (sortable by creation time),
every time is timezone-aware UTC, and every unique rule is a named unique index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.ids import new_id
from models.types import JSONType, UTCDateTime, utcnow


def _id() -> Any:
    return Field(default_factory=new_id, sa_type=sa.BigInteger, primary_key=True)


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _ref(target: str, *, index: bool = True) -> Any:
    """A nullable BigInteger foreign key that disappears with its target row."""
    return Field(default=None, sa_column_args=[sa.ForeignKey(target, ondelete="CASCADE")],
                 sa_type=sa.BigInteger, nullable=True, index=index)


class Account(SQLModel, table=True):
    """A local account: a person, or (kind 'instance') the instance actor that signs fetches."""

    __tablename__ = "accounts"

    id: int = _id()
    kind: str = Field(default="person", max_length=16)  # "person" | "instance"
    username: str = Field(max_length=64)  # unique case-insensitively (index below)
    display_name: str = Field(default="", sa_type=sa.Text)
    note: str = Field(default="", sa_type=sa.Text)  # HTML
    email: str | None = Field(default=None, max_length=320, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    is_admin: bool = False
    bot: bool = False
    generator: bool = False  # answers mentions carrying a prompt with a generated image
    locked: bool = False  # approves followers by hand
    discoverable: bool = True
    indexable: bool = False
    private_key_pem: str = Field(sa_type=sa.Text)
    public_key_pem: str = Field(sa_type=sa.Text)
    avatar_path: str | None = Field(default=None, max_length=512)
    header_path: str | None = Field(default=None, max_length=512)
    fields: list[dict[str, str]] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    also_known_as: list[str] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = _time()
    updated_at: datetime = _time()
    last_active_at: datetime | None = _time(nullable=True)
    suspended_at: datetime | None = _time(nullable=True)


sa.Index("ix_accounts_username_lower", sa.func.lower(Account.__table__.c.username), unique=True)


class RemoteActor(SQLModel, table=True):
    """Our cached copy of an actor on another server."""

    __tablename__ = "remote_actors"
    __table_args__ = (sa.Index("ix_remote_actors_domain_username", "domain", "username"),)

    id: int = _id()
    uri: str = Field(max_length=2048, unique=True, index=True)
    inbox: str = Field(max_length=2048)
    shared_inbox: str | None = Field(default=None, max_length=2048)
    outbox: str | None = Field(default=None, max_length=2048)
    followers_url: str | None = Field(default=None, max_length=2048)
    username: str = Field(max_length=255)
    domain: str = Field(max_length=255)
    display_name: str = Field(default="", sa_type=sa.Text)
    key_id: str | None = Field(default=None, max_length=2048, index=True)
    public_key_pem: str | None = Field(default=None, sa_type=sa.Text)
    actor_type: str = Field(default="Person", max_length=32)
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    fetched_at: datetime = _time()
    gone_at: datetime | None = _time(nullable=True)


class Status(SQLModel, table=True):
    """A post, local (account_id) or remote (remote_actor_id)."""

    __tablename__ = "statuses"
    __table_args__ = (
        sa.Index("ix_statuses_account_id_id", "account_id", "id"),
        sa.Index("ix_statuses_local_visibility_id", "local", "visibility", "id"),
    )

    id: int = _id()
    uri: str = Field(max_length=2048, unique=True, index=True)
    url: str | None = Field(default=None, max_length=2048)
    account_id: int | None = _ref("accounts.id", index=False)
    remote_actor_id: int | None = _ref("remote_actors.id")
    local: bool = True
    content: str = Field(default="", sa_type=sa.Text)  # HTML
    text: str = Field(default="", sa_type=sa.Text)  # source, local statuses only
    spoiler_text: str = Field(default="", sa_type=sa.Text)
    sensitive: bool = False
    visibility: str = Field(default="public", max_length=16)  # public|unlisted|private|direct
    language: str | None = Field(default=None, max_length=16)
    in_reply_to_id: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)
    created_at: datetime = _time()
    edited_at: datetime | None = _time(nullable=True)
    deleted_at: datetime | None = _time(nullable=True)


class OAuthApp(SQLModel, table=True):
    """A client application registered through `POST /api/v1/apps`."""

    __tablename__ = "oauth_apps"

    id: int = _id()
    name: str = Field(max_length=255)
    website: str | None = Field(default=None, max_length=2048)
    redirect_uris: str = Field(default="", sa_type=sa.Text)  # newline-separated
    client_id: str = Field(max_length=128, unique=True, index=True)
    client_secret: str = Field(max_length=128)
    scopes: str = Field(default="read", max_length=1024)
    created_at: datetime = _time()


class OAuthToken(SQLModel, table=True):
    """An access token; only its SHA-256 is kept."""

    __tablename__ = "oauth_tokens"

    id: int = _id()
    token_sha256: str = Field(max_length=64, unique=True, index=True)  # hex
    app_id: int | None = _ref("oauth_apps.id")
    account_id: int | None = _ref("accounts.id")
    scopes: str = Field(default="read", max_length=1024)
    created_at: datetime = _time()
    revoked_at: datetime | None = _time(nullable=True)
    last_used_at: datetime | None = _time(nullable=True)


class Job(SQLModel, table=True):
    """A unit of background work in the durable queue (see `models.queue`)."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_queue_state_run_at", "queue", "state", "run_at"),
        sa.Index("uq_jobs_queue_dedupe_key", "queue", "dedupe_key", unique=True),
    )

    id: int = _id()
    queue: str = Field(max_length=64)  # indexed first in ix_jobs_queue_state_run_at
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    state: str = Field(default="queued", max_length=16)  # queued|running|done|dead
    attempts: int = 0
    max_attempts: int = 10
    run_at: datetime = _time()
    locked_by: str | None = Field(default=None, max_length=128)
    locked_until: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    dedupe_key: str | None = Field(default=None, max_length=512)
    created_at: datetime = _time()
    finished_at: datetime | None = _time(nullable=True)
