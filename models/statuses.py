"""Queries on statuses."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from models.tables import Status

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
    result = await session.exec(query.order_by(Status.id.desc()).limit(limit))  # type: ignore[union-attr]
    return list(result.all())
