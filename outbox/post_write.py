"""A new local status written whole in one transaction, on one plain connection.

The status row, its media, mentions and hashtags, its notifications (the local accounts it
mentions, and those subscribed to its author), the jobs of the generators it asks, its
idempotency key, and either a `publish` job (the client API: a delivery worker renders and
fans out its `Create` after the commit) or the stored `Create` with its fan-out job. On
PostgreSQL the rows go in one statement of data-modifying CTEs; then one commit. Nothing
just written is read back. Streaming events are relayed in the same transaction and told
to this process once it has committed (`outbox.events`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, make_transient_to_detached

from models import generation_jobs, polls
from models.conversation_mutes import status_thread, unmuted_rows
from models.follow_notifications import subscribers
from models.ids import new_id
from models.queue import run_write, write_session
from models.status_queries import IDEMPOTENCY_WINDOW
from models.tables import (
    Account,
    IdempotencyKey,
    Job,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusTag,
    Tag,
)
from outbox import activities, deliver, events
from outbox import polls as poll_jobs
from outbox.content import text_to_html
from outbox.context import Context
from outbox.hosts import DeliveryPolicy
from outbox.notes import status_to_note
from outbox.rendering import mentioned_accounts, status_media, status_tags

T = TypeVar("T")
PUBLISH = "publish"  # a job of the delivery queue: plan the `Create` of a new status
_STATUSES = Status.__table__  # type: ignore[attr-defined]
_MENTIONS = Mention.__table__  # type: ignore[attr-defined]
_STATUS_TAGS = StatusTag.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_KEYS = IdempotencyKey.__table__  # type: ignore[attr-defined]
_STATUS_COLUMNS = [c.key for c in _STATUSES.columns]  # the counters too: 0 (a CTE leaves
# Python-side defaults unfilled), then the triggers keep them


class MediaTaken(ValueError):
    """A media attachment was attached to another status meanwhile."""


class KeyTaken(Exception):
    """The idempotency key was taken by another status meanwhile (nothing was written)."""


@dataclass
class NewPost:
    """What a new status is made of, checked and looked up by the caller."""

    account: Account
    text: str
    visibility: str = "public"
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to: Status | None = None
    media: Sequence[MediaAttachment] = ()
    mentions: list[Account] = field(default_factory=list)  # the parent's author included
    pending: bool = False  # stored unsent, waiting for its image (`actions.publish_pending`)
    key: str | None = None  # the client's Idempotency-Key
    application_id: int | None = None  # the OAuth app it is posted from
    poll: dict[str, Any] | None = None  # `models.polls.new_poll`


def with_parent_author(mentions: Sequence[Account], author: Account,
                       parent_author: Account | None) -> list[Account]:
    """A reply also mentions the author of what it replies to (unless that is oneself)."""
    found = list(mentions)
    if (parent_author is not None and parent_author.id != author.id
            and all(a.id != parent_author.id for a in found)):
        found.append(parent_author)
    return found


def new_status(ctx: Context, post: NewPost, content_html: str) -> Status:
    """The row of a new local status (not stored)."""
    account, status_id = post.account, new_id()
    status = Status(
        id=status_id, uri=ctx.urls.status(account.username, status_id),
        url=f"{ctx.urls.profile(account.username)}/{status_id}", account_id=account.id,
        local=True, content=content_html, text=post.text, spoiler_text=post.spoiler_text,
        sensitive=post.sensitive or bool(post.spoiler_text), visibility=post.visibility,
        language=post.language, pending=post.pending, application_id=post.application_id,
        poll=post.poll,
    )
    parent = post.in_reply_to
    if parent is None:
        day = status.created_at.strftime("%Y-%m-%d")
        status.conversation = f"tag:{ctx.domain},{day}:objectId={status.id}:objectType=Conversation"
    else:
        status.in_reply_to_id = parent.id
        status.in_reply_to_account_id = parent.account_id
        status.in_reply_to_uri = parent.uri
        status.conversation = parent.conversation or parent.uri
    return status


async def post_new(ctx: Context, sessions: async_sessionmaker[Any], post: NewPost,
                   then: Callable[[sa.Connection, Status], T] | None = None
                   ) -> tuple[Status, T | None]:
    """Write the new status in one transaction of `sessions`' database (SQLite: one trip to
    the writer thread), tell this process's listeners, wake the delivery worker. `then`
    runs last in the same transaction (to read what the answer shows without a second one);
    its result comes back with the status."""
    hooks = events.hooks_of(sessions)
    origin = hooks[0] if hooks else None

    def work(conn: sa.Connection) -> tuple[Status, list[events.Event], T | None]:
        status, found, _ = write_post(ctx, conn, post, origin, publish_job=True)
        return status, found, then(conn, status) if then is not None else None

    status, found, extra = await run_write(sessions, work)
    if hooks is not None and found:
        hooks[1](found)
    ctx.wake.set()
    return status, extra


async def post_in_session(ctx: Context, session: Any, post: NewPost) -> Status:
    """The new status in the caller's (watched) session and transaction, its `Create`
    planned at once (`outbox.deliver.publish`) unless pending; the caller commits."""
    await session.flush()  # media the caller just added must be in the table

    def work(sync: Session) -> tuple[Status, list[str]]:
        status, found, tags = write_post(ctx, sync.connection(), post, None, publish_job=False)
        events.note_written(sync, found)
        make_transient_to_detached(status)  # the session's, as if loaded: no INSERT again
        sync.add(status)
        return status, tags

    status, tags = await session.run_sync(work)
    if not post.pending:
        note = status_to_note(status, post.account, ctx.urls, mentions=post.mentions, tags=tags,
                              media=post.media, in_reply_to=post.in_reply_to, domain=ctx.domain)
        await deliver.publish(ctx, session, activities.create(note), sender=post.account,
                              followers=status.visibility != "direct", recipients=post.mentions)
    return status  # type: ignore[no-any-return]


def write_post(ctx: Context, conn: sa.Connection, post: NewPost, origin: str | None, *,
               publish_job: bool) -> tuple[Status, list[events.Event], list[str]]:
    """All the rows of a new status, on `conn` in its transaction (with `publish_job`, the
    job that publishes it); the status, the streaming events to tell once committed
    (relayed already when `origin` is given), and its hashtags as written."""
    account, mentions = post.account, list(post.mentions)
    content = text_to_html(post.text, mentions=mentions, urls=ctx.urls, domain=ctx.domain)
    status = new_status(ctx, post, content.html)
    tags = _tags(conn, content.tags)
    rows: list[tuple[sa.Table, list[dict[str, Any]]]] = [
        (_STATUSES, [{c: v for c in _STATUS_COLUMNS if (v := getattr(status, c)) is not None}]),
        (_MENTIONS, [{"id": new_id(), "status_id": status.id, "account_id": a.id}
                     for a in mentions]),
        (_STATUS_TAGS, [{"id": new_id(), "status_id": status.id, "tag_id": tag_id}
                        for tag_id in tags.values()]),
    ]
    notified = [{"id": new_id(), "account_id": a.id, "from_account_id": account.id,
                 "type": "mention", "status_id": status.id, "created_at": status.created_at}
                for a in mentions if a.local and a.id != account.id and not post.pending]
    mentioned = {n["account_id"] for n in notified}
    notified += [{"id": new_id(), "account_id": i, "from_account_id": account.id,
                  "type": "status", "status_id": status.id, "created_at": status.created_at}
                 for i in ([] if post.pending else subscribers(conn, status))
                 if i not in mentioned]  # `status` notifications (models.follow_notifications)
    if notified:
        notified = unmuted_rows(conn, notified, {status.id: status_thread(status)})
    rows.append((_NOTIFICATIONS, notified))
    jobs: list[dict[str, Any]] = []
    if not post.pending:
        jobs += _generator_jobs(status, mentions)
        if publish_job:
            jobs.append(_job(deliver.QUEUE, PUBLISH, {"status": status.id}, publish_key(status),
                             DeliveryPolicy.max_attempts, status.created_at))
    if post.poll:
        jobs.append(poll_end_job(status))
    found = [] if post.pending else [events.Event(events.UPDATE, status.id)]
    found += [events.Event(events.NOTIFICATION, n["id"]) for n in notified]
    key = None if post.key is None else {
        "id": new_id(), "account_id": account.id, "key": post.key, "status_id": status.id,
        "created_at": status.created_at}
    key_kept = _insert_all(conn, [(t, r) for t, r in rows if r], jobs, key,
                           found if origin is not None else [], origin or "")
    if key is not None and not key_kept:
        _renew_key(conn, key)
    _attach(conn, status, post.media)
    return status, found, list(tags)


def _job(queue: str, kind: str, payload: dict[str, Any], key: str, attempts: int,
         now: datetime) -> dict[str, Any]:
    """A queued job's row, as `models.queue.enqueue_rows` writes one."""
    return {"id": new_id(), "queue": queue, "kind": kind, "payload": payload, "state": "queued",
            "attempts": 0, "max_attempts": attempts, "run_at": now, "created_at": now,
            "dedupe_key": key}


def _insert_all(conn: sa.Connection, rows: list[tuple[sa.Table, list[dict[str, Any]]]],
                jobs: list[dict[str, Any]], key: dict[str, Any] | None,
                relayed: list[events.Event], origin: str) -> bool:
    """Insert the rows, the jobs (skipping keys already queued) and the idempotency key,
    and relay `relayed`; whether the key was added (False: a row holds it). On PostgreSQL
    it is one statement (one round trip): data-modifying CTEs, the NOTIFY in its SELECT."""
    if conn.dialect.name != "postgresql":
        for table, values in rows:
            conn.execute(sa.insert(table), values)
        if jobs:
            conn.execute(sqlite_insert(_JOBS).on_conflict_do_nothing(
                index_elements=["queue", "dedupe_key"]), jobs)
        kept = key is None or conn.execute(
            sqlite_insert(_KEYS).values(key).on_conflict_do_nothing(
                index_elements=["account_id", "key"]).returning(_KEYS.c.id)).first() is not None
        if relayed:
            events.relay(conn, origin, relayed)
        return kept
    ctes = [sa.insert(table).values(values if len(values) > 1 else values[0]).cte(f"w{n}")
            for n, (table, values) in enumerate(rows)]
    if jobs:
        ctes.append(pg_insert(_JOBS).values(jobs).on_conflict_do_nothing(
            index_elements=["queue", "dedupe_key"]).cte("jobs_added"))
    columns: list[Any] = [sa.literal(True).label("done")]
    if key is not None:
        kept_key = pg_insert(_KEYS).values(key).on_conflict_do_nothing(
            index_elements=["account_id", "key"]).returning(_KEYS.c.id).cte("key_added")
        ctes.append(kept_key)
        columns.append(sa.select(sa.func.count()).select_from(kept_key).scalar_subquery()
                       .label("kept"))
    for n, payload in enumerate(events.notify_payloads(origin, relayed)):
        columns.append(sa.func.pg_notify(events.CHANNEL, payload).label(f"notify{n}"))
    row = conn.execute(sa.select(*columns).add_cte(*ctes)).one()
    return key is None or bool(row.kept)


def _renew_key(conn: sa.Connection, key: dict[str, Any]) -> None:
    """The idempotency key is held: by an expired use, which gives way; else `KeyTaken`."""
    conn.execute(sa.delete(_KEYS).where(
        _KEYS.c.account_id == key["account_id"], _KEYS.c.key == key["key"],
        _KEYS.c.created_at <= key["created_at"] - IDEMPOTENCY_WINDOW))
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    added = conn.execute(insert(_KEYS).values(key).on_conflict_do_nothing(
        index_elements=["account_id", "key"]).returning(_KEYS.c.id)).first()
    if added is None:
        raise KeyTaken(key["key"])


def _attach(conn: sa.Connection, status: Status, media: Sequence[MediaAttachment]) -> None:
    table = MediaAttachment.__table__  # type: ignore[attr-defined]
    for position, item in enumerate(media):
        done = conn.execute(sa.update(table).where(
            table.c.id == item.id, sa.or_(table.c.status_id.is_(None),
                                          table.c.status_id == status.id))
            .values(status_id=status.id, position=position))
        if done.rowcount != 1:
            raise MediaTaken(f"media {item.id} is attached to another status")
        item.status_id, item.position = status.id, position


def _tags(conn: sa.Connection, names: list[str]) -> dict[str, int]:
    """Hashtag name (as written) -> tag id, the missing tags made."""
    if not names:
        return {}
    table = Tag.__table__  # type: ignore[attr-defined]
    rows = conn.execute(sa.select(table.c.id, table.c.name).where(
        sa.func.lower(table.c.name).in_([n.lower() for n in names]))).all()
    known = {name.lower(): tag_id for tag_id, name in rows}
    found = {}
    for name in names:
        if name.lower() not in known:
            tag = Tag(name=name)
            conn.execute(sa.insert(table).values(id=tag.id, name=tag.name,
                                                 created_at=tag.created_at))
            known[name.lower()] = tag.id
        found[name] = known[name.lower()]
    return found


def poll_end_job(status: Status) -> dict[str, Any]:
    """The job that closes the poll (notifies its voters) when it ends."""
    ends = polls.expires_at(status.poll or {}) or status.created_at
    job = _job(deliver.QUEUE, poll_jobs.POLL_END, {"status": status.id},
               poll_jobs.end_key(status.id, ends), DeliveryPolicy.max_attempts,
               status.created_at)
    job["run_at"] = ends
    return job


def _generator_jobs(status: Status, mentions: list[Account]) -> list[dict[str, Any]]:
    """As `models.generation_jobs.enqueue_generator_mentions`: a job per local generator
    mentioned (not the author), once per status and generator."""
    return [_job(generation_jobs.QUEUE, generation_jobs.MENTION,
                 {"status_id": status.id, "generator_id": a.id}, f"mention:{status.id}:{a.id}",
                 generation_jobs.ATTEMPTS, status.created_at)
            for a in mentions if a.generator and a.domain == "" and a.id != status.account_id]


def publish_key(status: Status) -> str:
    """The `publish` job's key (not an inbox: `outbox.audience.delivered_inboxes` skips it)."""
    return deliver.dedupe_key(activities.create_id(status.uri), "publish")


def publish_job(ctx: Context) -> Callable[[dict[str, Any], Any], Awaitable[None]]:
    """The `publish` job's handler (`outbox.deliver.Deliverer.handlers`)."""
    async def run(payload: dict[str, Any], job: Any = None) -> None:
        await publish_created(ctx, int(payload["status"]))
    return run


async def publish_created(ctx: Context, status_id: int) -> None:
    """Render a new status's `Create` from the database and plan its deliveries, as
    `write_post` does in the request. A status deleted meanwhile sends nothing (its
    `Delete` went to the followers); running twice plans nothing twice (`deliver.publish`)."""
    async with write_session(ctx.sessions) as session:
        status = await session.get(Status, status_id)
        if status is None or status.deleted_at is not None or status.pending:
            return
        author = await session.get(Account, status.account_id)
        assert author is not None  # the foreign key holds it
        mentions = await mentioned_accounts(session, status.id)
        parent = (await session.get(Status, status.in_reply_to_id)
                  if status.in_reply_to_id else None)
        note = status_to_note(status, author, ctx.urls, mentions=mentions,
                              tags=await status_tags(session, status.id),
                              media=await status_media(session, status.id),
                              in_reply_to=parent, domain=ctx.domain)
        await deliver.publish(ctx, session, activities.create(note), sender=author,
                              followers=status.visibility != "direct", recipients=mentions)
        await session.commit()
    ctx.wake.set()
