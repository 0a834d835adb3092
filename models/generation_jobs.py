"""Generation jobs in the durable queue: what the inbox and the API enqueue for the
"generate" queue (the work itself is in `fediverse.generation`), how many are waiting, per
asker and in all, and cancelling those whose request was deleted.

A render job's payload names who asked (`asker`, the account id as text, and
`asker_domain`, "" for local accounts) and the status it answers or publishes
(`for_status`, the id as text): text, so that both databases compare it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.queue import enqueue
from models.tables import Account, Job, MediaAttachment, Status
from models.types import utcnow

QUEUE = "generate"
RENDER = "render"  # one image: payload from `fediverse.generation.requests`
MENTION = "mention"  # a status mentioning a generator account: answer it with an image
REFUSAL = "refusal"  # a record (born done) of a refusal reply sent to an asker
ATTEMPTS = 3
UNFINISHED = ("queued", "running")
EVERY_STATE = ("queued", "running", "done", "dead")
_LOCK_KEY = 0x6765_6E65  # PostgreSQL advisory lock: one limit check-and-enqueue at a time


async def enqueue_render(session: AsyncSession, payload: dict[str, Any]) -> Job:
    """Queue one image to render, in the caller's transaction."""
    job = await enqueue(session, QUEUE, RENDER, payload, max_attempts=ATTEMPTS)
    assert job is not None  # no dedupe key: always added
    return job


async def enqueue_generator_mentions(session: AsyncSession, status: Status,
                                     mentioned: Sequence[Account]) -> None:
    """For each local generator account `status` mentions (not its own author), a job to
    answer with an image; once per status and generator."""
    for account in mentioned:
        if account.generator and account.domain == "" and account.id != status.account_id:
            await enqueue(session, QUEUE, MENTION,
                          {"status_id": status.id, "generator_id": account.id},
                          dedupe_key=f"mention:{status.id}:{account.id}",
                          max_attempts=ATTEMPTS)


async def lock_requests(session: AsyncSession) -> None:
    """Serialise limit checks with the enqueue that follows them, until the transaction
    ends (SQLite's writer transactions already are)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))  # type: ignore[call-overload]


async def count_renders(session: AsyncSession, *, asker_id: int | None = None,
                        domain: str | None = None, within: timedelta | None = None) -> int:
    """Render jobs not yet finished (or, with `within`, asked that recently, in any state),
    of one asker or one asker's domain, or in all."""
    query = select(sa.func.count()).select_from(Job).where(
        Job.queue == QUEUE, Job.kind == RENDER)
    if within is None:
        query = query.where(col(Job.state).in_(UNFINISHED))
    else:
        since = utcnow() - within
        query = query.where(col(Job.state).in_(EVERY_STATE), col(Job.run_at) >= since,
                            col(Job.created_at) >= since)
    return int((await session.exec(_of_asker(query, asker_id, domain))).one())


def _of_asker(query: Any, asker_id: int | None, domain: str | None) -> Any:
    if asker_id is not None:
        query = query.where(_field("asker") == str(asker_id))
    if domain is not None:
        query = query.where(_field("asker_domain") == domain)
    return query


async def counted_times(session: AsyncSession, *, asker_id: int | None = None,
                        domain: str | None = None, within: timedelta) -> list[datetime]:
    """For each job `count_renders(within=...)` counts, the time it is counted from (the
    earlier of its creation and its run time), oldest first."""
    since = utcnow() - within
    query = _of_asker(select(Job.created_at, Job.run_at).where(
        Job.queue == QUEUE, Job.kind == RENDER, col(Job.state).in_(EVERY_STATE),
        col(Job.run_at) >= since, col(Job.created_at) >= since), asker_id, domain)
    return sorted(min(_aware(created), _aware(run))
                  for created, run in (await session.exec(query)).all())


async def oldest_unfinished(session: AsyncSession, *, asker_id: int | None = None,
                            domain: str | None = None) -> datetime | None:
    """When the oldest render job not yet finished (of one asker or domain) was queued."""
    query = _of_asker(select(sa.func.min(Job.created_at)).where(
        Job.queue == QUEUE, Job.kind == RENDER, col(Job.state).in_(UNFINISHED)),
        asker_id, domain)
    oldest = (await session.exec(query)).one()
    return None if oldest is None else _aware(oldest)


async def recent_latencies(session: AsyncSession, count: int = 20) -> list[float]:
    """Seconds from queued to made of the last `count` images made."""
    rows = (await session.exec(select(Job.created_at, Job.finished_at).where(
        Job.queue == QUEUE, Job.kind == RENDER, Job.state == "done",
        col(Job.finished_at).is_not(None)).order_by(col(Job.finished_at).desc())
        .limit(count))).all()
    return [(_aware(done) - _aware(made)).total_seconds() for made, done in rows]


async def record_refusal(session: AsyncSession, asker_id: int, domain: str) -> None:
    """Note, in the caller's transaction, that `asker_id` was sent a refusal reply."""
    now = utcnow()
    session.add(Job(queue=QUEUE, kind=REFUSAL, state="done", finished_at=now, run_at=now,
                    created_at=now, payload={"asker": str(asker_id), "asker_domain": domain}))
    await session.flush()


async def count_refusals(session: AsyncSession, *, asker_id: int | None = None,
                         domain: str | None = None, within: timedelta) -> int:
    """Refusal replies sent that recently, to one asker, one domain's, or anyone."""
    since = utcnow() - within
    query = _of_asker(select(sa.func.count()).select_from(Job).where(
        Job.queue == QUEUE, Job.kind == REFUSAL, col(Job.created_at) >= since),
        asker_id, domain)
    return int((await session.exec(query)).one())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _field(name: str) -> Any:
    return Job.payload[name].as_string()  # type: ignore[index]


async def cancel_renders_for(session: AsyncSession, status_id: int) -> int:
    """Drop the waiting render jobs that publish or answer `status_id`, and their processing
    images, in the caller's transaction; a job already rendering finds its image gone and
    posts nothing. Returns how many requests were cancelled."""
    jobs = (await session.exec(select(Job).where(
        Job.queue == QUEUE, Job.kind == RENDER, col(Job.state).in_(UNFINISHED),
        _field("for_status") == str(status_id)))).all()
    for job in jobs:
        media = await session.get(MediaAttachment, int(job.payload["media_id"]))
        if media is not None and media.state == "processing":
            await session.delete(media)
        if job.state == "queued":
            await session.delete(job)
    await session.flush()
    return len(jobs)


async def cancel_render_of(session: AsyncSession, media_id: int) -> bool:
    """Drop the waiting render job of attachment `media_id`, in the caller's transaction
    (one already rendering finds the attachment gone); whether there was one."""
    jobs = (await session.exec(select(Job).where(
        Job.queue == QUEUE, Job.kind == RENDER, Job.state == "queued"))).all()
    found = [job for job in jobs if job.payload.get("media_id") == media_id]
    for job in found:
        await session.delete(job)
    await session.flush()
    return bool(found)
