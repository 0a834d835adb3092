"""Hashtags an account follows: the rows, and the SQL that brings the public statuses
carrying them into the account's home timeline."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.relationships import Window, run_window, windowed
from models.tables import Status, StatusTag, Tag, TagFollow


def follows_any(viewer_id: Any) -> sa.ColumnElement[bool]:
    """True when `viewer_id` follows some hashtag: an uncorrelated test, read once a
    statement, that spares the row-by-row test of those who follow none."""
    return sa.exists().where(TagFollow.account_id == viewer_id)


def carries_followed_tag(viewer_id: Any) -> sa.ColumnElement[bool]:
    """The status (not a boost) is public and carries a hashtag `viewer_id` follows: for
    most statuses one probe of the status's tags, which it has none of."""
    tagged = sa.exists().where(StatusTag.status_id == Status.id,
                               TagFollow.tag_id == StatusTag.tag_id,
                               TagFollow.account_id == viewer_id)
    return sa.and_(follows_any(viewer_id), col(Status.visibility) == "public",
                   col(Status.reblog_of_id).is_(None), tagged)


def followed_tag_ids(viewer_id: Any) -> sa.Select:  # type: ignore[type-arg]
    return select(TagFollow.tag_id).where(TagFollow.account_id == viewer_id)


async def tag_named(session: AsyncSession, name: str) -> Tag | None:
    return (await session.exec(select(Tag).where(sa.func.lower(Tag.name) == name.lower()))).first()


async def follow_tag(session: AsyncSession, account_id: int, name: str) -> Tag:
    """Follow hashtag `name`, making the tag when no status carries it yet; commits."""
    tag = await tag_named(session, name)
    if tag is None:
        tag = Tag(name=name)
        session.add(tag)
        await session.flush()
    if not await is_following(session, account_id, tag.id):
        session.add(TagFollow(account_id=account_id, tag_id=tag.id))
    await session.commit()
    return tag


async def unfollow_tag(session: AsyncSession, account_id: int, tag: Tag) -> None:
    """Stop following `tag`; commits."""
    await session.exec(sa.delete(TagFollow).where(  # type: ignore[call-overload]
        col(TagFollow.account_id) == account_id, col(TagFollow.tag_id) == tag.id))
    await session.commit()


async def is_following(session: AsyncSession, account_id: int, tag_id: int) -> bool:
    found = await session.exec(select(TagFollow.id).where(TagFollow.account_id == account_id,
                                                          TagFollow.tag_id == tag_id))
    return found.first() is not None


async def followed_tags_page(session: AsyncSession, account_id: int, window: Window
                             ) -> list[tuple[int, Tag]]:
    """(follow id, tag) of the hashtags the account follows, newest follow first."""
    query = select(TagFollow.id, Tag).join(Tag, col(Tag.id) == TagFollow.tag_id).where(
        TagFollow.account_id == account_id)
    return await run_window(session, windowed(query, col(TagFollow.id), window), window)


async def carries_tag_followed_by(session: AsyncSession, status_id: int, account_id: int
                                  ) -> bool:
    """Whether the status carries a hashtag the account follows."""
    found = await session.exec(select(StatusTag.id).join(
        TagFollow, col(TagFollow.tag_id) == StatusTag.tag_id).where(
        StatusTag.status_id == status_id, TagFollow.account_id == account_id))
    return found.first() is not None


async def followed_among(session: AsyncSession, account_id: int, tag_ids: list[int]) -> set[int]:
    """Which of `tag_ids` the account follows."""
    if not tag_ids:
        return set()
    found = await session.exec(select(TagFollow.tag_id).where(
        TagFollow.account_id == account_id, col(TagFollow.tag_id).in_(tag_ids)))
    return set(found.all())
