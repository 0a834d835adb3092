"""Reading statuses for a viewer: one status, a thread, who favourited or boosted it,
its past versions, and the idempotency keys of posting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import blocks, may_see
from models.domain_blocks import blocked_accounts
from models.tables import (
    Account,
    Block,
    Favourite,
    Follow,
    IdempotencyKey,
    MediaAttachment,
    Mention,
    Mute,
    Status,
    StatusEdit,
)
from models.types import utcnow

IDEMPOTENCY_WINDOW = timedelta(hours=1)
THREAD_LIMIT = 4096  # statuses of a context, each way


def visible_to(viewer_id: int | None) -> sa.ColumnElement[bool]:
    """The SQL form of `models.audience.may_see`, for lists of statuses."""
    published = col(Status.pending).is_(False)
    open_ = col(Status.visibility).in_(("public", "unlisted")) & published
    if viewer_id is None:
        return open_
    followed = select(Follow.target_account_id).where(
        Follow.account_id == viewer_id, Follow.state == "accepted")
    mentioned = select(Mention.status_id).where(Mention.account_id == viewer_id)
    return sa.or_(
        open_, col(Status.account_id) == viewer_id,
        (col(Status.visibility) == "private") & col(Status.account_id).in_(followed) & published,
        col(Status.id).in_(mentioned) & published,
    )


def not_blocked(viewer_id: int | None) -> sa.ColumnElement[bool]:
    """Statuses of neither whom the viewer blocks, nor who blocks the viewer, nor accounts
    of a server the viewer blocks."""
    if viewer_id is None:
        return sa.true()
    blocked = select(Block.target_account_id).where(Block.account_id == viewer_id)
    blockers = select(Block.account_id).where(Block.target_account_id == viewer_id)
    hidden = sa.union_all(blocked, blockers, blocked_accounts(viewer_id))
    return ~col(Status.account_id).in_(hidden)


def muted_by(viewer_id: Any, now: Any) -> Any:
    """Whom `viewer_id` mutes at `now`: mutes with no end, and those ending later."""
    return select(Mute.target_account_id).where(
        Mute.account_id == viewer_id,
        col(Mute.expires_at).is_(None) | (col(Mute.expires_at) > now))


async def visible_status(session: AsyncSession, status_id: int, viewer: Account | None
                         ) -> Status | None:
    """The live status `status_id` if `viewer` may see it (its author does not block them)."""
    status = await session.get(Status, status_id)
    if status is None or status.deleted_at is not None:
        return None
    if not await may_see(session, status, viewer):
        return None
    if viewer is not None and await blocks(session, status.account_id, viewer.id):
        return None
    return status


async def own_status(session: AsyncSession, status_id: int, account: Account) -> Status | None:
    status = await session.get(Status, status_id)
    if status is None or status.deleted_at is not None or status.account_id != account.id:
        return None
    return status


async def _thread(session: AsyncSession, start: sa.ColumnElement[bool], step: str,
                  viewer_id: int | None) -> list[Status]:
    """Statuses reached from `start` by following `step` ('up' to parents, 'down' to replies)."""
    seed = select(col(Status.id), col(Status.in_reply_to_id)).where(start)
    walk = seed.cte("thread", recursive=True)
    parent = col(Status.id) == walk.c.in_reply_to_id
    child = col(Status.in_reply_to_id) == walk.c.id
    walk = walk.union(select(col(Status.id), col(Status.in_reply_to_id))
                      .join(walk, parent if step == "up" else child))
    query = (select(Status).where(col(Status.id).in_(select(walk.c.id)),
                                  col(Status.deleted_at).is_(None),
                                  visible_to(viewer_id), not_blocked(viewer_id))
             .order_by(col(Status.created_at), col(Status.id)).limit(THREAD_LIMIT))
    return list((await session.exec(query)).all())


async def thread_of(session: AsyncSession, status: Status, viewer_id: int | None
                    ) -> tuple[list[Status], list[Status]]:
    """(ancestors oldest first, descendants in the order they were posted)."""
    ancestors: list[Status] = []
    if status.in_reply_to_id is not None:
        ancestors = await _thread(session, col(Status.id) == status.in_reply_to_id, "up", viewer_id)
    descendants = await _thread(session, col(Status.in_reply_to_id) == status.id, "down",
                                viewer_id)
    return ancestors, [s for s in descendants if s.id != status.id]


@dataclass(frozen=True)
class Window:
    """A page of rows by id: below max_id, above since_id or min_id (min_id reads upward)."""

    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None


def windowed(query: Any, id_column: Any, window: Window) -> Any:
    if window.max_id is not None:
        query = query.where(id_column < window.max_id)
    if window.since_id is not None:
        query = query.where(id_column > window.since_id)
    if window.min_id is not None:
        return query.where(id_column > window.min_id).order_by(id_column.asc()).limit(window.limit)
    return query.order_by(id_column.desc()).limit(window.limit)


async def page(session: AsyncSession, query: Any, id_column: Any, window: Window) -> list[Any]:
    """Rows of `query` in the window, newest first."""
    rows = list((await session.exec(windowed(query, id_column, window))).all())
    return rows[::-1] if window.min_id is not None else rows


async def favourited_by(session: AsyncSession, status_id: int, window: Window
                        ) -> list[tuple[int, Account]]:
    """(favourite id, account) of who favourited the status, newest first."""
    query = select(Favourite.id, Account).join(Account, col(Account.id) == Favourite.account_id) \
        .where(Favourite.status_id == status_id)
    return await page(session, query, col(Favourite.id), window)


async def reblogged_by(session: AsyncSession, status_id: int, window: Window
                       ) -> list[tuple[int, Account]]:
    """(boost id, account) of who boosted the status, newest first."""
    query = select(Status.id, Account).join(Account, col(Account.id) == Status.account_id) \
        .where(Status.reblog_of_id == status_id, col(Status.deleted_at).is_(None))
    return await page(session, query, col(Status.id), window)


async def edits_of(session: AsyncSession, status_id: int) -> list[StatusEdit]:
    """Past versions of a status, oldest first."""
    query = select(StatusEdit).where(StatusEdit.status_id == status_id).order_by(col(StatusEdit.id))
    return list((await session.exec(query)).all())


async def media_by_id(session: AsyncSession, ids: list[int]) -> dict[int, MediaAttachment]:
    if not ids:
        return {}
    query = select(MediaAttachment).where(col(MediaAttachment.id).in_(ids))
    return {m.id: m for m in (await session.exec(query)).all()}


async def idempotent_status(session: AsyncSession, account_id: int, key: str) -> Status | None:
    """The status posted with `key` by the account within the last hour, if any."""
    since = utcnow() - IDEMPOTENCY_WINDOW
    query = select(Status).join(IdempotencyKey, col(IdempotencyKey.status_id) == Status.id).where(
        IdempotencyKey.account_id == account_id, IdempotencyKey.key == key,
        col(IdempotencyKey.created_at) > since)
    return (await session.exec(query)).first()


async def remember_key(session: AsyncSession, account_id: int, key: str, status_id: int) -> None:
    """Keep `key` for the status just posted (replacing an expired one); commits."""
    await session.exec(sa.delete(IdempotencyKey).where(  # type: ignore[call-overload]
        col(IdempotencyKey.account_id) == account_id, col(IdempotencyKey.key) == key))
    session.add(IdempotencyKey(account_id=account_id, key=key, status_id=status_id))
    try:
        await session.commit()
    except IntegrityError:  # the same key raced in from another request
        await session.rollback()
