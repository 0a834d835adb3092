"""Hashtags a local account features on its profile, with how many of its public posts
carry each and when it last used it (read when asked: an account features at most
LIMIT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import FeaturedTag, Status, StatusTag, Tag

LIMIT = 10  # as Mastodon
SUGGESTIONS = 10


class FeatureError(ValueError):
    """Why a hashtag cannot be featured (one line, for a 422)."""


@dataclass(frozen=True)
class Featured:
    id: int
    name: str
    statuses_count: int
    last_status_at: datetime | None


def _shown() -> sa.ColumnElement[bool]:
    """A live status of the account that its profile shows everyone (not a boost)."""
    return sa.and_(col(Status.deleted_at).is_(None), col(Status.reblog_of_id).is_(None),
                   col(Status.visibility).in_(("public", "unlisted")))


async def featured(session: AsyncSession, account_id: int) -> list[Featured]:
    """The account's featured hashtags, oldest featured first, with their use."""
    uses = (select(StatusTag.tag_id, sa.func.count().label("n"),
                   sa.func.max(Status.created_at).label("last"))
            .join(Status, col(Status.id) == StatusTag.status_id)
            .where(Status.account_id == account_id, _shown(),
                   col(StatusTag.tag_id).in_(select(FeaturedTag.tag_id).where(
                       FeaturedTag.account_id == account_id)))
            .group_by(StatusTag.tag_id).subquery())
    rows = (await session.exec(
        select(FeaturedTag.id, Tag.name, uses.c.n, uses.c.last)  # type: ignore[call-overload]
        .join(Tag, col(Tag.id) == FeaturedTag.tag_id)
        .outerjoin(uses, uses.c.tag_id == FeaturedTag.tag_id)
        .where(FeaturedTag.account_id == account_id)
        .order_by(col(FeaturedTag.id)))).all()
    return [Featured(i, name, int(n or 0), last) for i, name, n, last in rows]


async def feature(session: AsyncSession, account_id: int, name: str) -> int:
    """Feature hashtag `name` (made when nothing carries it yet); the featured tag's id.
    Commits; FeatureError when taken or past LIMIT."""
    tag = (await session.exec(select(Tag).where(
        sa.func.lower(Tag.name) == name.lower()))).first()
    if tag is None:
        tag = Tag(name=name)
        session.add(tag)
        await session.flush()
    mine = (await session.exec(select(FeaturedTag.tag_id).where(
        FeaturedTag.account_id == account_id))).all()
    if tag.id in mine:
        raise FeatureError("Validation failed: Tag has already been taken")
    if len(mine) >= LIMIT:
        raise FeatureError(f"Validation failed: You can only feature up to {LIMIT} hashtags")
    row = FeaturedTag(account_id=account_id, tag_id=tag.id)
    session.add(row)
    await session.commit()
    return row.id


async def unfeature(session: AsyncSession, account_id: int, featured_id: int) -> bool:
    """Stop featuring one of the account's hashtags; False when it has no such one. Commits."""
    result = await session.exec(sa.delete(FeaturedTag).where(  # type: ignore[call-overload]
        col(FeaturedTag.id) == featured_id, col(FeaturedTag.account_id) == account_id))
    await session.commit()
    return bool(result.rowcount)


async def suggestions(session: AsyncSession, account_id: int) -> list[Tag]:
    """The hashtags the account uses most in its public posts, not featured yet."""
    rows = (await session.exec(
        select(Tag).join(StatusTag, col(StatusTag.tag_id) == Tag.id)
        .join(Status, col(Status.id) == StatusTag.status_id)
        .where(Status.account_id == account_id, _shown(),
               col(Tag.id).not_in(select(FeaturedTag.tag_id).where(
                   FeaturedTag.account_id == account_id)))
        .group_by(col(Tag.id)).order_by(sa.func.count().desc(), col(Tag.id))
        .limit(SUGGESTIONS))).all()
    return list(rows)


async def is_featured(session: AsyncSession, account_id: int, tag_id: int) -> bool:
    return (await session.exec(select(FeaturedTag.id).where(
        FeaturedTag.account_id == account_id, FeaturedTag.tag_id == tag_id))).first() is not None
