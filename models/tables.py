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


def _counter() -> Any:
    """A count the database keeps (triggers); never written by the application."""
    return Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})


def _ref(target: str, *, index: bool = True) -> Any:
    """A nullable BigInteger foreign key that disappears with its target row."""
    return Field(
        default=None,
        sa_column_args=[sa.ForeignKey(target, ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=True,
        index=index,
    )


class Account(SQLModel, table=True):
    """An account, as Mastodon keeps them: local (domain '') or a cached remote actor.

    kind is "person" for local people, "instance" for the local instance actor that signs
    fetches, "remote" for actors on other servers (their id is `uri`, their key `key_id`).
    """

    __tablename__ = "accounts"
    __table_args__ = (sa.Index("ix_accounts_domain_username", "domain", "username"),)

    id: int = _id()
    kind: str = Field(default="person", max_length=16)  # "person" | "instance" | "remote"
    username: str = Field(max_length=255)  # unique case-insensitively among local accounts
    domain: str = Field(default="", max_length=255)  # "" for local accounts
    display_name: str = Field(default="", sa_type=sa.Text)
    note: str = Field(default="", sa_type=sa.Text)  # HTML
    note_text: str = Field(default="", sa_type=sa.Text)  # the note as typed (local accounts)
    # posting defaults a client reads in `source` (local accounts)
    default_privacy: str = Field(default="public", max_length=16)
    default_sensitive: bool = False
    default_language: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=320, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    is_admin: bool = False
    bot: bool = False
    generator: bool = False  # answers mentions carrying a prompt with a generated image
    locked: bool = False  # approves followers by hand
    discoverable: bool = True
    indexable: bool = False
    private_key_pem: str | None = Field(default=None, sa_type=sa.Text)  # local only
    public_key_pem: str | None = Field(default=None, sa_type=sa.Text)
    avatar_path: str | None = Field(default=None, max_length=512)
    header_path: str | None = Field(default=None, max_length=512)
    fields: list[dict[str, str]] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False)
    )
    also_known_as: list[str] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False)
    )
    moved_to_account_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    # remote actors: where they live, as their actor document says
    uri: str | None = Field(default=None, max_length=2048, unique=True, index=True)
    url: str | None = Field(default=None, max_length=2048)
    inbox: str | None = Field(default=None, max_length=2048)
    shared_inbox: str | None = Field(default=None, max_length=2048)
    outbox: str | None = Field(default=None, max_length=2048)
    followers_url: str | None = Field(default=None, max_length=2048)
    following_url: str | None = Field(default=None, max_length=2048)
    featured_url: str | None = Field(default=None, max_length=2048)
    key_id: str | None = Field(default=None, max_length=2048, index=True)
    actor_type: str = Field(default="Person", max_length=32)
    avatar_url: str | None = Field(default=None, max_length=2048)
    header_url: str | None = Field(default=None, max_length=2048)
    raw: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    fetched_at: datetime | None = _time(nullable=True)
    gone_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()
    last_active_at: datetime | None = _time(nullable=True)
    suspended_at: datetime | None = _time(nullable=True)
    # kept by database triggers (migration 0008) on every write to statuses and follows
    statuses_count: int = _counter()  # live statuses and boosts
    followers_count: int = _counter()  # accepted follows of this account
    following_count: int = _counter()  # accepted follows by this account
    last_status_at: datetime | None = _time(nullable=True)

    @property
    def local(self) -> bool:
        return self.domain == ""


sa.Index(
    "ix_accounts_username_lower",
    sa.func.lower(Account.__table__.c.username),
    unique=True,
    sqlite_where=sa.text("domain = ''"),
    postgresql_where=sa.text("domain = ''"),
)


class Status(SQLModel, table=True):
    """A post, local or remote; a boost is a status whose reblog_of_id is the boosted one."""

    __tablename__ = "statuses"
    __table_args__ = (
        sa.Index("ix_statuses_account_id_id", "account_id", "id"),
        sa.Index("ix_statuses_local_visibility_id", "local", "visibility", "id"),
    )

    id: int = _id()
    uri: str = Field(max_length=2048, unique=True, index=True)
    url: str | None = Field(default=None, max_length=2048)
    account_id: int = Field(
        sa_column_args=[sa.ForeignKey("accounts.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=False,
    )
    local: bool = True
    content: str = Field(default="", sa_type=sa.Text)  # HTML, sanitised
    text: str = Field(default="", sa_type=sa.Text)  # source, local statuses only
    spoiler_text: str = Field(default="", sa_type=sa.Text)
    sensitive: bool = False
    visibility: str = Field(default="public", max_length=16)  # public|unlisted|private|direct
    language: str | None = Field(default=None, max_length=16)
    in_reply_to_id: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)
    in_reply_to_account_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    in_reply_to_uri: str | None = Field(default=None, max_length=2048)
    reblog_of_id: int | None = _ref("statuses.id")
    conversation: str | None = Field(default=None, max_length=2048)
    poll: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    created_at: datetime = _time()
    edited_at: datetime | None = _time(nullable=True)
    deleted_at: datetime | None = _time(nullable=True)
    pending: bool = False  # waits for its generated image: only its author sees it, unsent
    # the OAuth app a local status was posted from (oauth_apps.id; no foreign key: a status
    # outlives its app, then shows none)
    application_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    # kept by database triggers (migration 0008): live replies and boosts, favourites
    replies_count: int = _counter()
    reblogs_count: int = _counter()
    favourites_count: int = _counter()


class MediaAttachment(SQLModel, table=True):
    """An image (or other media) of a status; local files or a remote URL."""

    __tablename__ = "media_attachments"

    id: int = _id()
    account_id: int = Field(
        sa_column_args=[sa.ForeignKey("accounts.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=False,
        index=True,
    )
    status_id: int | None = _ref("statuses.id")
    type: str = Field(default="image", max_length=16)  # image|gifv|video|audio|unknown
    mime_type: str | None = Field(default=None, max_length=128)
    file_path: str | None = Field(default=None, max_length=512)  # local files, under media dir
    thumbnail_path: str | None = Field(default=None, max_length=512)
    remote_url: str | None = Field(default=None, max_length=2048)
    description: str = Field(default="", sa_type=sa.Text)  # alt text
    blurhash: str | None = Field(default=None, max_length=128)
    width: int | None = None
    height: int | None = None
    focus_x: float = 0.0
    focus_y: float = 0.0
    state: str = Field(default="ready", max_length=16)  # processing|ready|failed
    position: int = 0
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONType, nullable=False)
    )
    created_at: datetime = _time()


def _pair(table: str, a: str, b: str) -> tuple[sa.Index, ...]:
    return (sa.Index(f"uq_{table}_{a}_{b}", a, b, unique=True), sa.Index(f"ix_{table}_{b}", b))


def _account_ref(*, index: bool = False) -> Any:
    return Field(
        sa_column_args=[sa.ForeignKey("accounts.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=False,
        index=index,
    )


def _status_ref(*, index: bool = False) -> Any:
    return Field(
        sa_column_args=[sa.ForeignKey("statuses.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=False,
        index=index,
    )


class Mention(SQLModel, table=True):
    __tablename__ = "mentions"
    __table_args__ = _pair("mentions", "status_id", "account_id")

    id: int = _id()
    status_id: int = _status_ref()
    account_id: int = _account_ref()


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int = _id()
    name: str = Field(max_length=255)  # as first seen; unique case-insensitively
    created_at: datetime = _time()


sa.Index("ix_tags_name_lower", sa.func.lower(Tag.__table__.c.name), unique=True)


class StatusTag(SQLModel, table=True):
    __tablename__ = "status_tags"
    __table_args__ = _pair("status_tags", "status_id", "tag_id")

    id: int = _id()
    status_id: int = _status_ref()
    tag_id: int = Field(
        sa_column_args=[sa.ForeignKey("tags.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger,
        nullable=False,
    )


class Follow(SQLModel, table=True):
    """account follows target; state 'pending' until a locked target accepts."""

    __tablename__ = "follows"
    __table_args__ = (*_pair("follows", "account_id", "target_account_id"),
                      sa.Index("ix_follows_target_account_id_notify", "target_account_id",
                               sqlite_where=sa.text("notify"), postgresql_where=sa.text("notify")))

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    uri: str | None = Field(default=None, max_length=2048, unique=True)
    state: str = Field(default="pending", max_length=16)  # pending|accepted
    created_at: datetime = _time()
    # what the follower asked for (Mastodon's follow options)
    notify: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    show_reblogs: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    languages: list[str] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))


class Favourite(SQLModel, table=True):
    __tablename__ = "favourites"
    __table_args__ = _pair("favourites", "account_id", "status_id")

    id: int = _id()
    account_id: int = _account_ref()
    status_id: int = _status_ref()
    uri: str | None = Field(default=None, max_length=2048, unique=True)
    created_at: datetime = _time()


class Bookmark(SQLModel, table=True):
    __tablename__ = "bookmarks"
    __table_args__ = _pair("bookmarks", "account_id", "status_id")

    id: int = _id()
    account_id: int = _account_ref()
    status_id: int = _status_ref()
    created_at: datetime = _time()


class Pin(SQLModel, table=True):
    """A status an account features on its profile."""

    __tablename__ = "pins"
    __table_args__ = _pair("pins", "account_id", "status_id")

    id: int = _id()
    account_id: int = _account_ref()
    status_id: int = _status_ref()
    created_at: datetime = _time()


class Block(SQLModel, table=True):
    __tablename__ = "blocks"
    __table_args__ = _pair("blocks", "account_id", "target_account_id")

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    uri: str | None = Field(default=None, max_length=2048, unique=True)
    created_at: datetime = _time()


class Mute(SQLModel, table=True):
    __tablename__ = "mutes"
    __table_args__ = _pair("mutes", "account_id", "target_account_id")

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    notifications: bool = True
    expires_at: datetime | None = _time(nullable=True)  # None: until unmuted
    created_at: datetime = _time()


class Report(SQLModel, table=True):
    """A `Flag` received, or a report made here."""

    __tablename__ = "reports"

    id: int = _id()
    account_id: int = _account_ref()  # who reports
    target_account_id: int = _account_ref(index=True)
    status_ids: list[int] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False)
    )
    comment: str = Field(default="", sa_type=sa.Text)
    uri: str | None = Field(default=None, max_length=2048, unique=True)
    created_at: datetime = _time()
    category: str = Field(default="other", max_length=16,  # spam|legal|violation|other
                          sa_column_kwargs={"server_default": "other"})
    rule_ids: list[int] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    forwarded: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    updated_at: datetime | None = _time(nullable=True)
    action_taken_at: datetime | None = _time(nullable=True)  # resolved (None: open)
    action_taken_by_account_id: int | None = Field(default=None, sa_type=sa.BigInteger)


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_account_id_id", "account_id", "id"),)

    id: int = _id()
    account_id: int = _account_ref()  # the local account notified
    from_account_id: int = _account_ref()
    type: str = Field(max_length=32)  # mention|status|reblog|follow|follow_request|favourite|update
    status_id: int | None = _ref("statuses.id")
    report_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # admin.report
    created_at: datetime = _time()


class StatusEdit(SQLModel, table=True):
    """A past version of an edited status (the current one lives on the status)."""

    __tablename__ = "status_edits"

    id: int = _id()
    status_id: int = _status_ref(index=True)
    content: str = Field(default="", sa_type=sa.Text)
    spoiler_text: str = Field(default="", sa_type=sa.Text)
    sensitive: bool = False
    media: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(JSONType, nullable=False)
    )
    created_at: datetime = _time()


class Host(SQLModel, table=True):
    """What we know of another server: whether deliveries to it are getting through."""

    __tablename__ = "hosts"

    id: int = _id()
    domain: str = Field(max_length=255, unique=True, index=True)
    failures: int = 0
    first_failure_at: datetime | None = _time(nullable=True)
    unavailable_since: datetime | None = _time(nullable=True)
    last_success_at: datetime | None = _time(nullable=True)
    blocked: bool = False
    next_probe_at: datetime | None = _time(nullable=True)  # an unavailable host is tried again
    signature_scheme: str | None = Field(default=None, max_length=16)  # "rfc9421" or "cavage" once known


class OutboxActivity(SQLModel, table=True):
    """An activity we publish, kept once for all of its deliveries (they name it by id)."""

    __tablename__ = "outbox_activities"

    id: int = _id()
    uri: str = Field(max_length=2048, unique=True, index=True)
    account_id: int = _account_ref()  # the sender, whose key signs
    body: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONType, nullable=False)
    )
    created_at: datetime = _time()


class DeliveredInbox(SQLModel, table=True):
    """An inbox that accepted one of our activities, kept once its delivery job is pruned:
    nothing is sent there twice, and a `Delete` reaches whoever got the post."""

    __tablename__ = "delivered_inboxes"
    __table_args__ = (sa.Index("uq_delivered_inboxes_activity_id_inbox", "activity_id", "inbox",
                               unique=True),)

    id: int = _id()
    activity_id: int = Field(
        sa_column_args=[sa.ForeignKey("outbox_activities.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger, nullable=False,
    )
    inbox: str = Field(max_length=2048)
    delivered_at: datetime = _time()


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
    # trades once for a new token (grant_type=refresh_token); dies with this one
    refresh_sha256: str | None = Field(default=None, max_length=64, unique=True, index=True)


class OAuthCode(SQLModel, table=True):
    """An authorization code from `/oauth/authorize`: single use, short-lived; only its
    SHA-256 is kept."""

    __tablename__ = "oauth_codes"

    id: int = _id()
    code_sha256: str = Field(max_length=64, unique=True, index=True)  # hex
    app_id: int = Field(
        sa_column_args=[sa.ForeignKey("oauth_apps.id", ondelete="CASCADE")],
        sa_type=sa.BigInteger, nullable=False, index=True,
    )
    account_id: int = _account_ref(index=True)
    redirect_uri: str = Field(max_length=2048)
    scopes: str = Field(max_length=1024)
    code_challenge: str | None = Field(default=None, max_length=128)  # PKCE, S256 only
    token_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # what it was exchanged for
    created_at: datetime = _time()
    expires_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)


class Marker(SQLModel, table=True):
    """Where an account stopped reading a timeline (`home` or `notifications`)."""

    __tablename__ = "markers"
    __table_args__ = (sa.Index("uq_markers_account_id_timeline", "account_id", "timeline",
                               unique=True),)

    id: int = _id()
    account_id: int = _account_ref()
    timeline: str = Field(max_length=32)
    last_read_id: int = Field(sa_type=sa.BigInteger)
    version: int = 0  # counts the updates, as Mastodon's lock_version
    updated_at: datetime = _time()


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
        default_factory=dict, sa_column=sa.Column(JSONType, nullable=False)
    )
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


class IdempotencyKey(SQLModel, table=True):
    """A client's `Idempotency-Key` on a status it posted: the same key within an hour
    answers the same status instead of posting again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.Index("uq_idempotency_keys_account_id_key", "account_id", "key", unique=True),
    )

    id: int = _id()
    account_id: int = _account_ref()
    key: str = Field(max_length=255)
    status_id: int = _status_ref()
    created_at: datetime = _time()


class StreamEvent(SQLModel, table=True):
    """A committed write told to the live streams of other processes (SQLite's relay; see
    `outbox.events`). Kept a minute, then pruned."""

    __tablename__ = "stream_events"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: readers resume by id

    id: int | None = Field(default=None, sa_type=sa.Integer, primary_key=True)
    origin: str = Field(max_length=32)  # the writing process's relay id
    kind: str = Field(max_length=16)
    ref_id: int = Field(sa_type=sa.BigInteger)
    created_at: datetime = _time()


class Filter(SQLModel, table=True):
    """A viewer's filter (Mastodon's filters v2): its keywords and statuses hang off it."""

    __tablename__ = "filters"

    id: int = _id()
    account_id: int = _account_ref(index=True)
    title: str = Field(max_length=255)
    context: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    filter_action: str = Field(default="warn", max_length=16,
                               sa_column_kwargs={"server_default": "warn"})  # warn|hide|blur
    expires_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class FilterKeyword(SQLModel, table=True):
    __tablename__ = "filter_keywords"

    id: int = _id()
    filter_id: int = Field(sa_column_args=[sa.ForeignKey("filters.id", ondelete="CASCADE")],
                           sa_type=sa.BigInteger, nullable=False, index=True)
    keyword: str = Field(max_length=512)
    whole_word: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class FilterStatus(SQLModel, table=True):
    __tablename__ = "filter_statuses"
    __table_args__ = _pair("filter_statuses", "filter_id", "status_id")

    id: int = _id()
    filter_id: int = Field(sa_column_args=[sa.ForeignKey("filters.id", ondelete="CASCADE")],
                           sa_type=sa.BigInteger, nullable=False)
    status_id: int = _status_ref()


class ConversationMark(SQLModel, table=True):
    """What an account did to one of its direct conversations (`models.conversations`): read
    up to a status, or hid it up to a status. The conversations themselves are read from the
    direct statuses, so a newer message makes it unread and shows it again."""

    __tablename__ = "conversation_marks"
    __table_args__ = (sa.Index("uq_conversation_marks_account_id_conversation", "account_id",
                               "conversation", unique=True),)

    id: int = _id()
    account_id: int = _account_ref()
    conversation: str = Field(max_length=2048)  # statuses.conversation, else the status's uri
    read_up_to: int = Field(default=0, sa_type=sa.BigInteger)  # a status id
    hidden_up_to: int = Field(default=0, sa_type=sa.BigInteger)  # a status id
    updated_at: datetime = _time()


class PushSubscription(SQLModel, table=True):
    """A Web Push subscription: one per access token, which Mastodon also puts in each
    push's payload (so it is kept here, and goes with the subscription)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (sa.Index("uq_push_subscriptions_token_id", "token_id", unique=True),)

    id: int = _id()
    account_id: int = _account_ref(index=True)
    token_id: int = Field(sa_column_args=[sa.ForeignKey("oauth_tokens.id", ondelete="CASCADE")],
                          sa_type=sa.BigInteger, nullable=False)
    access_token: str = Field(max_length=255)
    endpoint: str = Field(max_length=2048)
    key_p256dh: str = Field(max_length=128)  # base64url, the client's P-256 point
    key_auth: str = Field(max_length=64)  # base64url, 16 bytes
    standard: bool = False  # RFC 8291 aes128gcm; else Mastodon's legacy aesgcm
    alerts: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    policy: str = Field(default="all", max_length=16)  # all|followed|follower|none
    created_at: datetime = _time()
    updated_at: datetime = _time()


class VapidKey(SQLModel, table=True):
    """The instance's VAPID key pair (RFC 8292), made once: a single row, id 1."""

    __tablename__ = "vapid_keys"

    id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    private_key_pem: str = Field(sa_type=sa.Text)
    public_key: str = Field(max_length=128)  # base64url uncompressed point
    created_at: datetime = _time()


class DomainBlock(SQLModel, table=True):
    """A server an account blocks (Mastodon's user domain block): its accounts' statuses and
    notifications are hidden from the account, and none of them may follow it."""

    __tablename__ = "domain_blocks"
    __table_args__ = (sa.Index("uq_domain_blocks_account_id_domain", "account_id", "domain",
                               unique=True),)

    id: int = _id()
    account_id: int = _account_ref()
    domain: str = Field(max_length=255)  # as accounts.domain: lower-case, IDNA, `:port` kept
    created_at: datetime = _time()


class TagFollow(SQLModel, table=True):
    """A hashtag an account follows: public statuses carrying it reach the account's home."""

    __tablename__ = "tag_follows"
    __table_args__ = (sa.Index("uq_tag_follows_account_id_tag_id", "account_id", "tag_id",
                               unique=True),
                      sa.Index("ix_tag_follows_tag_id", "tag_id"))

    id: int = _id()
    account_id: int = _account_ref()
    tag_id: int = Field(sa_column_args=[sa.ForeignKey("tags.id", ondelete="CASCADE")],
                        sa_type=sa.BigInteger, nullable=False)
    created_at: datetime = _time()


# a tag's statuses newest first, for home pages of those who follow tags (and tag timelines)
sa.Index("ix_status_tags_tag_id_status_id", StatusTag.__table__.c.tag_id,
         StatusTag.__table__.c.status_id)


class ConversationMute(SQLModel, table=True):
    """A thread an account muted: no notifications from its statuses (`models.conversation_mutes`)."""

    __tablename__ = "conversation_mutes"
    __table_args__ = (sa.Index("uq_conversation_mutes_account_id_conversation", "account_id",
                               "conversation", unique=True),)

    id: int = _id()
    account_id: int = _account_ref()
    conversation: str = Field(max_length=2048)  # statuses.conversation, else the status's uri
    created_at: datetime = _time()


class List(SQLModel, table=True):
    """An account's list of accounts it follows, read as a timeline of their statuses."""

    __tablename__ = "lists"

    id: int = _id()
    account_id: int = _account_ref(index=True)
    title: str = Field(max_length=255)
    replies_policy: str = Field(default="list", max_length=16,
                                sa_column_kwargs={"server_default": "list"})  # followed|list|none
    exclusive: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = _time()


class ListAccount(SQLModel, table=True):
    """A member of a list; it hangs off the owner's follow, so it goes with the follow."""

    __tablename__ = "list_accounts"
    __table_args__ = (sa.Index("uq_list_accounts_list_id_account_id", "list_id", "account_id",
                               unique=True),
                      # the home timeline's exclusive-list test: a probe by follow
                      sa.Index("uq_list_accounts_follow_id_list_id", "follow_id", "list_id",
                               unique=True))

    id: int = _id()
    list_id: int = Field(sa_column_args=[sa.ForeignKey("lists.id", ondelete="CASCADE")],
                         sa_type=sa.BigInteger, nullable=False)
    account_id: int = _account_ref(index=True)
    follow_id: int = Field(sa_column_args=[sa.ForeignKey("follows.id", ondelete="CASCADE")],
                           sa_type=sa.BigInteger, nullable=False)
    created_at: datetime = _time()


class PollVote(SQLModel, table=True):
    """One choice of an account in a poll (`statuses.poll`): every voter's on our polls, our
    accounts' own on remote ones. A single-choice poll has one row per voter."""

    __tablename__ = "poll_votes"
    __table_args__ = (sa.Index("uq_poll_votes_status_id_account_id_choice", "status_id",
                               "account_id", "choice", unique=True),
                      sa.Index("ix_poll_votes_account_id", "account_id"))

    id: int = _id()
    status_id: int = _status_ref()
    account_id: int = _account_ref()
    choice: int
    uri: str | None = Field(default=None, max_length=2048)  # the vote's Note
    created_at: datetime = _time()


class AccountNote(SQLModel, table=True):
    """A private note an account keeps on another (Mastodon's Relationship `note`)."""

    __tablename__ = "account_notes"
    __table_args__ = _pair("account_notes", "account_id", "target_account_id")

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    comment: str = Field(default="", sa_type=sa.Text)
    updated_at: datetime = _time()


class AccountPin(SQLModel, table=True):
    """An account endorsed on another's profile (Mastodon's endorsements)."""

    __tablename__ = "account_pins"
    __table_args__ = _pair("account_pins", "account_id", "target_account_id")

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    created_at: datetime = _time()


class FeaturedTag(SQLModel, table=True):
    """A hashtag a local account features on its profile."""

    __tablename__ = "featured_tags"
    __table_args__ = _pair("featured_tags", "account_id", "tag_id")

    id: int = _id()
    account_id: int = _account_ref()
    tag_id: int = Field(sa_column_args=[sa.ForeignKey("tags.id", ondelete="CASCADE")],
                        sa_type=sa.BigInteger, nullable=False)
    created_at: datetime = _time()


class ScheduledStatus(SQLModel, table=True):
    """A status to post later (`models.scheduled_statuses`): what the client sent, kept
    until a job posts it at `scheduled_at`."""

    __tablename__ = "scheduled_statuses"
    __table_args__ = (sa.Index("ix_scheduled_statuses_account_id_scheduled_at", "account_id",
                               "scheduled_at"),)

    id: int = _id()
    account_id: int = _account_ref()
    application_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # the app's id
    scheduled_at: datetime = _time()
    params: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = _time()


class InstanceDomainBlock(SQLModel, table=True):
    """A server this instance blocks (Mastodon's admin domain block); it covers subdomains."""

    __tablename__ = "instance_domain_blocks"
    __table_args__ = (sa.Index("uq_instance_domain_blocks_domain", "domain", unique=True),)

    id: int = _id()
    domain: str = Field(max_length=255)  # as accounts.domain: lower-case, IDNA, `:port` kept
    severity: str = Field(default="suspend", max_length=16)  # suspend | silence | noop
    reject_media: bool = Field(default=False)
    reject_reports: bool = Field(default=False)
    obfuscate: bool = Field(default=False)
    private_comment: str | None = Field(default=None, sa_type=sa.Text, nullable=True)
    public_comment: str | None = Field(default=None, sa_type=sa.Text, nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class SuggestionDismissal(SQLModel, table=True):
    """An account one does not want suggested again (`DELETE /api/v1/suggestions/:id`)."""

    __tablename__ = "suggestion_dismissals"
    __table_args__ = _pair("suggestion_dismissals", "account_id", "target_account_id")

    id: int = _id()
    account_id: int = _account_ref()
    target_account_id: int = _account_ref()
    created_at: datetime = _time()
