"""Finished delivery jobs do not pile up: a periodic task folds those finished longer ago
than a retention period into `delivered_inboxes` (one small row per inbox that accepted an
activity) and deletes them.

What the jobs did for dedupe stays true: publishing an activity again skips the inboxes that
already accepted it, whether their job is still there or folded (see `outbox.deliver`); and a
`Delete` still reaches every inbox that got the post (`outbox.audience.delivered_inboxes`).
Dead deliveries are dropped: nothing accepted them. Jobs still queued or running stay.

The periodic task then drops the other queues' jobs done that long ago
(`models.queue.prune_done`): applying a received activity again is a no-op anyway, and
generation limits count the last hour only. Their dead jobs stay, to be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from models.ids import new_id
from models.queue import Target, prune_done, write_session
from models.tables import DeliveredInbox, Job, OutboxActivity
from models.types import utcnow

log = logging.getLogger(__name__)

QUEUE = "deliver"  # outbox.deliver.QUEUE
DELIVERY = "deliver"  # outbox.deliver.KIND: one job per inbox
RETENTION = timedelta(days=7)  # finished jobs kept whole this long (their errors can be read)
PRUNE_EVERY = 3600.0  # seconds between runs of the periodic task
_BATCH = 500  # jobs folded per transaction


async def prune_deliveries(target: Target, older_than: timedelta = RETENTION) -> int:
    """Fold finished delivery jobs older than `older_than` into `delivered_inboxes` and
    delete them, a batch per transaction; returns how many jobs were deleted."""
    cutoff = utcnow() - older_than
    pruned = 0
    while True:
        async with write_session(target) as session:
            query = (select(Job.id, Job.kind, Job.state, Job.payload, Job.finished_at)
                     .where(Job.queue == QUEUE, col(Job.state).in_(("done", "dead")),
                            col(Job.finished_at) < cutoff)
                     .limit(_BATCH))
            rows = (await session.exec(query)).all()
            if not rows:
                return pruned
            accepted = [(int(payload["activity"]), str(payload["inbox"]), finished_at)
                        for _, kind, state, payload, finished_at in rows
                        if kind == DELIVERY and state == "done" and isinstance(payload, dict)
                        and payload.get("activity") and payload.get("inbox")]
            if accepted:
                known = set((await session.exec(select(OutboxActivity.id).where(
                    col(OutboxActivity.id).in_({a for a, _, _ in accepted})))).all())
                values = [{"id": new_id(), "activity_id": activity, "inbox": inbox,
                           "delivered_at": finished_at}
                          for activity, inbox, finished_at in accepted if activity in known]
                if values:
                    dialect = session.get_bind().dialect.name
                    insert = pg_insert if dialect == "postgresql" else sqlite_insert
                    await session.exec(insert(DeliveredInbox).values(values)  # type: ignore[call-overload]
                                       .on_conflict_do_nothing(
                                           index_elements=["activity_id", "inbox"]))
            await session.exec(  # type: ignore[call-overload]
                sa.delete(Job).where(col(Job.id).in_([row[0] for row in rows]))
                .execution_options(synchronize_session=False))
            await session.commit()
        pruned += len(rows)
        if len(rows) < _BATCH:
            return pruned


async def prune_loop(target: Target, stop: asyncio.Event, *, every: float = PRUNE_EVERY,
                     older_than: timedelta = RETENTION) -> None:
    """Prune finished jobs now and every `every` seconds until `stop` is set: deliveries
    first (folded), then every other queue's done jobs; a failed run (a busy database) waits
    for the next."""
    while not stop.is_set():
        try:
            pruned = await prune_deliveries(target, older_than)
            pruned += await prune_done(target, older_than)  # deliveries are folded already
            if pruned:
                log.info("pruned %d finished jobs", pruned)
        except Exception:
            log.exception("pruning delivery jobs failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
