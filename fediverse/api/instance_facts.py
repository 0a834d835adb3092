"""What the instance entities report, read from the database: counts, peers, the contact
account, and the weekly activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.entities import account_entities
from models.ids import id_at
from models.stats import usage
from models.tables import Account, OAuthToken, Status
from models.types import utcnow
from outbox.urls import Urls

ACTIVITY_WEEKS = 12


@dataclass(frozen=True)
class InstanceFacts:
    user_count: int
    active_month: int
    status_count: int
    domain_count: int
    contact: dict[str, Any] | None  # the contact's Account entity


def _remote_domains() -> Any:
    return select(Account.domain).where(
        Account.domain != "", col(Account.gone_at).is_(None)).distinct()


async def peers(session: AsyncSession) -> list[str]:
    """Domains of the remote accounts this instance knows, sorted."""
    return sorted(str(domain) for domain in await session.exec(_remote_domains()))


async def contact_account(session: AsyncSession, urls: Urls) -> dict[str, Any] | None:
    """The oldest local admin who is not suspended, as an Account entity."""
    query = select(Account).where(
        Account.kind == "person", Account.is_admin, col(Account.suspended_at).is_(None),
    ).order_by(col(Account.id)).limit(1)
    admin = (await session.exec(query)).first()
    if admin is None:
        return None
    return (await account_entities(session, urls, [admin]))[0]


async def instance_facts(session: AsyncSession, urls: Urls) -> InstanceFacts:
    counts = await usage(session)
    domains = await session.exec(select(func.count()).select_from(_remote_domains().subquery()))
    return InstanceFacts(
        user_count=counts.users_total, active_month=counts.users_active_month,
        status_count=counts.local_posts, domain_count=int(domains.one()),
        contact=await contact_account(session, urls),
    )


def week_starts(now: datetime, weeks: int = ACTIVITY_WEEKS) -> list[datetime]:
    """The Mondays (00:00 UTC) that begin this week and the ones before it, newest first."""
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=n) for n in range(weeks)]


def _ids_within(column: Any, start: datetime) -> Any:
    """Ids are sortable by creation time: a week is a range of ids."""
    end = start + timedelta(weeks=1)
    return column.between(id_at(int(start.timestamp() * 1000)),
                          id_at(int(end.timestamp() * 1000)) - 1)


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.exec(query)).one())


async def weekly_activity(session: AsyncSession) -> list[dict[str, str]]:
    """Mastodon's instance activity: local statuses, sign-ins (accounts that got a token)
    and registrations, per week."""
    buckets = []
    for start in week_starts(utcnow()):
        statuses = select(func.count()).select_from(Status).where(
            Status.local, col(Status.reblog_of_id).is_(None), _ids_within(col(Status.id), start))
        logins = select(func.count(sa.distinct(col(OAuthToken.account_id)))).where(
            col(OAuthToken.account_id).is_not(None), _ids_within(col(OAuthToken.id), start))
        registrations = select(func.count()).select_from(Account).where(
            Account.kind == "person", _ids_within(col(Account.id), start))
        buckets.append({
            "week": str(int(start.timestamp())),
            "statuses": str(await _count(session, statuses)),
            "logins": str(await _count(session, logins)),
            "registrations": str(await _count(session, registrations)),
        })
    return buckets
