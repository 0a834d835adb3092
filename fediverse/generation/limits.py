"""How many images may wait, and be asked for each hour: per local account, per remote actor,
per remote server, and in all. A request over a limit is refused at once with a reason
(never queued to wait without end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.imaging import InvalidRequest
from fediverse.settings import Settings
from models.generation_jobs import count_renders, lock_requests

HOUR = timedelta(hours=1)


class LimitReached(InvalidRequest):
    """A request over a generation limit; `reason` says which, safe to show (API: 429)."""


@dataclass(frozen=True)
class Asker:
    """Who a request counts against: a local account (domain "") or a remote actor."""

    account_id: int
    domain: str = ""


async def check_limits(session: AsyncSession, settings: Settings, asker: Asker) -> None:
    """Raise LimitReached if one more image for `asker` would pass a limit. On PostgreSQL
    this holds a lock until the caller's transaction ends, so enqueue in that transaction."""
    await lock_requests(session)
    if settings.generation_queue_limit and (
            await count_renders(session) >= settings.generation_queue_limit):
        raise LimitReached("too many images are waiting to be made on this server; "
                           "try again later")
    if asker.domain:
        await _check(session, settings.generation_actor_pending,
                     settings.generation_actor_hourly, "you", asker_id=asker.account_id)
        await _check(session, settings.generation_domain_pending,
                     settings.generation_domain_hourly, "your server", domain=asker.domain)
    else:
        await _check(session, settings.generation_account_pending,
                     settings.generation_account_hourly, "you", asker_id=asker.account_id)


async def _check(session: AsyncSession, pending: int, hourly: int, who: str, *,
                 asker_id: int | None = None, domain: str | None = None) -> None:
    have = "have" if who == "you" else "has"
    if pending and await count_renders(session, asker_id=asker_id, domain=domain) >= pending:
        raise LimitReached(f"{who} already {have} {pending} images waiting to be made; "
                           "ask again once one is done")
    if hourly and await count_renders(session, asker_id=asker_id, domain=domain,
                                      within=HOUR) >= hourly:
        raise LimitReached(f"{who} {have} asked for {hourly} images in the last hour, the most "
                           "allowed; try again later")
