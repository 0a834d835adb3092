"""Applying many received activities in one transaction: the inbox queue's batch handler.

Each activity is applied inside its own savepoint, so one that fails rolls back alone and is
retried alone; the rest, and the marking of their jobs as done, commit together. On SQLite
the transaction takes the write lock when it begins (a deferred one could not upgrade to a
writer while the inbox route keeps committing), through `models.queue.write_session`.
"""

from __future__ import annotations

from typing import Any

from inbox.apply import apply_activity
from models.queue import BatchHandler, Finish, PermanentJobError, write_session
from models.tables import Job
from outbox.context import Context


def make_inbox_batch_handler(ctx: Context) -> BatchHandler:
    """The batch handler for queue "inbox", job kind "activity" (see `models.queue.Worker`)."""

    async def handle(jobs: list[Job], finish: Finish) -> dict[int, Exception]:
        failures: dict[int, Exception] = {}
        async with write_session(ctx.sessions) as session:
            for job in jobs:
                try:
                    async with session.begin_nested():
                        await _apply(ctx, session, job.payload)
                except Exception as exc:
                    failures[job.id] = exc
            await finish(session, [job.id for job in jobs if job.id not in failures])
            await session.commit()
        return failures

    return handle


async def _apply(ctx: Context, session: Any, payload: dict[str, Any]) -> None:
    activity = payload.get("activity")
    if not isinstance(activity, dict):
        raise PermanentJobError("the job carries no activity")
    await apply_activity(ctx, session, activity, signer=payload.get("signer"))
