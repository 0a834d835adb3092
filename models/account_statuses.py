"""An account's statuses as a viewer may see them (Mastodon's account statuses filter)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import blocks, is_accepted_follower
from models.relationships import Window, run_window, windowed
from models.tables import MediaAttachment, Pin, Status, StatusTag, Tag


@dataclass(frozen=True)
class StatusFilter:
    only_media: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    pinned: bool = False
    tagged: str | None = None


async def visibilities_for(session: AsyncSession, account_id: int, viewer_id: int | None
                           ) -> tuple[str, ...]:
    """What of `account_id`'s a viewer sees: all for oneself, followers-only for accepted
    followers, public and unlisted otherwise (others' direct messages never here)."""
    if viewer_id == account_id:
        return ("public", "unlisted", "private", "direct")
    if viewer_id is not None and await is_accepted_follower(session, viewer_id, account_id):
        return ("public", "unlisted", "private")
    return ("public", "unlisted")


def _narrowed(query, account_id: int, wanted: StatusFilter):  # type: ignore[no-untyped-def]
    if wanted.only_media:
        media = select(MediaAttachment.id).where(col(MediaAttachment.status_id) == Status.id)
        query = query.where(media.exists())
    if wanted.exclude_replies:  # a thread of one's own is not a reply to someone else
        query = query.where(col(Status.in_reply_to_id).is_(None)
                            | (Status.in_reply_to_account_id == account_id))
    if wanted.exclude_reblogs or wanted.only_media or wanted.tagged:
        query = query.where(col(Status.reblog_of_id).is_(None))
    if wanted.tagged:
        tagged = select(StatusTag.id).join(Tag, col(Tag.id) == StatusTag.tag_id).where(
            col(StatusTag.status_id) == Status.id,
            sa.func.lower(Tag.name) == wanted.tagged.lstrip("#").lower())
        query = query.where(tagged.exists())
    return query


def _original_live():  # type: ignore[no-untyped-def]
    """Boosts only while their original is not deleted."""
    original = sa.orm.aliased(Status)
    live = select(original.id).where(original.id == Status.reblog_of_id,
                                     col(original.deleted_at).is_(None))
    return col(Status.reblog_of_id).is_(None) | live.exists()


async def account_statuses(session: AsyncSession, account_id: int, viewer_id: int | None,
                           wanted: StatusFilter, window: Window) -> list[Status]:
    """Newest first; nothing for a viewer the account blocks."""
    if viewer_id is not None and await blocks(session, account_id, viewer_id):
        return []
    shown = await visibilities_for(session, account_id, viewer_id)
    query = select(Status).where(Status.account_id == account_id,
                                 col(Status.visibility).in_(shown),
                                 col(Status.deleted_at).is_(None))
    if viewer_id != account_id:  # a status waiting for its image is its author's alone
        query = query.where(col(Status.pending).is_(False))
    query = _narrowed(query, account_id, wanted).where(_original_live())
    if wanted.pinned:
        query = query.join(Pin, (col(Pin.status_id) == Status.id) & (Pin.account_id == account_id))
    return await run_window(session, windowed(query, col(Status.id), window), window)
