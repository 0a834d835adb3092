"""How many images may wait, and be asked for each hour: per local account, per remote actor,
per remote server, and in all. A request over a limit is refused at once with a reason and
when to try again (never queued to wait without end). Replies saying why a request was
refused are limited too, so a flood of mentions cannot make us flood replies."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.imaging import InvalidRequest
from fediverse.settings import Settings
from models.generation_jobs import (
    count_refusals,
    count_renders,
    counted_times,
    lock_requests,
    oldest_unfinished,
    recent_latencies,
    record_refusal,
)
from models.types import utcnow

HOUR = timedelta(hours=1)
UNKNOWN_WAIT = 10  # seconds per image when none was made lately
# refusal replies per hour: to one asker, to one remote server's askers, to anyone
REFUSALS_PER_ASKER = 3
REFUSALS_PER_DOMAIN = 10
REFUSALS_IN_ALL = 60


class LimitReached(InvalidRequest):
    """A request over a generation limit; `reason` says which, safe to show (API: 429).
    `limit` is the limit passed, `retry_after` the seconds until a place is expected."""

    def __init__(self, reason: str, *, limit: int = 0, retry_after: int = UNKNOWN_WAIT) -> None:
        super().__init__(reason)
        self.limit = limit
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Asker:
    """Who a request counts against: a local account (domain "") or a remote actor."""

    account_id: int
    domain: str = ""


async def check_limits(session: AsyncSession, settings: Settings, asker: Asker) -> None:
    """Raise LimitReached if one more image for `asker` would pass a limit. On PostgreSQL
    this holds a lock until the caller's transaction ends, so enqueue in that transaction."""
    await lock_requests(session)
    cap = settings.generation_queue_limit
    if cap and await count_renders(session) >= cap:
        raise LimitReached("too many images are waiting to be made on this server; "
                           "try again later", limit=cap,
                           retry_after=await _until_one_is_made(session))
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
                           "ask again once one is done", limit=pending,
                           retry_after=await _until_one_is_made(session, asker_id, domain))
    if not hourly:
        return
    times = await counted_times(session, asker_id=asker_id, domain=domain, within=HOUR)
    if len(times) >= hourly:
        raise LimitReached(f"{who} {have} asked for {hourly} images in the last hour, the most "
                           "allowed; try again later", limit=hourly,
                           retry_after=_seconds_until(times[len(times) - hourly] + HOUR))


async def _until_one_is_made(session: AsyncSession, asker_id: int | None = None,
                             domain: str | None = None) -> int:
    """Seconds until the oldest waiting image (of the asker or domain) is likely made: the
    recent time from request to image, less how long it has waited; that time again when
    it is already late."""
    latencies = await recent_latencies(session)
    typical = statistics.median(latencies) if latencies else UNKNOWN_WAIT
    oldest = await oldest_unfinished(session, asker_id=asker_id, domain=domain)
    left = typical if oldest is None else (oldest - utcnow()).total_seconds() + typical
    return math.ceil(left if left > 0 else typical)


def _seconds_until(moment: datetime) -> int:
    return math.ceil((moment - utcnow()).total_seconds())


async def may_refuse(session: AsyncSession, asker: Asker) -> bool:
    """Whether a reply saying why may go to `asker` now; if so it is counted, in the
    caller's transaction (which the reply commits)."""
    await lock_requests(session)  # concurrent mentions count one after the other
    counts = ((REFUSALS_PER_ASKER, {"asker_id": asker.account_id}),
              (REFUSALS_PER_DOMAIN, {"domain": asker.domain} if asker.domain else None),
              (REFUSALS_IN_ALL, {}))
    for most, which in counts:
        if which is not None and await count_refusals(session, within=HOUR, **which) >= most:
            return False
    await record_refusal(session, asker.account_id, asker.domain)
    return True
