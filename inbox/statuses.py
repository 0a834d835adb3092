"""Storing remote posts: a status with its media, mentions and hashtags; edits; tombstones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import type_of
from inbox.notes import POST_TYPES, MediaFields, NoteFields, note_to_fields
from inbox.resolve import ResolveError, get_status, is_local, local_account
from inbox.votes import refresh_counts
from models import polls
from models.conversation_mutes import muting_accounts, status_thread
from models.follow_notifications import notify_subscribers
from models.generation_jobs import enqueue_generator_mentions
from models.ids import new_id
from models.remote import get_account_by_uri
from models.remote_media import enqueue_copy
from models.statuses import insert_status
from models.tables import (
    Account,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from models.update_notifications import notify_boosters_of_edit
from outbox.context import Context


def status_id_for(published: datetime | None) -> int:
    """Back-dated ids keep timelines in publication order; never from the future."""
    now = datetime.now(UTC)
    return new_id(published) if published is not None and published < now else new_id()


async def store_status(
    ctx: Context, session: AsyncSession, obj: dict[str, Any], author: Account
) -> Status:
    """Store a post by `author` (its origin already checked) with everything it carries."""
    if not type_of(obj) & POST_TYPES:
        raise ResolveError(f"{obj.get('id')} is not a post")
    fields = note_to_fields(obj, followers_url=author.followers_url)
    parent = await get_status(session, fields.in_reply_to_uri) if fields.in_reply_to_uri else None
    status = new_status(fields, author, parent)
    await insert_status(session, status)  # steps over a back-dated id another row holds
    add_media(session, status, fields.media)
    await _add_tags(session, status, fields.hashtags)
    mentioned = await _add_mentions(ctx, session, status, fields.mentions)
    muted = await muting_accounts(session, [a.id for a in notified(author, mentioned)],
                                  status_thread(status))
    notify_mentioned(session, status, author, [a for a in mentioned if a.id not in muted])
    await notify_subscribers(session, status, [a.id for a in mentioned])
    await session.flush()
    await enqueue_generator_mentions(session, status, mentioned)
    if fields.media:
        await enqueue_copy(session, status.id)
    return status


def new_status(fields: NoteFields, author: Account, parent: Status | None) -> Status:
    """The row of a remote post by `author`, replying to `parent` when we have it (a reply
    that names no conversation joins its parent's, as Mastodon does)."""
    status = Status(**status_values(fields, author.id,
                                    (parent.id, parent.account_id) if parent else None))
    if status.conversation is None and parent is not None:
        status.conversation = status_thread(parent)
    return status


def status_values(fields: NoteFields, author_id: int, parent: tuple[int, int] | None
                  ) -> dict[str, Any]:
    """A remote post's column values; `parent` is the (id, account id) of the status it
    replies to, when we have it."""
    now = datetime.now(UTC)
    return {
        "id": status_id_for(fields.published), "uri": fields.uri, "url": fields.url,
        "account_id": author_id, "local": False, "content": fields.content,
        "spoiler_text": fields.spoiler_text, "sensitive": fields.sensitive,
        "visibility": fields.visibility, "language": fields.language,
        "in_reply_to_uri": fields.in_reply_to_uri,
        "in_reply_to_id": parent[0] if parent else None,
        "in_reply_to_account_id": parent[1] if parent else None,
        "conversation": fields.conversation, "poll": fields.poll,
        "created_at": min(fields.published or now, now),
    }


def notify_mentioned(session: AsyncSession, status: Status, author: Account,
                     mentioned: list[Account]) -> None:
    for account in notified(author, mentioned):
        session.add(Notification(account_id=account.id, from_account_id=author.id,
                                 type="mention", status_id=status.id))


def notified(author: Account, mentioned: list[Account]) -> list[Account]:
    """Who gets a mention notification: the local accounts mentioned, not the author."""
    return [a for a in mentioned if a.local and a.id != author.id]


def add_media(session: AsyncSession, status: Status, media: list[MediaFields]) -> None:
    session.add_all(media_rows(status.id, status.account_id, media))


def media_rows(status_id: int, account_id: int, media: list[MediaFields]) -> list[MediaAttachment]:
    return [MediaAttachment(**values) for values in media_values(status_id, account_id, media)]


def media_values(status_id: int, account_id: int, media: list[MediaFields]) -> list[dict[str, Any]]:
    """The column values of a remote post's attachments."""
    return [{"account_id": account_id, "status_id": status_id, "type": item.type,
             "mime_type": item.mime_type, "remote_url": item.remote_url,
             "description": item.description, "blurhash": item.blurhash, "width": item.width,
             "height": item.height, "focus_x": item.focus_x, "focus_y": item.focus_y,
             "state": "ready", "position": position, "meta": {}}
            for position, item in enumerate(media)]


async def _mentioned(ctx: Context, session: AsyncSession, uri: str) -> Account | None:
    """The account a mention names: ours, or a remote one already known (never fetched here)."""
    if is_local(ctx, uri):
        return await local_account(ctx, session, uri)
    return await get_account_by_uri(session, uri)


async def _add_mentions(
    ctx: Context, session: AsyncSession, status: Status, uris: list[str]
) -> list[Account]:
    """Mention rows for the accounts we know; those accounts."""
    have = set((await session.exec(
        select(Mention.account_id).where(Mention.status_id == status.id))).all())
    found: list[Account] = []
    for uri in uris:
        account = await _mentioned(ctx, session, uri)
        if account is None or account.id in have:
            continue
        have.add(account.id)
        session.add(Mention(status_id=status.id, account_id=account.id))
        found.append(account)
    return found


async def tag_named(session: AsyncSession, name: str) -> Tag:
    """The hashtag `name` (any letter case), made on first use."""
    query = select(Tag).where(sa.func.lower(Tag.name) == name.lower())
    found = (await session.exec(query)).first()
    if found is not None:
        return found
    tag = Tag(name=name)
    try:
        async with session.begin_nested():
            session.add(tag)
    except IntegrityError:  # made meanwhile by another worker
        return (await session.exec(query)).one()
    return tag


async def _add_tags(session: AsyncSession, status: Status, names: list[str]) -> None:
    have = set((await session.exec(
        select(StatusTag.tag_id).where(StatusTag.status_id == status.id))).all())
    for name in names:
        tag = await tag_named(session, name)
        if tag.id not in have:
            have.add(tag.id)
            session.add(StatusTag(status_id=status.id, tag_id=tag.id))


async def _media_of(session: AsyncSession, status: Status) -> list[MediaAttachment]:
    return list((await session.exec(select(MediaAttachment).where(
        MediaAttachment.status_id == status.id).order_by(MediaAttachment.position))).all())


async def _replace_media(session: AsyncSession, status: Status, media: list[MediaFields],
                         before: list[MediaAttachment]) -> None:
    """An edit's attachments. One with the URL of an earlier one updates that row, so its id
    stays (clients and past versions name it) and, when the edit omits them (Pixelfed's Update
    does), its blurhash and size; the others are added, and those no longer listed go."""
    known = {m.remote_url: m for m in before}
    kept: set[int | None] = set()
    for item, values in zip(media, media_values(status.id, status.account_id, media), strict=True):
        was = known.get(item.remote_url)
        if was is None or was.id in kept:
            session.add(MediaAttachment(**values))
            continue
        kept.add(was.id)
        values |= {"blurhash": item.blurhash or was.blurhash, "width": item.width or was.width,
                   "height": item.height or was.height}
        if was.file_path:  # copied here: its sizes are those of the copy
            values |= {"width": was.width, "height": was.height, "meta": was.meta}
        for name, value in values.items():
            setattr(was, name, value)
        session.add(was)
    for gone in before:
        if gone.id not in kept:
            await session.delete(gone)


def _is_newer(fields: NoteFields, status: Status) -> bool:
    if fields.updated is None:
        return False
    last = status.edited_at or status.created_at
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return fields.updated > last


async def edit_status(
    ctx: Context, session: AsyncSession, status: Status, obj: dict[str, Any], author: Account
) -> bool:
    """Apply an edit when its `updated` is later than the last one; the old version is kept."""
    fields = note_to_fields(obj, followers_url=author.followers_url)
    if not _is_newer(fields, status):
        if refresh_counts(status, fields.poll):  # a poll's new counts, not an edit
            session.add(status)
            await session.flush()
        return False
    if fields.poll and status.poll and polls.titles(fields.poll) != polls.titles(status.poll):
        await polls.clear_votes(session, status.id)  # new options: our votes are void
    before = await _media_of(session, status)
    session.add(StatusEdit(
        status_id=status.id, content=status.content, spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        media=[{"id": str(m.id), "url": m.remote_url, "description": m.description,
                "blurhash": m.blurhash} for m in before],
        created_at=status.edited_at or status.created_at,
    ))
    status.content, status.spoiler_text = fields.content, fields.spoiler_text
    status.sensitive, status.language = fields.sensitive, fields.language
    status.poll, status.edited_at = fields.poll or status.poll, fields.updated
    await _replace_media(session, status, fields.media, before)
    if fields.media:  # any attachment it adds (the copy skips those copied already)
        await enqueue_copy(session, status.id, fields.updated)
    await _add_tags(session, status, fields.hashtags)
    await _add_mentions(ctx, session, status, fields.mentions)
    session.add(status)
    await session.flush()
    await notify_boosters_of_edit(session, status)
    return True


async def tombstone(session: AsyncSession, status: Status) -> None:
    """Mark a status deleted and drop what it showed; boosts of it go entirely."""
    status.deleted_at = datetime.now(UTC)
    status.content, status.spoiler_text, status.poll = "", "", None
    session.add(status)
    await session.exec(sa.delete(MediaAttachment).where(MediaAttachment.status_id == status.id))
    await session.exec(sa.delete(Status).where(Status.reblog_of_id == status.id))
    await session.exec(sa.delete(Notification).where(Notification.status_id == status.id))
    await session.flush()
