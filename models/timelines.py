"""Timelines: pages of statuses, newest first, each one indexed query.

Each reads statuses by id, newest first, and stops at the page's end: home tests each
status's author against whom the viewer follows (and, past the newest SCAN_BUDGET
statuses, asks by author instead); public and tag timelines test visibility. The async
functions give ORM statuses; the `*_rows` ones give rows of the same query on a synchronous
connection (`models.reads`; the driver's own rows where `models.reads.fetch` serves it),
for the client API's pages (`models.related.load_raw_page`). `home_page` gives a home page
with all it shows, on PostgreSQL in one statement.
"""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.domain_blocks import blocked_accounts, blocks_none
from models.followed_tags import carries_followed_tag, followed_tag_ids, follows_any
from models.instance_blocks import silenced_unfollowed
from models.reads import fetch, raw_driver
from models.related import (
    ACCOUNT_COLUMNS,
    EDGE_WIDTH,
    MEDIA_COLUMNS,
    AccountRow,
    MediaRow,
    Related,
    StatusRow,
    ViewerState,
    apply_edges,
    attach_apps,
    attach_mentions,
    attach_votes,
    load_raw_page,
    muted_edge,
    status_rows,
)
from models.status_queries import Window, muted_by, not_blocked, page, windowed
from models.tables import (
    Account,
    Block,
    Bookmark,
    Favourite,
    Follow,
    List,
    ListAccount,
    MediaAttachment,
    Mention,
    Mute,
    Pin,
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
    silenced: tuple[str, ...] = ()  # servers silenced here (models.instance_blocks)


def _live() -> sa.ColumnElement[bool]:
    return col(Status.deleted_at).is_(None)


def _boost_live() -> sa.ColumnElement[bool]:
    """Not a boost of a deleted status. A scalar lookup by primary key, row by row: as
    `NOT EXISTS`, PostgreSQL hashes every deleted status first, on each page."""
    boosted = aliased(Status)
    deleted = select(boosted.deleted_at).where(boosted.id == Status.reblog_of_id)
    return col(Status.reblog_of_id).is_(None) | deleted.scalar_subquery().is_(None)


class _LanguageShown(sa.sql.expression.ColumnElement[bool]):
    """True unless the follow lists languages and the status has one not among them (as
    Mastodon's home feed: a status without a language always shows). A follow's
    `languages` is NULL, JSON null or an array of codes; an empty array lists none."""

    type = sa.Boolean()
    inherit_cache = True
    _traverse_internals = [("languages", InternalTraversal.dp_clauseelement),
                           ("language", InternalTraversal.dp_clauseelement)]

    def __init__(self, languages: Any, language: Any) -> None:
        self.languages, self.language = languages, language


@compiles(_LanguageShown)
def _language_shown(element: _LanguageShown, compiler: SQLCompiler, **kw: Any) -> str:
    listed, language = (compiler.process(e, **kw) for e in (element.languages, element.language))
    # `CASE`: a follow without languages (the usual case) costs one test, no JSON read
    # (with a plain `OR` in its place the SQLite page query measured 10 to 30 % slower)
    if compiler.dialect.name == "postgresql":
        return (f"(CASE WHEN {listed} IS NULL THEN true ELSE (jsonb_typeof({listed}) <> 'array'"
                f" OR {listed} = '[]'::jsonb OR {language} IS NULL OR {language} = ''"
                f" OR {listed} @> jsonb_build_array({language})) END)")
    return (f"(CASE WHEN {listed} IS NULL THEN 1 ELSE (json_array_length({listed}) = 0"
            f" OR {language} IS NULL OR {language} = ''"
            f" OR {language} IN (SELECT value FROM json_each({listed}))) END)")


def _in_exclusive_list() -> sa.Exists:
    """The follow row's account is in one of the follower's exclusive lists: out of their
    home (Mastodon 4.2). A probe by follow id; nothing found for one without lists."""
    return sa.exists().where(ListAccount.follow_id == Follow.id,
                             col(List.id) == ListAccount.list_id, col(List.exclusive))


def _home(viewer_id: Any, now: Any, *, by_author: bool = False) -> sa.Select:  # type: ignore[type-arg]
    """The viewer's and their followees' statuses and boosts, and the public statuses
    carrying a hashtag they follow; without whom they mute, block or keep in an exclusive
    list, nor the accounts (and boosts of the accounts) of servers they block; a direct
    status only when it is theirs or names them.

    Read by id, newest first, testing each row's author; `by_author` reads the followees'
    statuses through the account index instead (sorting them all: for a sparse timeline)."""
    # each test a probe of a unique index, row by row, for the few rows a page reads (an
    # `IN (subquery)` would first gather every followee, or every mention, on each page)
    # a followee's boosts only when followed with `reblogs` on (show_reblogs), their
    # statuses only in the follow's `languages` if it lists some (a boost's own row has
    # no language: boosts always pass, as in Mastodon)
    followed = sa.exists().where(Follow.account_id == viewer_id,
                                 Follow.target_account_id == Status.account_id,
                                 Follow.state == "accepted",
                                 col(Status.reblog_of_id).is_(None) | col(Follow.show_reblogs),
                                 _LanguageShown(Follow.languages, Status.language),
                                 ~_in_exclusive_list())
    # whom they mute and the accounts of servers they block: one set, read once a statement
    # (and whom they block or are blocked by: no follow stands there, but a hashtag may)
    hidden = sa.union_all(muted_by(viewer_id, now), blocked_accounts(viewer_id),
                          select(Block.target_account_id).where(Block.account_id == viewer_id),
                          select(Block.account_id).where(Block.target_account_id == viewer_id))
    mentioned = sa.exists().where(Mention.status_id == Status.id,
                                  Mention.account_id == viewer_id)
    # `account_id + 0`: read by id, newest first, testing each author, rather than every
    # status of every followee sorted (the index on account_id would lead there)
    author = col(Status.account_id) + 0
    if by_author:
        followees = select(Follow.target_account_id).where(
            Follow.account_id == viewer_id, Follow.state == "accepted")
        # the `IN` leads to the followees' statuses by the account index; `followed` then
        # tests each one's boosts and language against its follow row
        # and the public statuses carrying a hashtag they follow, by the tag index (a boost
        # carries no tags; no other test here that SQLite could read by another index)
        tagged = col(Status.id).in_(select(StatusTag.status_id).where(
            col(StatusTag.tag_id).in_(followed_tag_ids(viewer_id))))
        author_test = ((col(Status.account_id) == viewer_id)
                       | (col(Status.account_id).in_(followees) & followed)
                       | (follows_any(viewer_id) & tagged & (col(Status.visibility) == "public")))
    else:
        author_test = (author == viewer_id) | followed | carries_followed_tag(viewer_id)
    # a boost of a status from a blocked server: tested only for those who block one
    boosted = aliased(Status)
    boosted_author = select(boosted.account_id).where(boosted.id == Status.reblog_of_id)
    shown_boost = (blocks_none(viewer_id) | col(Status.reblog_of_id).is_(None)
                   | boosted_author.scalar_subquery().not_in(blocked_accounts(viewer_id)))
    return select(Status).where(
        author_test,
        ~col(Status.account_id).in_(hidden), _live(),
        (col(Status.visibility) != "direct") | (col(Status.account_id) == viewer_id)
        | mentioned,
        col(Status.pending).is_(False) | (col(Status.account_id) == viewer_id),
        _boost_live(), shown_boost,
    )


# The `*_rows` statements are built once per shape, with parameters: building a statement
# costs far more than running it on an indexed page.
_VIEWER = sa.bindparam("viewer", type_=sa.BigInteger)
_TAG = sa.bindparam("tag", type_=sa.BigInteger)
_NOW = sa.bindparam("now", type_=Mute.__table__.c.expires_at.type)  # type: ignore[attr-defined]


def _shape(window: Window) -> tuple[bool, bool, bool]:
    return window.max_id is not None, window.since_id is not None, window.min_id is not None


def _windowed(query: sa.Select, shape: tuple[bool, bool, bool]) -> sa.Select:  # type: ignore[type-arg]
    """`query` as Core rows of the statuses table, in a window of parameters."""
    core = query.with_only_columns(*Status.__table__.c)  # type: ignore[attr-defined]
    has_max, has_since, has_min = shape
    window = Window(sa.bindparam("limit", type_=sa.Integer),  # type: ignore[arg-type]
                    *(sa.bindparam(name, type_=sa.BigInteger) if given else None
                      for name, given in (("max_id", has_max), ("since_id", has_since),
                                          ("min_id", has_min))))
    return windowed(core, col(Status.id), window)  # type: ignore[no-any-return]


def _rows(conn: sa.Connection, statement: sa.Select, window: Window,  # type: ignore[type-arg]
          **values: Any) -> list[Any]:
    """Rows of the statuses table, as the driver gives them (`models.related.status_rows`)."""
    rows = status_rows(conn, fetch(conn, statement, {
        "limit": window.limit, "max_id": window.max_id, "since_id": window.since_id,
        "min_id": window.min_id, **values}))
    return rows[::-1] if window.min_id is not None else rows


SCAN_BUDGET = 2000  # newest statuses a home page reads by id before asking by author
FLOOR_TTL = 1.0  # seconds a process reuses the id SCAN_BUDGET statuses down from the newest
SPARSE_SHARE = 4  # a page read by id fills less than 1/SPARSE_SHARE: read by followee


@lru_cache(maxsize=16)
def _home_statement(shape: tuple[bool, bool, bool], by_author: bool = False
                    ) -> sa.Select:  # type: ignore[type-arg]
    query = _home(_VIEWER, _NOW, by_author=by_author)
    if not by_author:  # no further down than about SCAN_BUDGET statuses below the window's top
        if shape[0]:
            newest = select(Status.id).order_by(col(Status.id).desc()).offset(
                sa.bindparam("scan", type_=sa.Integer)).limit(1).where(
                col(Status.id) < sa.bindparam("max_id", type_=sa.BigInteger))
            floor: Any = sa.func.coalesce(newest.scalar_subquery(), 0)
        else:
            floor = sa.bindparam("floor", type_=sa.BigInteger)
        query = query.where(col(Status.id) >= floor)
    return _windowed(query, shape)


@lru_cache(maxsize=8)
def _home_by_followee(shape: tuple[bool, bool, bool]) -> sa.Select:  # type: ignore[type-arg]
    """By author, one at a time (the viewer and each followee): each one's newest statuses
    in the window through the index on (account_id, id), a page of each at most, then the
    newest of them all. At most followees × limit rows whatever the table holds: for a
    sparse timeline, where reading by id (or PostgreSQL's plan for `by_author`, which reads
    by id testing each author) goes through most of the table. Not for `min_id` windows."""
    assert not shape[2]
    authors = sa.union_all(
        select(col(Follow.target_account_id).label("author")).where(
            Follow.account_id == _VIEWER, Follow.state == "accepted"),
        sa.select(_VIEWER.label("author"))).subquery("authors")
    each = _windowed(_home(_VIEWER, _NOW, by_author=True).where(
        col(Status.account_id) == authors.c.author), shape).lateral("each")
    # and each followed hashtag's newest statuses through the index on (tag_id, status_id);
    # `UNION` drops a status found twice (a followee's, or one carrying two such tags)
    tags = followed_tag_ids(_VIEWER).subquery("tags")
    tagged = _windowed(_home(_VIEWER, _NOW, by_author=True).join(
        StatusTag, col(StatusTag.status_id) == Status.id).where(
        col(StatusTag.tag_id) == tags.c.tag_id), shape).lateral("tagged")
    found = sa.union(sa.select(*each.c).select_from(authors.join(each, sa.true())),
                     sa.select(*tagged.c).select_from(tags.join(tagged, sa.true()))).subquery()
    return (sa.select(*found.c).order_by(found.c.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer)))


_FLOORS: weakref.WeakKeyDictionary[sa.Engine, tuple[float, int]] = weakref.WeakKeyDictionary()
_FLOOR = select(Status.id).order_by(col(Status.id).desc()).offset(SCAN_BUDGET).limit(1)


def _scan_floor(conn: sa.Connection) -> int:
    """The id SCAN_BUDGET statuses below the newest, as read at most FLOOR_TTL ago. Any
    floor gives the same pages (a page it leaves short is read by author), so an old one
    only makes a page read the few statuses posted since."""
    now = time.monotonic()
    found = _FLOORS.get(conn.engine)
    if found is not None and now - found[0] < FLOOR_TTL:
        return found[1]
    floor = conn.execute(_FLOOR).scalar() or 0
    _FLOORS[conn.engine] = (now, floor)
    return floor


async def home(session: AsyncSession, viewer_id: int, window: Window) -> list[Status]:
    return await page(session, _home(viewer_id, utcnow()), col(Status.id), window)


def home_rows(conn: sa.Connection, viewer_id: int, window: Window,
              now: datetime | None = None) -> list[Any]:
    """The home timeline's window, as rows of the statuses table: read by id through the
    newest statuses (a dense timeline fills its page there), else by author, so a sparse
    one never reads the whole table."""
    shape, values = _shape(window), {"viewer": viewer_id, "now": now or utcnow()}
    if window.min_id is None:
        bound = {"scan": SCAN_BUDGET} if shape[0] else {"floor": _scan_floor(conn)}
        rows = _rows(conn, _home_statement(shape), window, **bound, **values)
        if len(rows) == window.limit:
            return rows
    return _rows(conn, _home_statement(shape, by_author=True), window, **values)


# ---- the home page in one statement (PostgreSQL) ----
# On a database server each statement is a round trip, and CPU to send it and read its
# answer: a home page is its statuses and all they show (what `models.related.load_raw_page`
# reads) in one statement. Each row is a kind, then four columns of an edge (mentions,
# tags, the viewer's marks: `models.related._edges`), a medium's, an account's and a
# status's, NULL where not of its kind. The page's statuses ("page") and those they boost
# ("boosted") come with their authors; each account mentioned is a row of its own
# ("account"). Few wide branches: each costs PostgreSQL its width to set up on every run.
_EDGE_NULLS = [sa.cast(sa.null(), t) for t in (sa.BigInteger, sa.BigInteger, sa.Text,
                                                sa.BigInteger)]


def _nulls(columns: Any) -> list[Any]:
    return [sa.cast(sa.null(), c.type) for c in columns]


@lru_cache(maxsize=16)
def _home_page_statement(shape: tuple[bool, bool, bool], by_author: bool = False,
                         by_followee: bool = False) -> sa.CompoundSelect:
    s = Status.__table__.c  # type: ignore[attr-defined]
    accounts = Account.__table__  # type: ignore[attr-defined]
    media = MediaAttachment.__table__  # type: ignore[attr-defined]
    page = (_home_by_followee(shape) if by_followee
            else _home_statement(shape, by_author)).cte("page")
    boosted = sa.select(*Status.__table__.c).where(  # type: ignore[attr-defined]
        s.id.in_(select(page.c.reblog_of_id)), s.id.not_in(select(page.c.id))).cte("boosted")
    shown = sa.union_all(sa.select(page.c.id), sa.select(boosted.c.id)).subquery()
    listed = sa.select(sa.func.array_agg(shown.c.id).label("ids")).cte("shown_ids")
    # cast: `= ANY ((SELECT ...))` would read as a subquery of rows, not as one array
    ids = sa.cast(sa.select(listed.c.ids).scalar_subquery(), ARRAY(sa.BigInteger))
    no_media, no_account = _nulls(MEDIA_COLUMNS), _nulls(ACCOUNT_COLUMNS)
    no_status = _nulls(Status.__table__.c)  # type: ignore[attr-defined]
    author = [accounts.c[c.name] for c in ACCOUNT_COLUMNS]
    text = sa.cast(sa.null(), sa.Text)
    # the edges as one narrow union, padded once
    narrow: list[Any] = [
        sa.select(sa.literal("mention"), Mention.status_id, Mention.account_id, text, Mention.id)
        .where(col(Mention.status_id) == sa.any_(ids)),
        sa.select(sa.literal("tag"), StatusTag.status_id, Tag.id, Tag.name, StatusTag.id)
        .join(Tag, col(Tag.id) == StatusTag.tag_id).where(col(StatusTag.status_id) == sa.any_(ids)),
    ]
    for name, table in (("favourited", Favourite), ("bookmarked", Bookmark), ("pinned", Pin)):
        narrow.append(sa.select(sa.literal(name), table.status_id, sa.literal(0, sa.BigInteger),
                                text, table.id)
                      .where(table.account_id == _VIEWER, col(table.status_id) == sa.any_(ids)))
    narrow.append(sa.select(sa.literal("reblogged"), s.reblog_of_id, sa.literal(0, sa.BigInteger),
                            text, s.id)
                  .where(s.account_id == _VIEWER, s.reblog_of_id == sa.any_(ids)))
    narrow.append(muted_edge(s.id == sa.any_(ids)))
    edges = sa.union_all(*narrow).subquery("edges")
    # the page's statuses, those they boost and the accounts mentioned (as rows of no status
    # but the account's id), each with its account: one join for them all
    mentioned = list(no_status)
    at = [c.name for c in Status.__table__.c].index("account_id")  # type: ignore[attr-defined]
    mentioned[at] = Mention.account_id
    shown_rows = sa.union_all(
        sa.select(sa.literal("page").label("kind"), *page.c),
        sa.select(sa.literal("boosted"), *boosted.c),
        sa.select(sa.literal("account"), *mentioned).where(col(Mention.status_id) == sa.any_(ids)),
    ).subquery("shown_rows")
    status_columns = [shown_rows.c[c.name] for c in page.c]
    return sa.union_all(
        sa.select(*edges.c, *no_media, *no_account, *no_status),
        sa.select(sa.literal("media"), *_EDGE_NULLS, *MEDIA_COLUMNS, *no_account, *no_status)
        .where(media.c.status_id == sa.any_(ids)),
        sa.select(shown_rows.c.kind, *_EDGE_NULLS, *no_media, *author, *status_columns)
        .select_from(shown_rows.outerjoin(accounts, accounts.c.id == shown_rows.c.account_id)))


def home_page(conn: sa.Connection, viewer_id: int, window: Window,
              now: datetime | None = None) -> tuple[list[Any], Related]:
    """`home_rows` and `load_raw_page` of them, for the viewer: on PostgreSQL in one
    statement (two when a page read by id comes out short: then by followee)."""
    if conn.dialect.name != "postgresql" or not raw_driver(conn):
        rows = home_rows(conn, viewer_id, window, now)
        return rows, load_raw_page(conn, rows, viewer_id)
    shape, values = _shape(window), {"viewer": viewer_id, "now": now or utcnow(),
                                     "limit": window.limit, "max_id": window.max_id,
                                     "since_id": window.since_id, "min_id": window.min_id}
    if window.min_id is None:
        bound = {"scan": SCAN_BUDGET} if shape[0] else {"floor": _scan_floor(conn)}
        found = _split_page(conn, fetch(conn, _home_page_statement(shape), values | bound),
                            viewer_id)
        if len(found[0]) == window.limit:
            return found
        # by id past the scan, testing each author, while they are not too few among the
        # newest statuses (a quarter page in SCAN_BUDGET); else one followee at a time
        sparse = len(found[0]) * SPARSE_SHARE < window.limit
        statement = _home_page_statement(shape, by_author=True, by_followee=sparse)
    else:
        statement = _home_page_statement(shape, by_author=True)
    return _split_page(conn, fetch(conn, statement, values), viewer_id)


def _split_page(conn: sa.Connection, rows: list[Any], viewer_id: int
                ) -> tuple[list[Any], Related]:
    """The page (newest first) and its `Related`, from the rows of `_home_page_statement`
    (what `models.related.load_raw_page` makes of its own rows)."""
    page: list[Any] = []
    related = Related(viewer=ViewerState(viewer_id))
    if not rows:
        return page, related
    media_at = EDGE_WIDTH
    account_at = media_at + len(MEDIA_COLUMNS)
    status_at = account_at + len(ACCOUNT_COLUMNS)
    statuses, accounts = related.statuses, related.accounts
    media: dict[int, list[Any]] = defaultdict(list)
    edges = []
    for row in rows:
        kind = row[0]
        if row[account_at] is not None:  # an author, or an account mentioned
            account = AccountRow._make(row[account_at:status_at])
            accounts[account.id] = account
        if kind == "page" or kind == "boosted":
            status = StatusRow._make(row[status_at:])
            statuses[status.id] = status
            if kind == "page":
                page.append(status)
        elif kind == "media":
            media[row[media_at + 1]].append(MediaRow._make(row[media_at:account_at]))
        elif kind != "account":
            edges.append(row[:EDGE_WIDTH])
    for found in media.values():
        found.sort(key=lambda m: (m.position, m.id))
    related.media = media
    page.sort(key=lambda s: s.id, reverse=True)
    attach_mentions(related, apply_edges(related, edges))
    attach_votes(conn, related)
    attach_apps(conn, related)
    return page, related


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
    if where.silenced:
        query = query.where(~col(Status.account_id).in_(silenced_unfollowed(
            viewer_id, list(where.silenced))))
    return query


async def public(session: AsyncSession, viewer_id: int | None, where: PublicFilter,
                 window: Window) -> list[Status]:
    """Public statuses (not boosts), local or remote or both."""
    return await page(session, _public(viewer_id, where), col(Status.id), window)


@lru_cache(maxsize=64)
def _public_statement(anonymous: bool, where: PublicFilter, shape: tuple[bool, bool, bool],
                      tagged: bool = False) -> sa.Select:  # type: ignore[type-arg]
    query = _public(None if anonymous else _VIEWER, where)
    if tagged:
        query = query.where(col(Status.id).in_(
            select(StatusTag.status_id).where(StatusTag.tag_id == _TAG)))
    return _windowed(query, shape)


def public_rows(conn: sa.Connection, viewer_id: int | None, where: PublicFilter,
                window: Window) -> list[Any]:
    statement = _public_statement(viewer_id is None, where, _shape(window))
    return _rows(conn, statement, window, viewer=viewer_id)


def _tag_id(name: str) -> sa.Select:  # type: ignore[type-arg]
    return select(Tag.id).where(sa.func.lower(Tag.name) == name.lower())


def _tagged(tag_id: int, viewer_id: int | None, where: PublicFilter) -> sa.Select:  # type: ignore[type-arg]
    in_tag = select(StatusTag.status_id).where(StatusTag.tag_id == tag_id)
    return _public(viewer_id, where).where(col(Status.id).in_(in_tag))


async def tagged(session: AsyncSession, name: str, viewer_id: int | None, where: PublicFilter,
                 window: Window) -> list[Status]:
    """Public statuses carrying hashtag `name` (any letter case)."""
    tag_id = (await session.exec(_tag_id(name))).first()
    if tag_id is None:
        return []
    return await page(session, _tagged(tag_id, viewer_id, where), col(Status.id), window)


def tagged_rows(conn: sa.Connection, name: str, viewer_id: int | None, where: PublicFilter,
                window: Window) -> list[Any]:
    tag_id = conn.execute(_tag_id(name)).scalar()
    if tag_id is None:
        return []
    statement = _public_statement(viewer_id is None, where, _shape(window), tagged=True)
    return _rows(conn, statement, window, viewer=viewer_id, tag=tag_id)


def _listed(list_id: Any, viewer_id: Any, now: Any, replies_policy: str
            ) -> sa.Select:  # type: ignore[type-arg]
    """A list's timeline, as Mastodon's list feed: its members' statuses and boosts (boosts
    as their follow shows them) and the owner's own, without whom the owner mutes or blocks
    (or whose server they block) or who blocks them; a direct status only when it is theirs
    or names them. A reply to another shows when it answers the owner, or by
    `replies_policy`: one they follow (`followed`), a member (`list`), no one else (`none`).

    Read through the members' statuses (the account index): a list is a few accounts."""
    members = select(ListAccount.account_id).where(ListAccount.list_id == list_id)
    as_followed = sa.exists().where(ListAccount.list_id == list_id,
                                    ListAccount.account_id == Status.account_id,
                                    Follow.id == ListAccount.follow_id,
                                    col(Status.reblog_of_id).is_(None) | col(Follow.show_reblogs))
    answered = col(Status.in_reply_to_account_id)
    reply_shown = [col(Status.in_reply_to_id).is_(None), answered == col(Status.account_id),
                   answered == viewer_id]
    if replies_policy == "followed":
        reply_shown += [answered.is_(None), sa.exists().where(
            Follow.account_id == viewer_id, Follow.target_account_id == answered,
            Follow.state == "accepted")]
    elif replies_policy == "list":
        reply_shown.append(sa.exists().where(ListAccount.list_id == list_id,
                                             ListAccount.account_id == answered))
    mentioned = sa.exists().where(Mention.status_id == Status.id, Mention.account_id == viewer_id)
    own = col(Status.account_id) == viewer_id
    return select(Status).where(
        col(Status.account_id).in_(sa.union_all(members, sa.select(viewer_id))),
        own | as_followed, sa.or_(*reply_shown),
        ~col(Status.account_id).in_(muted_by(viewer_id, now)), not_blocked(viewer_id),
        _live(), (col(Status.visibility) != "direct") | own | mentioned,
        col(Status.pending).is_(False) | own, _boost_live())


_LIST = sa.bindparam("list", type_=sa.BigInteger)


@lru_cache(maxsize=32)
def _list_statement(replies_policy: str, shape: tuple[bool, bool, bool]
                    ) -> sa.Select:  # type: ignore[type-arg]
    return _windowed(_listed(_LIST, _VIEWER, _NOW, replies_policy), shape)


def list_rows(conn: sa.Connection, found: List, window: Window) -> list[Any]:
    """The timeline of the list `found`, for its owner, as rows of the statuses table."""
    return _rows(conn, _list_statement(found.replies_policy, _shape(window)), window,
                 list=found.id, viewer=found.account_id, now=utcnow())


async def listed(session: AsyncSession, found: List, window: Window) -> list[Status]:
    """The timeline of the list `found`, for its owner, as ORM statuses."""
    query = _listed(found.id, sa.literal(found.account_id, sa.BigInteger), utcnow(),
                    found.replies_policy)
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
