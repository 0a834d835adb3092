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

Last, stored activities (`outbox_activities`) that nothing needs any more go, with their
`delivered_inboxes` rows (`prune_activities`). Nothing serves them to other servers: the
outbox collection and each status's `/activity` are rendered from the statuses. A row is
needed while a delivery job names it (its body is what is sent), and, for the `Create` of a
status still there, for good: its accepted inboxes are where the status's edits and its
`Delete` go. Any other row goes once it is older than the retention (well past the retry
horizon of about five days) and no job names it; publishing the same activity later stores
it afresh and may reach an inbox a second time, which the other side ignores by its id.
Publishing a stored activity again sets its `created_at` to now, and a row goes only while
its `created_at` is past the retention too: one published again while a run looks at it
stays (on PostgreSQL the publish locks the row, and the `DELETE` checks it again once the
publish commits), so its new jobs never find it gone.
Each batch is one transaction, so a run stopped halfway loses nothing: the next one goes on.
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
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ids import id_at, new_id
from models.queue import Target, prune_done, run_read, write_session
from models.tables import DeliveredInbox, Job, OutboxActivity, Status
from models.types import utcnow
from outbox.activities import create_id

log = logging.getLogger(__name__)

QUEUE = "deliver"  # outbox.deliver.QUEUE
DELIVERY = "deliver"  # outbox.deliver.KIND: one job per inbox
RETENTION = timedelta(days=7)  # finished jobs kept whole this long (their errors can be read)
PRUNE_EVERY = 3600.0  # seconds between runs of the periodic task
_BATCH = 500  # jobs folded, or activities looked at, per transaction
_CREATE = create_id("")  # the suffix of a status's `Create` id
_DELETE = "#delete"  # of a status's `Delete` id (outbox.activities.delete_note)


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


async def prune_activities(target: Target, older_than: timedelta = RETENTION,
                           after: int = 0) -> tuple[int, int]:
    """Delete the stored activities older than `older_than` (their ids tell) that no
    delivery job names and that are not the `Create` of a status still there, with their
    `delivered_inboxes` rows, looking at those with ids above `after`; a batch per
    transaction. Returns how many went, and the `after` for the next run: below the first
    row a job held back, else the last row looked at (a `Create` passed over for its status
    goes later with the status's `Delete`; a new process looks at every row again)."""
    cutoff = utcnow() - older_than
    below = id_at(int(cutoff.timestamp() * 1000))
    named = await _named_by_jobs(target, below)
    removed, position, resume = 0, after, None
    while True:
        async with write_session(target) as session:
            query = (select(OutboxActivity.id, OutboxActivity.uri)
                     .where(col(OutboxActivity.id) > position, col(OutboxActivity.id) < below)
                     .order_by(col(OutboxActivity.id)).limit(_BATCH))
            rows = list((await session.exec(query)).all())
            if not rows:
                break
            held = [i for i, _ in rows if i in named]
            if held and resume is None:
                resume = held[0] - 1
            gone = await _unneeded(session, [(i, uri) for i, uri in rows if i not in named])
            # a status deleted after its `Create` was passed over: that goes with the `Delete`
            creates = [uri[:-len(_DELETE)] + _CREATE for _, uri in gone if uri.endswith(_DELETE)]
            if creates:
                found = (await session.exec(select(OutboxActivity.id, OutboxActivity.uri).where(
                    col(OutboxActivity.uri).in_(creates)))).all()
                gone += await _unneeded(session, [(i, u) for i, u in found if i not in named])
            ids = sorted({i for i, _ in gone})
            if ids:  # not one published again since the run began (`outbox.deliver._store`)
                ids = list((await session.exec(  # type: ignore[call-overload]
                    sa.delete(OutboxActivity)
                    .where(col(OutboxActivity.id).in_(ids),
                           col(OutboxActivity.created_at) < cutoff)
                    .returning(OutboxActivity.id)
                    .execution_options(synchronize_session=False))).scalars())
            if ids:  # gone with their activities already where foreign keys cascade
                await session.exec(sa.delete(DeliveredInbox)  # type: ignore[call-overload]
                                   .where(col(DeliveredInbox.activity_id).in_(ids))
                                   .execution_options(synchronize_session=False))
            await session.commit()
        removed += len(ids)
        position = rows[-1][0]
        if len(rows) < _BATCH:
            break
    return removed, resume if resume is not None else position


async def _named_by_jobs(target: Target, below: int) -> set[int]:
    """The ids below `below` of the activities that delivery jobs name (one pass over the
    delivery queue: its finished jobs live a retention period at most)."""
    jobs = Job.__table__  # type: ignore[attr-defined]
    activity = sa.cast(jobs.c.payload["activity"].as_string(), sa.BigInteger)
    query = sa.select(activity).distinct().where(jobs.c.queue == QUEUE, activity < below)
    return await run_read(target, lambda conn: {int(i) for i in conn.execute(query).scalars()})


async def _unneeded(session: AsyncSession, rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Those of `rows` (id, uri) that are not the `Create` of a status still there."""
    notes = {uri[:-len(_CREATE)]: uri for _, uri in rows if uri.endswith(_CREATE)}
    live: set[str] = set()
    if notes:
        query = select(Status.uri).where(col(Status.uri).in_(notes),
                                         col(Status.deleted_at).is_(None))
        live = {notes[uri] for uri in (await session.exec(query)).all()}
    return [(i, uri) for i, uri in rows if uri not in live]


async def prune_loop(target: Target, stop: asyncio.Event, *, every: float = PRUNE_EVERY,
                     older_than: timedelta = RETENTION) -> None:
    """Prune finished jobs now and every `every` seconds until `stop` is set: deliveries
    first (folded), then every other queue's done jobs, then the activities nothing needs
    any more; a failed run (a busy database) waits for the next."""
    after = 0  # activities looked at up to here stay looked at while this process runs
    while not stop.is_set():
        try:
            pruned = await prune_deliveries(target, older_than)
            pruned += await prune_done(target, older_than)  # deliveries are folded already
            if pruned:
                log.info("pruned %d finished jobs", pruned)
            removed, after = await prune_activities(target, older_than, after)
            if removed:
                log.info("pruned %d stored activities", removed)
        except Exception:
            log.exception("pruning delivery jobs failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
