"""What a page of statuses or accounts needs beside its rows, loaded in a few queries
(one per kind of row, never one per status), for the client API's entities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import (
    Account,
    Bookmark,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    Pin,
    Status,
    StatusTag,
    Tag,
)


@dataclass
class AccountStats:
    followers_count: int = 0
    following_count: int = 0
    statuses_count: int = 0
    last_status_at: datetime | None = None


@dataclass
class StatusCounts:
    replies_count: int = 0
    reblogs_count: int = 0
    favourites_count: int = 0


@dataclass
class ViewerState:
    """What the signed-in viewer did to the statuses of a page."""

    account_id: int
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)


@dataclass
class Related:
    """Rows hanging off a page of statuses, by id."""

    accounts: dict[int, Account] = field(default_factory=dict)
    stats: dict[int, AccountStats] = field(default_factory=dict)
    statuses: dict[int, Status] = field(default_factory=dict)  # every status, boosted ones too
    media: dict[int, list[MediaAttachment]] = field(default_factory=dict)
    mentions: dict[int, list[Account]] = field(default_factory=dict)
    tags: dict[int, list[Tag]] = field(default_factory=dict)
    counts: dict[int, StatusCounts] = field(default_factory=dict)
    viewer: ViewerState | None = None


def _in(column: object, ids: Iterable[int]) -> sa.ColumnElement[bool]:
    return col(column).in_(sorted(set(ids)))  # type: ignore[arg-type]


async def account_stats(session: AsyncSession, ids: Iterable[int]) -> dict[int, AccountStats]:
    """Followers, following and statuses counts of accounts, three grouped queries."""
    ids = sorted(set(ids))
    stats = {i: AccountStats() for i in ids}
    if not ids:
        return stats
    accepted = Follow.state == "accepted"
    followers = select(Follow.target_account_id, sa.func.count()).where(
        _in(Follow.target_account_id, ids), accepted).group_by(col(Follow.target_account_id))
    for account_id, count in (await session.exec(followers)).all():
        stats[account_id].followers_count = count
    following = select(Follow.account_id, sa.func.count()).where(
        _in(Follow.account_id, ids), accepted).group_by(col(Follow.account_id))
    for account_id, count in (await session.exec(following)).all():
        stats[account_id].following_count = count
    posts = select(Status.account_id, sa.func.count(), sa.func.max(Status.created_at)).where(
        _in(Status.account_id, ids), col(Status.deleted_at).is_(None)).group_by(col(Status.account_id))
    for account_id, count, last in (await session.exec(posts)).all():
        stats[account_id].statuses_count, stats[account_id].last_status_at = count, last
    return stats


async def _counts(session: AsyncSession, ids: list[int]) -> dict[int, StatusCounts]:
    """Favourites, boosts and replies of each status, one query of three grouped counts."""
    counts = {i: StatusCounts() for i in ids}
    live = col(Status.deleted_at).is_(None)
    query: Any = sa.union_all(
        select(sa.literal("favourites_count"), Favourite.status_id, sa.func.count())
        .where(_in(Favourite.status_id, ids)).group_by(col(Favourite.status_id)),
        select(sa.literal("reblogs_count"), Status.reblog_of_id, sa.func.count())
        .where(_in(Status.reblog_of_id, ids), live).group_by(col(Status.reblog_of_id)),
        select(sa.literal("replies_count"), Status.in_reply_to_id, sa.func.count())
        .where(_in(Status.in_reply_to_id, ids), live).group_by(col(Status.in_reply_to_id)),
    )
    for name, status_id, count in (await session.execute(query)).all():
        setattr(counts[status_id], name, count)
    return counts


async def _viewer_state(session: AsyncSession, viewer_id: int, ids: list[int]) -> ViewerState:
    """What the viewer favourited, bookmarked, pinned and boosted among `ids`, one query."""
    state = ViewerState(account_id=viewer_id)
    query: Any = sa.union_all(*(
        select(sa.literal(name), table.status_id).where(  # type: ignore[attr-defined]
            table.account_id == viewer_id, _in(table.status_id, ids))  # type: ignore[attr-defined]
        for name, table in (("favourited", Favourite), ("bookmarked", Bookmark), ("pinned", Pin))
    ), select(sa.literal("reblogged"), Status.reblog_of_id).where(
        Status.account_id == viewer_id, _in(Status.reblog_of_id, ids)))
    for name, status_id in (await session.execute(query)).all():
        getattr(state, name).add(status_id)
    return state


async def _by_status(session: AsyncSession, query: sa.Select) -> dict[int, list]:  # type: ignore[type-arg]
    found: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    for status_id, row in (await session.exec(query)).all():  # type: ignore[call-overload]
        found[status_id].append(row)
    return found


async def load_related(session: AsyncSession, statuses: Sequence[Status],
                       viewer_id: int | None = None, *, stats: bool = True) -> Related:
    """Everything the entities of `statuses` show: boosted statuses, authors (with their
    counts unless `stats` is off), media, mentions, tags, counts, and the viewer's state."""
    related = Related(statuses={s.id: s for s in statuses})
    missing = {s.reblog_of_id for s in statuses if s.reblog_of_id} - related.statuses.keys()
    if missing:
        for row in (await session.exec(select(Status).where(_in(Status.id, missing)))).all():
            related.statuses[row.id] = row
    ids = sorted(related.statuses)
    if not ids:
        return related
    related.media = await _by_status(session, select(MediaAttachment.status_id, MediaAttachment)
                                     .where(_in(MediaAttachment.status_id, ids))
                                     .order_by(col(MediaAttachment.position), col(MediaAttachment.id)))
    related.mentions = await _by_status(session, select(Mention.status_id, Account)
                                        .join(Account, col(Account.id) == col(Mention.account_id))
                                        .where(_in(Mention.status_id, ids))
                                        .order_by(col(Mention.id)))
    related.tags = await _by_status(session, select(StatusTag.status_id, Tag)
                                    .join(Tag, col(Tag.id) == col(StatusTag.tag_id))
                                    .where(_in(StatusTag.status_id, ids))
                                    .order_by(col(StatusTag.id)))
    author_ids = {s.account_id for s in related.statuses.values()}
    query = select(Account).where(_in(Account.id, author_ids))
    related.accounts = {a.id: a for a in (await session.exec(query)).all()}
    if stats:
        related.stats = await account_stats(session, author_ids)
    related.counts = await _counts(session, ids)
    if viewer_id is not None:
        related.viewer = await _viewer_state(session, viewer_id, ids)
    return related
