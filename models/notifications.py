"""A local account's notifications: filtered pages, one by id, dismissing and clearing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.domain_blocks import blocked_accounts
from models.instance_blocks import silenced_senders
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
                   col(Notification.status_id).is_(None) | live.exists(),
                   col(Notification.from_account_id).not_in(blocked_accounts(account_id)),
                   col(Notification.from_account_id).is_(None)
                   | col(Notification.from_account_id).not_in(silenced_senders(account_id)))


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


# grouped notifications (Mastodon 4.3's `/api/v2/notifications`)

GROUPED_TYPES = ("favourite", "reblog", "follow")
GROUP_HOURS = 12  # notifications of one group fall within this many hours
SAMPLE_ACCOUNTS = 8
_SCAN_BATCH = 200
_SCAN_MAX = 5000  # rows one page looks through at most (a post liked thousands of times)


def _bucket(moment: datetime) -> int:
    """The first hour (since the epoch) of the group window `moment` falls in."""
    hours = int(moment.timestamp()) // 3600
    return hours - hours % GROUP_HOURS


def group_key(row: Notification, grouped: Collection[str] = GROUPED_TYPES) -> str:
    """Mastodon's `group_key`: likes and boosts of one status, or follows, within one window
    share one; any other notification is `ungrouped-ID`."""
    if row.type not in grouped or row.type not in GROUPED_TYPES:
        return f"ungrouped-{row.id}"
    if row.type == "follow":
        return f"follow-{_bucket(row.created_at)}"
    return f"{row.type}-{row.status_id}-{_bucket(row.created_at)}"


def _members(key: str) -> sa.ColumnElement[bool] | None:
    """Which notifications a group key names (of whichever account); None: no such key."""
    kind, _, rest = key.partition("-")
    parts = rest.split("-")
    if not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if kind == "ungrouped" and len(numbers) == 1:
        return col(Notification.id) == numbers[0]
    if kind not in GROUPED_TYPES or len(numbers) != (1 if kind == "follow" else 2):
        return None
    start = datetime.fromtimestamp(numbers[-1] * 3600, UTC)
    where = sa.and_(col(Notification.type) == kind, col(Notification.created_at) >= start,
                    col(Notification.created_at) < start + timedelta(hours=GROUP_HOURS))
    if kind != "follow":
        where = sa.and_(where, col(Notification.status_id) == numbers[0])
    return where


@dataclass(frozen=True)
class Group:
    """One notification group of a page, as Mastodon's NotificationGroup tells it."""

    key: str
    latest: Notification  # its newest notification within the page
    count: int
    most_recent_id: int
    sample_account_ids: list[int]
    page_min_id: int
    page_max_id: int


async def scan(session: AsyncSession, account_id: int, wanted: NotificationFilter,
               window: Window, grouped: Collection[str]) -> dict[str, list[Notification]]:
    """The page's groups, each with its notifications in the rows looked through: newest
    groups first (for `min_id`, those just above it), `window.limit` of them at most."""
    muted = await muted_ids(session, account_id, notifications=True)
    upwards = window.min_id is not None
    groups: dict[str, list[Notification]] = {}
    cursor = window.min_id if upwards else window.max_id
    seen = 0
    while seen < _SCAN_MAX:
        step = Window(_SCAN_BATCH, max_id=None if upwards else cursor,
                      since_id=window.since_id, min_id=cursor if upwards else None)
        query = _filtered(select(Notification), account_id, wanted, muted)
        rows = list((await session.exec(windowed(query, col(Notification.id), step))).all())
        for row in rows:  # in scan order: newest first, or oldest first upwards
            key = group_key(row, grouped)
            if key not in groups and len(groups) == window.limit:
                return _newest_first(groups)
            groups.setdefault(key, []).append(row)
        if len(rows) < _SCAN_BATCH:
            break
        seen += len(rows)
        cursor = rows[-1].id
    return _newest_first(groups)


def _newest_first(groups: dict[str, list[Notification]]) -> dict[str, list[Notification]]:
    ordered = sorted(groups.items(), key=lambda item: -max(n.id for n in item[1]))
    return {key: sorted(rows, key=lambda n: -n.id) for key, rows in ordered}


async def _facts(session: AsyncSession, account_id: int, key: str, upper: int,
                 muted: set[int]) -> tuple[int, int, list[int]]:
    """(count, newest id, sample account ids) of a group's notifications up to id `upper`."""
    members = _members(key)
    assert members is not None  # made by group_key
    base = _filtered(select(Notification.id), account_id, NotificationFilter(), muted).where(
        members, col(Notification.id) <= upper)
    inner = base.subquery()
    count, newest = (await session.exec(select(sa.func.count(), sa.func.max(inner.c.id)))).one()
    sample = _filtered(select(Notification.from_account_id), account_id, NotificationFilter(),
                       muted).where(members, col(Notification.id) <= upper).group_by(
        col(Notification.from_account_id)).order_by(sa.func.max(Notification.id).desc()).limit(
        SAMPLE_ACCOUNTS)
    return int(count), int(newest or upper), list((await session.exec(sample)).all())


async def notification_groups(session: AsyncSession, account_id: int,
                              wanted: NotificationFilter, window: Window,
                              grouped: Collection[str] = GROUPED_TYPES) -> list[Group]:
    """A page of notification groups, newest first, without muted accounts' notifications."""
    scanned = await scan(session, account_id, wanted, window, grouped)
    if not scanned:
        return []
    upper = max(rows[0].id for rows in scanned.values())
    muted = await muted_ids(session, account_id, notifications=True)
    found = []
    for key, rows in scanned.items():
        if key.startswith("ungrouped-"):
            count, newest, sample = 1, rows[0].id, [rows[0].from_account_id]
        else:
            count, newest, sample = await _facts(session, account_id, key, upper, muted)
        found.append(Group(key=key, latest=rows[0], count=count, most_recent_id=newest,
                           sample_account_ids=sample, page_min_id=rows[-1].id,
                           page_max_id=rows[0].id))
    return found


async def one_group(session: AsyncSession, account_id: int, key: str) -> Group | None:
    """The group `key` of `account_id`'s notifications, whole; None if it has none."""
    members = _members(key)
    if members is None:
        return None
    muted = await muted_ids(session, account_id, notifications=True)
    query = _filtered(select(Notification), account_id, NotificationFilter(), muted).where(
        members).order_by(col(Notification.id).desc())
    rows = list((await session.exec(query)).all())
    if not rows:
        return None
    sample = list(dict.fromkeys(r.from_account_id for r in rows))[:SAMPLE_ACCOUNTS]
    return Group(key=key, latest=rows[0], count=len(rows), most_recent_id=rows[0].id,
                 sample_account_ids=sample, page_min_id=rows[-1].id, page_max_id=rows[0].id)


async def group_account_ids(session: AsyncSession, account_id: int, key: str) -> list[int]:
    """Who made a group's notifications, the latest first; empty for an unknown group."""
    members = _members(key)
    if members is None:
        return []
    muted = await muted_ids(session, account_id, notifications=True)
    query = _filtered(select(Notification.from_account_id), account_id, NotificationFilter(),
                      muted).where(members).group_by(col(Notification.from_account_id)).order_by(
        sa.func.max(Notification.id).desc())
    return list((await session.exec(query)).all())


async def dismiss_group(session: AsyncSession, account_id: int, key: str) -> bool:
    """Delete a group's notifications; False when it has none. Commits."""
    members = _members(key)
    if members is None:
        return False
    result = await session.exec(delete(Notification).where(  # type: ignore[call-overload]
        col(Notification.account_id) == account_id, members))
    await session.commit()
    return bool(result.rowcount)


async def count_groups(session: AsyncSession, account_id: int, wanted: NotificationFilter, *,
                       since_id: int | None, limit: int,
                       grouped: Collection[str] = GROUPED_TYPES) -> int:
    """How many groups the notifications after `since_id` make, counted up to `limit`."""
    window = Window(limit, min_id=since_id if since_id is not None else 0)
    return len(await scan(session, account_id, wanted, window, grouped))
