"""Direct conversations of an account, as Mastodon's conversations API lists them.

A conversation is read from the statuses themselves: the live direct statuses the account
wrote or is mentioned in, grouped by `statuses.conversation` (a status without one stands
alone). Nothing is written when a direct status is stored; `ConversationMark` keeps only what
the account did: read up to a status, hid up to a status. So a newer message from someone
else makes a conversation unread again, and shows a hidden one again.

A conversation's id is the id of its first such status, deleted or not (statuses are only
soft-deleted, so the id stays when the first message goes); its pages go by its last shown
status's id. Statuses of whom the account blocks or mutes, or who block it, are not shown:
they neither make a conversation, nor show it again, nor make it unread (until unblocked or
unmuted: it is all read at request time).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.status_queries import Window, muted_by, not_blocked
from models.tables import ConversationMark, Mention, Mute, Status
from models.types import utcnow


@dataclass(frozen=True)
class Conversation:
    id: int  # its first status, deleted or not
    key: str
    last_status_id: int
    unread: bool


def _key() -> sa.ColumnElement[str]:
    return sa.func.coalesce(col(Status.conversation), col(Status.uri))


_ME = sa.bindparam("me", type_=sa.BigInteger)
_NOW = sa.bindparam("now", type_=Mute.__table__.c.expires_at.type)  # type: ignore[attr-defined]


def _direct_of_me() -> sa.ColumnElement[bool]:
    """The direct statuses the account `:me` wrote or is mentioned in, deleted ones too."""
    mentioned = select(Mention.status_id).where(Mention.account_id == _ME)
    return sa.and_(
        col(Status.visibility) == "direct",
        sa.or_(col(Status.account_id) == _ME,
               col(Status.id).in_(mentioned) & col(Status.pending).is_(False)))


def _visible() -> sa.ColumnElement[bool]:
    """Of those, the live ones whose author `:me` neither blocks nor mutes (as the home
    timeline does, `:now` the time), nor is blocked by."""
    return sa.and_(col(Status.deleted_at).is_(None), not_blocked(_ME),  # type: ignore[arg-type]
                   ~col(Status.account_id).in_(muted_by(_ME, _NOW)))


def _params(account_id: int) -> dict[str, object]:
    return {"me": account_id, "now": utcnow()}


@functools.cache
def _listing() -> sa.Select:
    """The shown conversations of `:me` (built once: building it costs more than running it
    on a small inbox). One without a shown status has no `last_id` and drops out."""
    key = _key().label("key")
    shown_id = sa.case((_visible(), col(Status.id)), else_=None)
    grouped = (sa.select(key, sa.func.min(Status.id).label("first_id"),
                         sa.func.max(shown_id).label("last_id"))
               .where(_direct_of_me()).group_by(key).subquery("grouped"))
    last = Status.__table__.alias("last")  # type: ignore[attr-defined]
    mark = ConversationMark.__table__.alias("mark")  # type: ignore[attr-defined]
    unread = sa.and_(last.c.account_id != _ME,
                     grouped.c.last_id > sa.func.coalesce(mark.c.read_up_to, 0))
    return (sa.select(grouped.c.first_id, grouped.c.key, grouped.c.last_id,
                      sa.case((unread, sa.true()), else_=sa.false()).label("unread"))
            .join(last, last.c.id == grouped.c.last_id)
            .outerjoin(mark, sa.and_(mark.c.account_id == _ME,
                                     mark.c.conversation == grouped.c.key))
            .where(grouped.c.last_id > sa.func.coalesce(mark.c.hidden_up_to, 0)))


@functools.cache
def _key_of_status(shown: bool) -> sa.Select:
    query = sa.select(_key()).where(col(Status.id) == sa.bindparam("status_id"),
                                    _direct_of_me())
    return query.where(_visible()) if shown else query


def _of(rows: list[sa.Row]) -> list[Conversation]:
    return [Conversation(int(r[0]), r[1], int(r[2]), bool(r[3])) for r in rows]


def page(conn: sa.Connection, account_id: int, window: Window) -> list[Conversation]:
    """A page of the account's shown conversations, the latest message first."""
    query = _listing()
    last_id = query.selected_columns.last_id
    if window.max_id is not None:
        query = query.where(last_id < window.max_id)
    if window.since_id is not None:
        query = query.where(last_id > window.since_id)
    newest = window.min_id is None  # else the oldest after min_id, shown newest first
    if not newest:
        query = query.where(last_id > window.min_id)
    query = query.order_by(last_id.desc() if newest else last_id.asc()).limit(window.limit)
    rows = _of(list(conn.execute(query, _params(account_id)).all()))
    return rows if newest else rows[::-1]


async def _shown(session: AsyncSession, account_id: int, status_id: int,
                 first: bool) -> Conversation | None:
    me = _params(account_id)
    # by its first status (it may be deleted), or by a status that is shown now
    key = (await session.exec(_key_of_status(not first),
                              params={**me, "status_id": status_id})).first()
    if key is None:
        return None
    query = _listing()
    query = query.where(query.selected_columns.key == key[0])
    if first:
        query = query.where(query.selected_columns.first_id == status_id)
    found = _of(list((await session.exec(query, params=me)).all()))
    return found[0] if found else None


async def conversation(session: AsyncSession, account_id: int, conversation_id: int
                       ) -> Conversation | None:
    """The account's shown conversation `conversation_id`, or None."""
    return await _shown(session, account_id, conversation_id, first=True)


async def conversation_of_status(session: AsyncSession, account_id: int, status_id: int
                                 ) -> Conversation | None:
    """The account's shown conversation holding the direct status `status_id`, or None."""
    return await _shown(session, account_id, status_id, first=False)


async def mark(session: AsyncSession, account_id: int, found: Conversation, *,
               hide: bool = False) -> None:
    """Mark `found` read up to its last status (and hidden up to it with `hide`); the caller
    commits."""
    for _attempt in range(2):  # a concurrent first mark wins the insert; then update it
        row = (await session.exec(select(ConversationMark).where(
            ConversationMark.account_id == account_id,
            ConversationMark.conversation == found.key))).first()
        if row is None:
            row = ConversationMark(account_id=account_id, conversation=found.key)
        row.read_up_to = max(row.read_up_to, found.last_status_id)
        if hide:
            row.hidden_up_to = max(row.hidden_up_to, found.last_status_id)
        row.updated_at = utcnow()
        try:
            async with session.begin_nested():
                session.add(row)
            return
        except IntegrityError:
            continue
    raise IntegrityError("conversation mark", None, Exception("changed meanwhile"))
