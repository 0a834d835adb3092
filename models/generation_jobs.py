"""Generation jobs in the durable queue: what the inbox and the API enqueue for the
"generate" queue (the work itself is in `fediverse.generation`), how many are waiting, per
asker and in all, and cancelling those whose request was deleted.

A render job's payload names who asked (`asker`, the account id as text, and
`asker_domain`, "" for local accounts) and the status it answers or publishes
(`for_status`, the id as text): text, so that both databases compare it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
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
    if asker_id is not None:
        query = query.where(_field("asker") == str(asker_id))
    if domain is not None:
        query = query.where(_field("asker_domain") == domain)
    return int((await session.exec(query)).one())


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
