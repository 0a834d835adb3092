"""What a page of statuses needs beside its rows, loaded in a few queries (one per kind of
row, never one per status), for the client API's entities.

`load_page` is synchronous Core on one connection (see `models.reads`); it returns rows
(attribute access by column name), not ORM objects. Counts come from the rows themselves:
database triggers keep them (migration 0008).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from models.reads import read_in
from models.tables import (
    Account,
    Bookmark,
    Favourite,
    MediaAttachment,
    Mention,
    Pin,
    Status,
    StatusTag,
    Tag,
)

Row = Any  # a Core row, or an ORM object with the same attributes

_STATUSES = Status.__table__  # type: ignore[attr-defined]
_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]
_MEDIA = MediaAttachment.__table__  # type: ignore[attr-defined]
# what an account entity shows (`fediverse.api.entities.account_entity`), no more
ACCOUNT_COLUMNS = [_ACCOUNTS.c[name] for name in (
    "id", "username", "domain", "url", "uri", "display_name", "note", "avatar_path",
    "avatar_url", "header_path", "header_url", "locked", "fields", "bot", "generator",
    "actor_type", "discoverable", "indexable", "created_at", "statuses_count",
    "followers_count", "following_count", "last_status_at")]


class TagRef(NamedTuple):
    id: int
    name: str


@dataclass
class AccountStats:
    followers_count: int = 0
    following_count: int = 0
    statuses_count: int = 0
    last_status_at: datetime | None = None


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

    accounts: dict[int, Row] = field(default_factory=dict)
    statuses: dict[int, Row] = field(default_factory=dict)  # fresh rows, boosted ones too
    media: dict[int, list[Row]] = field(default_factory=dict)
    mentions: dict[int, list[Row]] = field(default_factory=dict)  # accounts
    tags: dict[int, list[Row]] = field(default_factory=dict)
    viewer: ViewerState | None = None


def _in(column: Any, ids: Iterable[int]) -> sa.ColumnElement[bool]:
    return column.in_(sorted(set(ids)))  # type: ignore[no-any-return]


async def account_stats(session: AsyncSession, ids: Iterable[int]) -> dict[int, AccountStats]:
    """Followers, following and statuses counts of accounts, as kept on their rows."""
    ids = sorted(set(ids))
    stats = {i: AccountStats() for i in ids}
    if not ids:
        return stats
    a = _ACCOUNTS.c
    query = sa.select(a.id, a.followers_count, a.following_count, a.statuses_count,
                      a.last_status_at).where(_in(a.id, ids))
    for row in (await session.exec(query)).all():  # type: ignore[call-overload]
        stats[row.id] = AccountStats(row.followers_count, row.following_count,
                                     row.statuses_count, row.last_status_at)
    return stats


# Built once, with parameters (`ids` expands to the page's ids): building a statement costs
# more than running it.
_IDS = sa.bindparam("ids", expanding=True)
_VIEWER = sa.bindparam("viewer", type_=sa.BigInteger)


@lru_cache(maxsize=2)
def _edges(signed_in: bool) -> sa.CompoundSelect:
    """(kind, status id, ref id, name, order) for mentions, tags and the viewer's marks."""
    ids, viewer_id = _IDS, _VIEWER
    text = sa.cast(sa.null(), sa.Text)
    parts: list[Any] = [
        sa.select(sa.literal("mention"), Mention.status_id, Mention.account_id, text, Mention.id)
        .where(Mention.status_id.in_(ids)),
        sa.select(sa.literal("tag"), StatusTag.status_id, Tag.id, Tag.name, StatusTag.id)
        .join(Tag, Tag.id == StatusTag.tag_id).where(StatusTag.status_id.in_(ids)),
    ]
    if signed_in:
        for name, table in (("favourited", Favourite), ("bookmarked", Bookmark), ("pinned", Pin)):
            parts.append(sa.select(sa.literal(name), table.status_id, sa.literal(0, sa.BigInteger),
                                   text, table.id)
                         .where(table.account_id == viewer_id, table.status_id.in_(ids)))
        s = _STATUSES.c
        parts.append(sa.select(sa.literal("reblogged"), s.reblog_of_id,
                               sa.literal(0, sa.BigInteger), text, s.id)
                     .where(s.account_id == viewer_id, s.reblog_of_id.in_(ids)))
    return sa.union_all(*parts)


_FRESH = sa.select(_STATUSES).where(_STATUSES.c.id.in_(_IDS))
_PAGE_MEDIA = sa.select(_MEDIA).where(_MEDIA.c.status_id.in_(_IDS)).order_by(
    _MEDIA.c.position, _MEDIA.c.id)
_PAGE_ACCOUNTS = sa.select(*ACCOUNT_COLUMNS).where(_ACCOUNTS.c.id.in_(_IDS))


def load_page(conn: sa.Connection, statuses: Sequence[Row], viewer_id: int | None = None
              ) -> Related:
    """Everything the entities of `statuses` show: the statuses afresh (an ORM object may
    hold counts from before its own write) and the boosted ones, authors, media, mentions,
    tags, and the viewer's marks. Four queries at most."""
    related = Related(statuses={s.id: s for s in statuses if not isinstance(s, Status)})
    wanted = {s.id for s in statuses if isinstance(s, Status)}
    wanted |= {s.reblog_of_id for s in statuses if s.reblog_of_id} - related.statuses.keys()
    if wanted:
        for row in conn.execute(_FRESH, {"ids": sorted(wanted)}):
            related.statuses[row.id] = row
    for s in statuses:  # one that vanished meanwhile (an undone boost) shows as it was
        related.statuses.setdefault(s.id, s)
    ids = sorted(related.statuses)
    if not ids:
        return related
    media: dict[int, list[Row]] = defaultdict(list)
    for row in conn.execute(_PAGE_MEDIA, {"ids": ids}):
        media[row.status_id].append(row)
    related.media = media
    viewer = ViewerState(viewer_id) if viewer_id is not None else None
    mentioned: list[tuple[int, int, int]] = []  # (order, status id, account id)
    tags: list[tuple[int, int, Row]] = []
    edges = conn.execute(_edges(viewer_id is not None), {"ids": ids, "viewer": viewer_id})
    for kind, status_id, ref, name, order in edges:
        if kind == "mention":
            mentioned.append((order, status_id, ref))
        elif kind == "tag":
            tags.append((order, status_id, TagRef(ref, name)))
        elif viewer is not None:
            getattr(viewer, kind).add(status_id)
    related.viewer = viewer
    for _, status_id, tag in sorted(tags, key=lambda t: t[0]):
        related.tags.setdefault(status_id, []).append(tag)
    wanted = {s.account_id for s in related.statuses.values()} | {m[2] for m in mentioned}
    rows = conn.execute(_PAGE_ACCOUNTS, {"ids": sorted(wanted)})
    related.accounts = {row.id: row for row in rows}
    for _, status_id, account_id in sorted(mentioned):
        if account_id in related.accounts:
            related.mentions.setdefault(status_id, []).append(related.accounts[account_id])
    return related


async def load_related(session: AsyncSession, statuses: Sequence[Row],
                       viewer_id: int | None = None) -> Related:
    """`load_page` on the session's connection."""
    return await read_in(session, lambda conn: load_page(conn, statuses, viewer_id))
