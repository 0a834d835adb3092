"""Timelines: pages of statuses, newest first, each one indexed query.

Each reads statuses by id, newest first, and stops at the page's end: home tests each
status's author against whom the viewer follows; public and tag timelines test visibility.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.status_queries import Window, not_blocked, page
from models.tables import (
    Bookmark,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    Mute,
    Status,
    StatusTag,
    Tag,
)
from models.types import utcnow


@dataclass(frozen=True)
class PublicFilter:
    local: bool = False
    remote: bool = False
    only_media: bool = False


def _live() -> sa.ColumnElement[bool]:
    return col(Status.deleted_at).is_(None)


def _boost_live() -> sa.ColumnElement[bool]:
    """Not a boost of a deleted status."""
    boosted = aliased(Status)
    gone = select(boosted.id).where(boosted.id == Status.reblog_of_id,
                                    col(boosted.deleted_at).is_not(None))
    return col(Status.reblog_of_id).is_(None) | ~sa.exists(gone)


async def home(session: AsyncSession, viewer_id: int, window: Window) -> list[Status]:
    """The viewer's and their followees' statuses and boosts, without whom they mute; a
    direct status only when it is theirs or names them."""
    followed = select(Follow.target_account_id).where(
        Follow.account_id == viewer_id, Follow.state == "accepted")
    muted = select(Mute.target_account_id).where(
        Mute.account_id == viewer_id,
        col(Mute.expires_at).is_(None) | (col(Mute.expires_at) > utcnow()))
    mentioned = select(Mention.status_id).where(Mention.account_id == viewer_id)
    # `account_id + 0`: read by id, newest first, testing each author, rather than every
    # status of every followee sorted (the index on account_id would lead there)
    author = col(Status.account_id) + 0
    query = select(Status).where(
        (author == viewer_id) | author.in_(followed),
        ~col(Status.account_id).in_(muted), _live(),
        (col(Status.visibility) != "direct") | (col(Status.account_id) == viewer_id)
        | col(Status.id).in_(mentioned),
        col(Status.pending).is_(False) | (col(Status.account_id) == viewer_id),
        _boost_live(),
    )
    return await page(session, query, col(Status.id), window)


def _public(viewer_id: int | None, where: PublicFilter) -> sa.Select:  # type: ignore[type-arg]
    query = select(Status).where(Status.visibility == "public", col(Status.reblog_of_id).is_(None),
                                 _live(), not_blocked(viewer_id), col(Status.pending).is_(False))
    if where.local and not where.remote:
        query = query.where(col(Status.local).is_(True))
    if where.remote and not where.local:
        query = query.where(col(Status.local).is_(False))
    if where.only_media:
        query = query.where(sa.exists(select(MediaAttachment.id).where(
            MediaAttachment.status_id == Status.id)))
    return query


async def public(session: AsyncSession, viewer_id: int | None, where: PublicFilter,
                 window: Window) -> list[Status]:
    """Public statuses (not boosts), local or remote or both."""
    return await page(session, _public(viewer_id, where), col(Status.id), window)


async def tagged(session: AsyncSession, name: str, viewer_id: int | None, where: PublicFilter,
                 window: Window) -> list[Status]:
    """Public statuses carrying hashtag `name` (any letter case)."""
    tag_id = (await session.exec(select(Tag.id).where(
        sa.func.lower(Tag.name) == name.lower()))).first()
    if tag_id is None:
        return []
    in_tag = select(StatusTag.status_id).where(StatusTag.tag_id == tag_id)
    query = _public(viewer_id, where).where(col(Status.id).in_(in_tag))
    return await page(session, query, col(Status.id), window)


async def bookmarks(session: AsyncSession, account_id: int, window: Window
                    ) -> list[tuple[int, Status]]:
    """(bookmark id, status), newest bookmark first."""
    query = select(Bookmark.id, Status).join(Status, col(Status.id) == Bookmark.status_id).where(
        Bookmark.account_id == account_id, _live())
    return await page(session, query, col(Bookmark.id), window)


async def favourites(session: AsyncSession, account_id: int, window: Window
                     ) -> list[tuple[int, Status]]:
    """(favourite id, status), newest favourite first."""
    query = select(Favourite.id, Status).join(Status, col(Status.id) == Favourite.status_id).where(
        Favourite.account_id == account_id, _live())
    return await page(session, query, col(Favourite.id), window)
