"""Unread notification counts that agree with the lists: a notification whose status a
`hide` filter of the viewer's notifications context matches is in no list, so in no count
(as in Mastodon)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.entities import status_entities
from fediverse.api.filtering import CustomFilter, active_filters, apply_filters
from models import notifications as stored
from models.notifications import NotificationFilter
from models.relationships import Window
from models.tables import Status
from outbox.urls import Urls

BATCH = 200  # notifications read at a time when counting those the filters leave
GROUPS_MAX = 1000  # groups read when counting those the filters leave (the largest limit)


def hides(filters: Sequence[CustomFilter]) -> bool:
    """Whether a `hide` filter is active in the notifications context (else the counts of
    `models.notifications` are those of the lists)."""
    return any(f.filter_action == "hide" for f in active_filters(filters, "notifications"))


async def hidden_statuses(session: AsyncSession, urls: Urls, viewer_id: int,
                          status_ids: Iterable[int], filters: Sequence[CustomFilter]
                          ) -> set[int]:
    """Of `status_ids`, those the lists leave out: a `hide` filter of the notifications
    context matches their entity (as `fediverse.api.filtering.filter_notifications` and
    the grouped list test it)."""
    wanted = sorted(set(status_ids))
    if not wanted:
        return set()
    statuses = list((await session.exec(select(Status).where(col(Status.id).in_(wanted)))).all())
    shown = await status_entities(session, urls, statuses, viewer_id)
    kept = apply_filters(shown, filters, "notifications", viewer_id)
    return set(wanted) - {int(s["id"]) for s in kept}


async def count_shown(session: AsyncSession, urls: Urls, viewer_id: int,
                      wanted: NotificationFilter, *, since_id: int | None, limit: int,
                      filters: Sequence[CustomFilter]) -> int:
    """`models.notifications.count_notifications` without the notifications the filters
    hide, counted up to `limit`."""
    count, cursor = 0, since_id or 0
    while count < limit:
        rows = await stored.notifications_page(session, viewer_id, wanted,
                                               Window(BATCH, min_id=cursor))
        if not rows:
            break
        hidden = await hidden_statuses(session, urls, viewer_id,
                                       (r.status_id for r in rows if r.status_id), filters)
        count += sum(1 for r in rows if r.status_id not in hidden)
        if len(rows) < BATCH:
            break
        cursor = max(r.id for r in rows)
    return min(count, limit)


async def count_shown_groups(session: AsyncSession, urls: Urls, viewer_id: int,
                             wanted: NotificationFilter, *, since_id: int | None, limit: int,
                             grouped: Collection[str], filters: Sequence[CustomFilter]) -> int:
    """`models.notifications.count_groups` without the groups the grouped list leaves out
    (those whose latest notification's status the filters hide), counted up to `limit`."""
    window = Window(GROUPS_MAX, min_id=since_id if since_id is not None else 0)
    groups = await stored.scan(session, viewer_id, wanted, window, grouped)
    latest = [rows[0].status_id for rows in groups.values()]
    hidden = await hidden_statuses(session, urls, viewer_id, (s for s in latest if s), filters)
    return min(sum(1 for s in latest if s not in hidden), limit)
