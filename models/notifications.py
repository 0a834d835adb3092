"""A local account's notifications: filtered pages, one by id, dismissing and clearing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.relationships import Window, muted_ids, run_window, windowed
from models.tables import Marker, Notification, Status

TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "update",
         "poll", "admin.sign_up", "admin.report", "severed_relationships", "moderation_warning")


@dataclass(frozen=True)
class NotificationFilter:
    types: Sequence[str] = ()  # only these (empty: all)
    exclude_types: Sequence[str] = ()
    from_account_id: int | None = None


def _visible(account_id: int):  # type: ignore[no-untyped-def]
    """Notifications of `account_id` whose status (if any) is not deleted."""
    live = select(Status.id).where(col(Status.id) == Notification.status_id,
                                   col(Status.deleted_at).is_(None))
    return sa.and_(col(Notification.account_id) == account_id,
                   col(Notification.status_id).is_(None) | live.exists())


def _filtered(query, account_id: int, wanted: NotificationFilter, muted: set[int]):  # type: ignore[no-untyped-def]
    query = query.where(_visible(account_id))
    if wanted.types:
        query = query.where(col(Notification.type).in_(list(wanted.types)))
    if wanted.exclude_types:
        query = query.where(col(Notification.type).not_in(list(wanted.exclude_types)))
    if wanted.from_account_id is not None:
        query = query.where(Notification.from_account_id == wanted.from_account_id)
    if muted:
        query = query.where(col(Notification.from_account_id).not_in(sorted(muted)))
    return query


async def notifications_page(session: AsyncSession, account_id: int, wanted: NotificationFilter,
                             window: Window) -> list[Notification]:
    """Newest first, without those from accounts muted with their notifications."""
    muted = await muted_ids(session, account_id, notifications=True)
    query = _filtered(select(Notification), account_id, wanted, muted)
    return await run_window(session, windowed(query, col(Notification.id), window), window)


async def count_notifications(session: AsyncSession, account_id: int, wanted: NotificationFilter,
                              *, since_id: int | None = None, limit: int = 1000) -> int:
    """How many there are (after `since_id`), counted up to `limit`."""
    muted = await muted_ids(session, account_id, notifications=True)
    query = _filtered(select(Notification.id), account_id, wanted, muted)
    if since_id is not None:
        query = query.where(Notification.id > since_id)
    inner = query.limit(limit).subquery()
    return int((await session.exec(select(sa.func.count()).select_from(inner))).one())


async def read_up_to(session: AsyncSession, account_id: int) -> int | None:
    """The last notification id the account marked read (the `notifications` marker)."""
    query = select(Marker.last_read_id).where(Marker.account_id == account_id,
                                              Marker.timeline == "notifications")
    return (await session.exec(query)).first()


async def get_notification(session: AsyncSession, account_id: int, notification_id: int
                           ) -> Notification | None:
    query = select(Notification).where(_visible(account_id), Notification.id == notification_id)
    return (await session.exec(query)).first()


async def dismiss(session: AsyncSession, account_id: int, notification_id: int) -> bool:
    """Delete one notification of `account_id`; False when it has none by that id. Commits."""
    row = (await session.exec(select(Notification).where(
        Notification.account_id == account_id, Notification.id == notification_id))).first()
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def clear(session: AsyncSession, account_id: int) -> None:
    """Delete every notification of `account_id`. Commits."""
    await session.exec(delete(Notification).where(  # type: ignore[call-overload]
        col(Notification.account_id) == account_id))
    await session.commit()
