"""How much each hashtag was used on each of the last seven days (the Tag entity's
`history`): statuses carrying it and distinct accounts posting them, read from the statuses
this server has, by the day their id (`models.ids`) says they were made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ids import id_at
from models.tables import Status, StatusTag

DAYS = 7
_DAY_MS = 86_400_000


async def tag_history(session: AsyncSession, tag_ids: list[int], now: datetime | None = None
                      ) -> dict[int, list[dict[str, str]]]:
    """For each tag, seven days, newest first: `day` (the UNIX time of its midnight, UTC),
    `uses` and `accounts`, as strings (Mastodon's shape)."""
    if not tag_ids:
        return {}
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    first = today - timedelta(days=DAYS - 1)
    first_ms = int(first.timestamp() * 1000)
    day = (col(Status.id) // 65536 - first_ms) // _DAY_MS  # 0: the first day
    rows = (await session.execute(
        sa.select(StatusTag.tag_id, day.label("day"), sa.func.count(),
                  sa.func.count(sa.distinct(Status.account_id)))
        .join(Status, col(Status.id) == StatusTag.status_id)
        .where(col(StatusTag.tag_id).in_(tag_ids), col(Status.id) >= id_at(first_ms),
               col(Status.deleted_at).is_(None), col(Status.visibility).in_(("public", "unlisted")))
        .group_by(StatusTag.tag_id, day))).all()
    counts = {(tag, int(n)): (uses, accounts) for tag, n, uses, accounts in rows}
    return {tag: [{"day": str(int((first + timedelta(days=n)).timestamp())),
                   "uses": str(counts.get((tag, n), (0, 0))[0]),
                   "accounts": str(counts.get((tag, n), (0, 0))[1])}
                  for n in reversed(range(DAYS))]
            for tag in tag_ids}
