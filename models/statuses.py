"""Queries on statuses, and inserting one whose id another row may hold."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ids import id_above, id_at
from models.tables import Status

_ID_ATTEMPTS = 64  # a clash needs another process in the same millisecond: a few at most

_PUBLIC = ("public", "unlisted")


def _public_of(account_id: int):  # type: ignore[no-untyped-def]
    return (
        (Status.account_id == account_id)
        & Status.visibility.in_(_PUBLIC)  # type: ignore[attr-defined]
        & Status.deleted_at.is_(None)  # type: ignore[union-attr]
    )


async def count_public_statuses(session, account_id: int) -> int:  # type: ignore[no-untyped-def]
    result = await session.exec(select(func.count()).select_from(Status).where(_public_of(account_id)))
    return int(result.one())


async def public_statuses_page(  # type: ignore[no-untyped-def]
    session, account_id: int, *, max_id: int | None, limit: int
) -> list[Status]:
    """Public and unlisted statuses of a local account, newest first, older than `max_id`."""
    query = select(Status).where(_public_of(account_id))
    if max_id is not None:
        query = query.where(Status.id < max_id)
    result = await session.exec(query.order_by(col(Status.id).desc()).limit(limit))
    return list(result.all())


async def _id_taken(session: AsyncSession, status_id: int) -> bool:
    query = select(Status.id).where(Status.id == status_id)
    return (await session.exec(query)).first() is not None


async def _highest_in_millisecond(session: AsyncSession, status_id: int) -> int:
    ms = status_id >> 16
    query = select(func.max(Status.id)).where(Status.id >= id_at(ms), Status.id < id_at(ms + 1))
    return int((await session.exec(query)).one() or status_id)


async def insert_status(session: AsyncSession, status: Status) -> Status:
    """Insert a new status in a savepoint; when its (back-dated) id is held by another row,
    with the next free id of that millisecond. Any other conflict (its uri) is raised."""
    for _ in range(_ID_ATTEMPTS):
        try:
            async with session.begin_nested():
                session.add(status)
            return status
        except IntegrityError:
            if not await _id_taken(session, status.id):
                raise
            status.id = id_above(await _highest_in_millisecond(session, status.id))
    raise RuntimeError(f"no free status id near {status.id}")
