"""Usage counts, as NodeInfo reports them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from models.tables import Account, Status
from models.types import utcnow


@dataclass(frozen=True)
class Usage:
    users_total: int
    users_active_month: int
    users_active_halfyear: int
    local_posts: int


async def usage(session) -> Usage:  # type: ignore[no-untyped-def]
    people = (Account.kind == "person") & Account.suspended_at.is_(None)  # type: ignore[union-attr]
    now = utcnow()

    async def count(query) -> int:  # type: ignore[no-untyped-def]
        return int((await session.exec(query)).one())

    def active_since(days: int):  # type: ignore[no-untyped-def]
        since = now - timedelta(days=days)
        return select(func.count()).select_from(Account).where(
            people & (Account.last_active_at >= since)  # type: ignore[operator]
        )

    return Usage(
        users_total=await count(select(func.count()).select_from(Account).where(people)),
        users_active_month=await count(active_since(30)),
        users_active_halfyear=await count(active_since(180)),
        local_posts=await count(
            select(func.count()).select_from(Status).where(
                Status.local & Status.deleted_at.is_(None)  # type: ignore[union-attr,arg-type]
            )
        ),
    )
