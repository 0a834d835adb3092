"""What a page of statuses needs beside its rows, loaded in a few queries (one per kind of
row, never one per status), for the client API's entities.

`load_page` is synchronous Core on one connection (see `models.reads`); it returns rows
(attribute access by column name), not ORM objects. Counts come from the rows themselves:
database triggers keep them (migration 0008).
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel.ext.asyncio.session import AsyncSession

from models.polls import own_votes
from models.reads import converter, fetch, raw_driver, read_in
from models.tables import (
    Account,
    Bookmark,
    ConversationMute,
    Favourite,
    MediaAttachment,
    Mention,
    OAuthApp,
    Pin,
    Status,
    StatusTag,
    Tag,
)

Row = Any  # a Core row, or an ORM object with the same attributes
_NO_POLL = (None, "null")  # a status without a poll: as processed, or SQLite's raw JSON

_STATUSES = Status.__table__  # type: ignore[attr-defined]
_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]
_MEDIA = MediaAttachment.__table__  # type: ignore[attr-defined]
_MUTES = ConversationMute.__table__  # type: ignore[attr-defined]
# what an account entity shows (`fediverse.api.entities.account_entity`), no more
ACCOUNT_COLUMNS = [_ACCOUNTS.c[name] for name in (
    "id", "username", "domain", "url", "uri", "display_name", "note", "avatar_path",
    "avatar_url", "header_path", "header_url", "locked", "fields", "bot", "generator",
    "actor_type", "discoverable", "indexable", "created_at", "statuses_count",
    "followers_count", "following_count", "last_status_at")]


class TagRef(NamedTuple):
    id: int
    name: str


class AppRef(NamedTuple):
    name: str
    website: str | None


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
    muted: set[int] = field(default_factory=set)  # of a thread the viewer muted
    votes: dict[int, list[int]] = field(default_factory=dict)  # poll status id -> choices


@dataclass
class Related:
    """Rows hanging off a page of statuses, by id."""

    accounts: dict[int, Row] = field(default_factory=dict)
    statuses: dict[int, Row] = field(default_factory=dict)  # fresh rows, boosted ones too
    media: dict[int, list[Row]] = field(default_factory=dict)
    mentions: dict[int, list[Row]] = field(default_factory=dict)  # accounts
    tags: dict[int, list[Row]] = field(default_factory=dict)
    viewer: ViewerState | None = None
    apps: dict[int, AppRef] = field(default_factory=dict)  # the OAuth apps statuses came from
    # set by `load_raw_page` where the rows are the driver's raw ones: makes `processed`
    convert: Callable[[Related], Related] | None = None
    _processed: Related | None = None

    @property
    def raw(self) -> bool:
        """Whether the rows are as the driver gave them (compare them, do not render them)."""
        return self.convert is not None

    def processed(self) -> Related:
        """These rows as SQLAlchemy gives them (converted once), for rendering."""
        if self.convert is None:
            return self
        if self._processed is None:
            self._processed = self.convert(self)
        return self._processed


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


# Built once per dialect, with parameters: building a statement costs more than running
# it. The page's ids go as one parameter (an array on PostgreSQL, JSON text on SQLite), so
# each statement is the same text whatever the page's size: nothing to expand and compile
# per execution, and one prepared statement on PostgreSQL.
_VIEWER = sa.bindparam("viewer", type_=sa.BigInteger)


def _among(column: Any, dialect: str, name: str = "ids") -> sa.ColumnElement[bool]:
    """`column IN (:name)`, in the dialect's form taking the ids as one value (`_ids`)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.BigInteger)))  # type: ignore[no-any-return]
    if dialect == "sqlite":
        listed = sa.select(sa.column("value", sa.BigInteger)).select_from(
            sa.func.json_each(sa.bindparam(name, type_=sa.String)))
        return column.in_(listed)  # type: ignore[no-any-return]
    return column.in_(sa.bindparam(name, expanding=True))  # type: ignore[no-any-return]


def _ids(dialect: str, ids: Iterable[int]) -> Any:
    """The value of the `ids` parameter of `_among`."""
    ordered = sorted(set(ids))
    return orjson.dumps(ordered).decode() if dialect == "sqlite" else ordered


def _edges(signed_in: bool, dialect: str) -> sa.CompoundSelect:
    """(kind, status id, ref id, name, order) for mentions, tags and the viewer's marks."""
    viewer_id = _VIEWER
    text = sa.cast(sa.null(), sa.Text)
    parts: list[Any] = [
        sa.select(sa.literal("mention"), Mention.status_id, Mention.account_id, text, Mention.id)
        .where(_among(Mention.status_id, dialect)),
        sa.select(sa.literal("tag"), StatusTag.status_id, Tag.id, Tag.name, StatusTag.id)
        .join(Tag, Tag.id == StatusTag.tag_id).where(_among(StatusTag.status_id, dialect)),
    ]
    if signed_in:
        for name, table in (("favourited", Favourite), ("bookmarked", Bookmark), ("pinned", Pin)):
            parts.append(sa.select(sa.literal(name), table.status_id, sa.literal(0, sa.BigInteger),
                                   text, table.id)
                         .where(table.account_id == viewer_id,
                                _among(table.status_id, dialect)))
        s = _STATUSES.c
        parts.append(sa.select(sa.literal("reblogged"), s.reblog_of_id,
                               sa.literal(0, sa.BigInteger), text, s.id)
                     .where(s.account_id == viewer_id, _among(s.reblog_of_id, dialect)))
        parts.append(muted_edge(_among(s.id, dialect)))
    return sa.union_all(*parts)


def muted_edge(among: sa.ColumnElement[bool]) -> sa.Select:  # type: ignore[type-arg]
    """The `muted` edges: the statuses (`among`) of threads the viewer muted."""
    s, m = _STATUSES.c, _MUTES.c
    return (sa.select(sa.literal("muted"), s.id, sa.literal(0, sa.BigInteger),
                      sa.cast(sa.null(), sa.Text), m.id)
            .join(_MUTES, sa.and_(m.account_id == _VIEWER,
                                  m.conversation == sa.func.coalesce(s.conversation, s.uri)))
            .where(among))


# What a media entity shows (`fediverse.api.entities.media_entity`), and its order.
MEDIA_COLUMNS = [_MEDIA.c[name] for name in (
    "id", "status_id", "position", "type", "file_path", "thumbnail_path", "remote_url",
    "description", "blurhash", "width", "height", "focus_x", "focus_y", "state", "meta")]
STATUS_COLUMNS = list(_STATUSES.c)
MediaRow = namedtuple("MediaRow", [c.name for c in MEDIA_COLUMNS])  # type: ignore[misc]
AccountRow = namedtuple("AccountRow", [c.name for c in ACCOUNT_COLUMNS])  # type: ignore[misc]
StatusRow = namedtuple("StatusRow", [c.name for c in STATUS_COLUMNS])  # type: ignore[misc]
EDGE_WIDTH = 5


def _merged(signed_in: bool, dialect: str) -> sa.CompoundSelect:
    """The edges (`_edges`), the media of the `ids` and the accounts of the `authors` and of
    whom the `ids` mention, in one statement (one round trip): each row is the edge's five
    columns, then the media's, then the account's, NULL where they are not its kind."""
    no_media = [sa.cast(sa.null(), c.type) for c in MEDIA_COLUMNS]
    no_account = [sa.cast(sa.null(), c.type) for c in ACCOUNT_COLUMNS]
    no_edge = [sa.cast(sa.null(), sa.BigInteger), sa.cast(sa.null(), sa.BigInteger),
               sa.cast(sa.null(), sa.Text), sa.cast(sa.null(), sa.BigInteger)]
    parts = [part.add_columns(*no_media, *no_account)
             for part in _edges(signed_in, dialect).selects]
    parts.append(sa.select(sa.literal("media"), *no_edge, *MEDIA_COLUMNS, *no_account)
                 .where(_among(_MEDIA.c.status_id, dialect)))
    accounts = sa.select(sa.literal("account"), *no_edge, *no_media, *ACCOUNT_COLUMNS)
    parts.append(accounts.where(_among(_ACCOUNTS.c.id, dialect, "authors")))
    parts.append(accounts.join(Mention, Mention.account_id == _ACCOUNTS.c.id)
                 .where(_among(Mention.status_id, dialect)))  # an author's again: no matter
    return sa.union_all(*parts)


class _Statements(NamedTuple):
    fresh: sa.Select  # type: ignore[type-arg]
    media: sa.Select  # type: ignore[type-arg]
    media_columns: sa.Select  # type: ignore[type-arg]
    accounts: sa.Select  # type: ignore[type-arg]
    edges: sa.CompoundSelect
    edges_signed_in: sa.CompoundSelect
    merged: sa.CompoundSelect
    merged_signed_in: sa.CompoundSelect


@lru_cache(maxsize=4)
def _statements(dialect: str) -> _Statements:
    return _Statements(
        fresh=sa.select(_STATUSES).where(_among(_STATUSES.c.id, dialect)),
        media=sa.select(_MEDIA).where(_among(_MEDIA.c.status_id, dialect)).order_by(
            _MEDIA.c.position, _MEDIA.c.id),
        media_columns=sa.select(*MEDIA_COLUMNS).where(_among(_MEDIA.c.status_id, dialect))
        .order_by(_MEDIA.c.position, _MEDIA.c.id),
        accounts=sa.select(*ACCOUNT_COLUMNS).where(_among(_ACCOUNTS.c.id, dialect)),
        edges=_edges(False, dialect), edges_signed_in=_edges(True, dialect),
        merged=_merged(False, dialect), merged_signed_in=_merged(True, dialect))


# where `load_page` reads edges, media and accounts in one statement (`_merged`): a round
# trip to a server costs more than the wider rows; in-process SQLite, the other way round
MERGED = frozenset({"postgresql"})
_NOT_EDGES = frozenset({"media", "account"})


def load_page(conn: sa.Connection, statuses: Sequence[Row], viewer_id: int | None = None
              ) -> Related:
    """Everything the entities of `statuses` show: the statuses afresh (an ORM object may
    hold counts from before its own write) and the boosted ones, authors, media, mentions,
    tags, and the viewer's marks. Four queries at most (two on PostgreSQL: `MERGED`)."""
    dialect = conn.dialect.name
    q = _statements(dialect)
    related = Related(statuses={s.id: s for s in statuses if not isinstance(s, Status)})
    wanted = {s.id for s in statuses if isinstance(s, Status)}
    wanted |= {s.reblog_of_id for s in statuses if s.reblog_of_id} - related.statuses.keys()
    if wanted:
        for row in conn.execute(q.fresh, {"ids": _ids(dialect, wanted)}).all():
            related.statuses[row.id] = row
    for s in statuses:  # one that vanished meanwhile (an undone boost) shows as it was
        related.statuses.setdefault(s.id, s)
    ids = sorted(related.statuses)
    if not ids:
        return related
    related.viewer = ViewerState(viewer_id) if viewer_id is not None else None
    media: dict[int, list[Row]] = defaultdict(list)
    page_ids = _ids(dialect, ids)
    authors = {s.account_id for s in related.statuses.values()}
    if dialect in MERGED:
        rows = conn.execute(q.merged if viewer_id is None else q.merged_signed_in, {
            "ids": page_ids, "viewer": viewer_id, "authors": _ids(dialect, authors)}).all()
        edges = _split_merged(rows, related, media)
    else:
        for row in conn.execute(q.media, {"ids": page_ids}).all():
            media[row.status_id].append(row)
        edges = conn.execute(q.edges if viewer_id is None else q.edges_signed_in,
                             {"ids": page_ids, "viewer": viewer_id}).all()
    related.media = media
    mentioned = apply_edges(related, edges)
    if dialect not in MERGED:
        wanted = authors | {m[2] for m in mentioned}
        rows = conn.execute(q.accounts, {"ids": _ids(dialect, wanted)}).all()
        related.accounts = {row.id: row for row in rows}
    attach_mentions(related, mentioned)
    attach_votes(conn, related)
    return attach_apps(conn, related)


def _split_merged(rows: Sequence[Any], related: Related, media: dict[int, list[Row]]
                  ) -> list[Any]:
    """The rows of `_merged`: media into `media`, accounts into `related`; the edges."""
    edges = [row[:EDGE_WIDTH] for row in rows if row[0] not in _NOT_EDGES]
    media_at, account_at = EDGE_WIDTH, EDGE_WIDTH + len(MEDIA_COLUMNS)
    for row in rows:
        if row[0] == "media":
            media[row[media_at + 1]].append(MediaRow._make(row[media_at:account_at]))
        elif row[0] == "account":
            account = AccountRow._make(row[account_at:])
            related.accounts[account.id] = account
    for found in media.values():
        found.sort(key=lambda m: (m.position, m.id))
    return edges


def apply_edges(related: Related, edges: Iterable[Sequence[Any]]) -> list[tuple[int, int, int]]:
    """Tags and the viewer's marks from `_edges` rows into `related`; the mentions as
    (order, status id, account id), sorted."""
    mentioned: list[tuple[int, int, int]] = []
    tags: list[tuple[int, int, Row]] = []
    viewer = related.viewer
    for kind, status_id, ref, name, order in edges:
        if kind == "mention":
            mentioned.append((order, status_id, ref))
        elif kind == "tag":
            tags.append((order, status_id, TagRef(ref, name)))
        elif viewer is not None:
            getattr(viewer, kind).add(status_id)
    for _, status_id, tag in sorted(tags, key=lambda t: t[0]):
        related.tags.setdefault(status_id, []).append(tag)
    return sorted(mentioned)


def attach_mentions(related: Related, mentioned: list[tuple[int, int, int]]) -> None:
    for _, status_id, account_id in mentioned:
        if account_id in related.accounts:
            related.mentions.setdefault(status_id, []).append(related.accounts[account_id])


def attach_votes(conn: sa.Connection, related: Related) -> None:
    """The viewer's choices in the page's polls (no query for a page without polls)."""
    if related.viewer is None:
        return
    polls = [i for i, s in related.statuses.items() if s.poll not in _NO_POLL]
    if polls:
        related.viewer.votes = own_votes(conn, related.viewer.account_id, polls)


# OAuth apps by id, kept for the process: an app's name and website never change
_APPS: dict[int, AppRef] = {}
_APPS_MAX = 10_000
_APP_ROWS = sa.select(OAuthApp.id, OAuthApp.name, OAuthApp.website).where(  # type: ignore[call-overload]
    OAuthApp.id.in_(sa.bindparam("ids", expanding=True)))  # type: ignore[attr-defined]


def attach_apps(conn: sa.Connection, related: Related) -> Related:
    """The apps the statuses of `related` were posted from into `related.apps` (a query only
    for apps this process has not seen yet)."""
    wanted = {s.application_id for s in related.statuses.values() if s.application_id}
    if not wanted:
        return related
    missing = wanted - _APPS.keys()
    if missing:
        if len(_APPS) + len(missing) > _APPS_MAX:
            _APPS.clear()
        for app_id, name, website in conn.execute(_APP_ROWS, {"ids": sorted(missing)}).all():
            _APPS[app_id] = AppRef(name, website)
    related.apps = {i: _APPS[i] for i in wanted if i in _APPS}
    return related


def status_rows(conn: sa.Connection, rows: list[Any]) -> list[Any]:
    """Rows of the statuses table from `models.reads.fetch`, with attributes."""
    return [StatusRow._make(r) for r in rows] if raw_driver(conn) else rows


def load_raw_page(conn: sa.Connection, statuses: Sequence[Row], viewer_id: int | None = None
                  ) -> Related:
    """`load_page` for rows of the statuses table from `models.reads.fetch` (`status_rows`),
    its queries through `fetch` too: on pysqlite the rows are raw (`Related.raw`: its
    `processed` converts them). Drivers `fetch` does not serve: just `load_page`."""
    if not raw_driver(conn):
        return load_page(conn, statuses, viewer_id)
    dialect = conn.dialect.name
    q = _statements(dialect)
    related = Related(statuses={s.id: s for s in statuses},
                      convert=_converter(conn) if dialect == "sqlite" else None)
    wanted = {s.reblog_of_id for s in statuses if s.reblog_of_id} - related.statuses.keys()
    if wanted:
        for row in fetch(conn, q.fresh, {"ids": _ids(dialect, wanted)}):
            related.statuses[row[0]] = StatusRow._make(row)
    if not related.statuses:
        return related
    related.viewer = ViewerState(viewer_id) if viewer_id is not None else None
    page_ids = _ids(dialect, related.statuses)
    authors = {s.account_id for s in related.statuses.values()}
    media: dict[int, list[Row]] = defaultdict(list)
    related.media = media
    if dialect in MERGED:
        rows = fetch(conn, q.merged if viewer_id is None else q.merged_signed_in, {
            "ids": page_ids, "viewer": viewer_id, "authors": _ids(dialect, authors)})
        mentioned = apply_edges(related, _split_merged(rows, related, media))
    else:
        for row in fetch(conn, q.media_columns, {"ids": page_ids}):
            media[row[1]].append(MediaRow._make(row))
        mentioned = apply_edges(related, fetch(
            conn, q.edges if viewer_id is None else q.edges_signed_in,
            {"ids": page_ids, "viewer": viewer_id}))
        wanted = authors | {m[2] for m in mentioned}
        related.accounts = {row[0]: AccountRow._make(row) for row in fetch(
            conn, q.accounts, {"ids": _ids(dialect, wanted)})}
    attach_mentions(related, mentioned)
    attach_votes(conn, related)
    return attach_apps(conn, related)


def _converter(conn: sa.Connection) -> Callable[[Related], Related]:
    """From a raw `Related` to one of processed rows (the same rows, as SQLAlchemy gives)."""
    status = converter(conn, STATUS_COLUMNS, StatusRow._make)
    account = converter(conn, ACCOUNT_COLUMNS, AccountRow._make)
    medium = converter(conn, MEDIA_COLUMNS, MediaRow._make)

    def convert(raw: Related) -> Related:
        accounts = {i: account(a) for i, a in raw.accounts.items()}
        return Related(accounts=accounts,
                       statuses={i: status(s) for i, s in raw.statuses.items()},
                       media={i: [medium(m) for m in found] for i, found in raw.media.items()},
                       mentions={i: [accounts[a.id] for a in found]
                                 for i, found in raw.mentions.items()},
                       tags=raw.tags, viewer=raw.viewer, apps=raw.apps)

    return convert


async def load_related(session: AsyncSession, statuses: Sequence[Row],
                       viewer_id: int | None = None) -> Related:
    """`load_page` on the session's connection."""
    return await read_in(session, lambda conn: load_page(conn, statuses, viewer_id))
