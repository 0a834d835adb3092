"""Statuses to post later: the rows (what the client sent, as `params`), Mastodon's limits,
and the durable job that posts each at its time (`fediverse.scheduled` runs it, on the
delivery queue). Rescheduling enqueues a job for the new time; a job that finds its status
due later leaves it to that one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.queue import enqueue
from models.relationships import Window, run_window, windowed
from models.tables import ScheduledStatus
from models.types import utcnow

QUEUE = "deliver"
KIND = "publish-scheduled"  # payload: {"scheduled_id": id}
ATTEMPTS = 10
SOONEST = timedelta(minutes=5)  # as Mastodon: sooner than this is refused
TOTAL_LIMIT = 300
DAILY_LIMIT = 25


class ScheduleError(ValueError):
    """Why a time cannot be used (one line, for a 422)."""


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _check(session: AsyncSession, account_id: int, at: datetime,
                 moving: int | None = None) -> None:
    if _aware(at) < utcnow() + SOONEST:
        raise ScheduleError("Validation failed: Scheduled at The scheduled date must be in "
                            "the future")
    others = select(sa.func.count()).select_from(ScheduledStatus).where(
        ScheduledStatus.account_id == account_id, col(ScheduledStatus.id) != (moving or 0))
    if moving is None and (await session.exec(others)).one() >= TOTAL_LIMIT:
        raise ScheduleError(f"Validation failed: You have exceeded the limit of {TOTAL_LIMIT} "
                            "scheduled posts")
    day = _aware(at).replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = others.where(col(ScheduledStatus.scheduled_at) >= day,
                            col(ScheduledStatus.scheduled_at) < day + timedelta(days=1))
    if (await session.exec(same_day)).one() >= DAILY_LIMIT:
        raise ScheduleError(f"Validation failed: You have exceeded the limit of {DAILY_LIMIT} "
                            "scheduled posts for that day")


async def _enqueue(session: AsyncSession, row: ScheduledStatus) -> None:
    await enqueue(session, QUEUE, KIND, {"scheduled_id": row.id}, run_at=row.scheduled_at,
                  dedupe_key=f"scheduled:{row.id}:{_aware(row.scheduled_at).isoformat()}",
                  max_attempts=ATTEMPTS)


async def schedule(session: AsyncSession, account_id: int, at: datetime, params: dict[str, Any],
                   application_id: int | None) -> ScheduledStatus:
    """Keep a status to post at `at`, and its job; ScheduleError when `at` is too soon or
    past a limit. The caller commits."""
    await _check(session, account_id, at)
    row = ScheduledStatus(account_id=account_id, application_id=application_id,
                          scheduled_at=_aware(at), params=params)
    session.add(row)
    await session.flush()
    await _enqueue(session, row)
    return row


async def reschedule(session: AsyncSession, row: ScheduledStatus, at: datetime) -> None:
    """Move a scheduled status to `at` (checked as `schedule`). The caller commits."""
    await _check(session, row.account_id, at, moving=row.id)
    row.scheduled_at = _aware(at)
    session.add(row)
    await session.flush()
    await _enqueue(session, row)


async def own(session: AsyncSession, account_id: int, scheduled_id: int
              ) -> ScheduledStatus | None:
    row = await session.get(ScheduledStatus, scheduled_id)
    return row if row is not None and row.account_id == account_id else None


async def scheduled_page(session: AsyncSession, account_id: int, window: Window
                         ) -> list[ScheduledStatus]:
    """The account's scheduled statuses, newest scheduled first (by id)."""
    query = select(ScheduledStatus).where(ScheduledStatus.account_id == account_id)
    return await run_window(session, windowed(query, col(ScheduledStatus.id), window), window)


def is_due(row: ScheduledStatus) -> bool:
    """Its time has come (a job that runs early, for a moved time, finds it not due)."""
    return _aware(row.scheduled_at) <= utcnow() + timedelta(seconds=1)
