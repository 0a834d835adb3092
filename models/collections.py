"""Queries behind the served collections: follows, outbox, pins, replies and tags.

Pages go newest first by row id; `max_id` pages are keyset pages, `offset` pages number them.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Follow, MediaAttachment, Pin, Status, StatusTag, Tag

Direction = Literal["followers", "following"]
OPEN_VISIBILITIES = ("public", "unlisted")


def _follow_side(direction: Direction, account_id: int):  # type: ignore[no-untyped-def]
    """(the column naming `account_id`, the column naming the other side) of accepted follows."""
    if direction == "followers":
        return Follow.target_account_id, Follow.account_id
    return Follow.account_id, Follow.target_account_id


async def count_follows(session: AsyncSession, account_id: int, direction: Direction) -> int:
    mine, _ = _follow_side(direction, account_id)
    query = select(sa.func.count()).select_from(Follow).where(mine == account_id, Follow.state == "accepted")
    return int((await session.exec(query)).one())


async def follows_page(
    session: AsyncSession, account_id: int, direction: Direction, *,
    limit: int, max_id: int | None = None, offset: int = 0,
) -> list[tuple[Follow, Account]]:
    """Accepted follows of one side with the account on the other side, newest first."""
    mine, other = _follow_side(direction, account_id)
    query = (
        select(Follow, Account).join(Account, col(Account.id) == other)
        .where(mine == account_id, Follow.state == "accepted")
    )
    if max_id is not None:
        query = query.where(Follow.id < max_id)
    query = query.order_by(Follow.id.desc()).offset(offset).limit(limit)  # type: ignore[attr-defined]
    return [(follow, account) for follow, account in (await session.exec(query)).all()]


def _outbox_of(account_id: int):  # type: ignore[no-untyped-def]
    return (
        (Status.account_id == account_id)
        & Status.visibility.in_(OPEN_VISIBILITIES)  # type: ignore[attr-defined]
        & Status.deleted_at.is_(None)  # type: ignore[union-attr]
        & sa.not_(Status.pending)
    )


async def count_outbox(session: AsyncSession, account_id: int) -> int:
    query = select(sa.func.count()).select_from(Status).where(_outbox_of(account_id))
    return int((await session.exec(query)).one())


async def outbox_page(
    session: AsyncSession, account_id: int, *, limit: int,
    max_id: int | None = None, min_id: int | None = None,
) -> list[Status]:
    """Public and unlisted statuses and boosts, newest first, between the ids given."""
    query = select(Status).where(_outbox_of(account_id))
    if max_id is not None:
        query = query.where(Status.id < max_id)
    if min_id is not None:  # the page just above min_id: read upwards, then turn around
        query = query.where(Status.id > min_id).order_by(Status.id.asc())  # type: ignore[attr-defined]
        rows = list((await session.exec(query.limit(limit))).all())
        return rows[::-1]
    query = query.order_by(Status.id.desc()).limit(limit)  # type: ignore[attr-defined]
    return list((await session.exec(query)).all())


async def statuses_with_authors(session: AsyncSession, ids: list[int]) -> dict[int, tuple[Status, Account]]:
    """Statuses by id, each with its author (boosted originals, for one outbox page)."""
    if not ids:
        return {}
    query = select(Status, Account).join(Account, col(Account.id) == Status.account_id).where(
        Status.id.in_(ids))  # type: ignore[attr-defined]
    return {status.id: (status, author) for status, author in (await session.exec(query)).all()}


async def pinned_statuses(session: AsyncSession, account_id: int, *, limit: int = 20) -> list[Status]:
    """Featured statuses anyone may see, most recently pinned first."""
    query = (
        select(Status).join(Pin, col(Pin.status_id) == Status.id)
        .where(Pin.account_id == account_id, _outbox_of(account_id), Status.reblog_of_id.is_(None))  # type: ignore[union-attr]
        .order_by(Pin.id.desc()).limit(limit)  # type: ignore[attr-defined]
    )
    return list((await session.exec(query)).all())


async def public_replies_page(
    session: AsyncSession, status_id: int, *, limit: int, min_id: int | None = None,
) -> list[Status]:
    """Public and unlisted replies to a status, oldest first, after `min_id`."""
    query = select(Status).where(
        Status.in_reply_to_id == status_id,
        Status.visibility.in_(OPEN_VISIBILITIES),  # type: ignore[attr-defined]
        Status.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    if min_id is not None:
        query = query.where(Status.id > min_id)
    query = query.order_by(Status.id.asc()).limit(limit)  # type: ignore[attr-defined]
    return list((await session.exec(query)).all())


async def public_tagged(session: AsyncSession, name: str, *, limit: int = 20) -> list[tuple[Status, Account]]:
    """Local public statuses carrying the hashtag `name`, newest first."""
    query = (
        select(Status, Account)
        .join(StatusTag, col(StatusTag.status_id) == Status.id)
        .join(Tag, col(Tag.id) == StatusTag.tag_id)
        .join(Account, col(Account.id) == Status.account_id)
        .where(sa.func.lower(Tag.name) == name.lower(), Status.local.is_(True),  # type: ignore[attr-defined]
               Status.visibility == "public", Status.deleted_at.is_(None))  # type: ignore[union-attr]
        .order_by(Status.id.desc()).limit(limit)  # type: ignore[attr-defined]
    )
    return [(status, author) for status, author in (await session.exec(query)).all()]


async def local_status(session: AsyncSession, username: str, status_id: int) -> tuple[Status, Account] | None:
    """A local status (deleted or not) with its author, when `username` wrote it."""
    query = (
        select(Status, Account).join(Account, col(Account.id) == Status.account_id)
        .where(Status.id == status_id, Status.local.is_(True), Account.kind == "person",  # type: ignore[attr-defined]
               sa.func.lower(Account.username) == username.lower(), Account.domain == "")
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row is not None else None


async def media_of(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    """A status's attachments in their order."""
    query = select(MediaAttachment).where(MediaAttachment.status_id == status_id).order_by(
        MediaAttachment.position, MediaAttachment.id)  # type: ignore[arg-type]
    return list((await session.exec(query)).all())
