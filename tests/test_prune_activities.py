"""Stored activities and their delivered-inbox rows are pruned once nothing needs them: a
status's `Create` stays while the status does (its edits and `Delete` reach whoever got it),
an activity a delivery job names stays, the rest goes after the retention period."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from models.ids import new_id
from models.tables import DeliveredInbox, Follow, Job, OutboxActivity, Status
from models.types import utcnow
from outbox import actions, activities
from outbox.audience import delivered_inboxes
from outbox.deliver import Deliverer
from outbox.prune import RETENTION, prune_activities, prune_deliveries
from tests.outbox_fixtures import BASE, ctx, local, trust  # noqa: F401
from tests.sinks import running_sinks
from tests.test_fanout_delivery import all_jobs, drain, followed_on, like, post

NOW = timedelta(0)  # "older than nothing": everything finished counts as old


async def _uris(ctx) -> set[str]:  # noqa: F811
    async with ctx.sessions() as session:
        return set((await session.exec(select(OutboxActivity.uri))).all())


async def _delivered(ctx) -> set[tuple[str, str]]:  # noqa: F811
    async with ctx.sessions() as session:
        query = (select(OutboxActivity.uri, DeliveredInbox.inbox)
                 .join(OutboxActivity, col(OutboxActivity.id) == DeliveredInbox.activity_id))
        return set((await session.exec(query)).all())  # type: ignore[arg-type]


async def _act(ctx, action, *args, **options):  # noqa: F811
    async with ctx.sessions() as session:
        fresh = [await session.get(type(row), row.id) for row in args]
        return await action(ctx, session, *fresh, **options)


async def test_what_is_kept_and_what_goes(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(2) as (one, two):
        trust([one, two], ctx, alice)
        await followed_on(ctx, [one, two], alice)
        kept = await _act(ctx, actions.post_status, alice, text="still here")
        gone = await _act(ctx, actions.post_status, alice, text="deleted later")
        liked = like(1)
        await post(ctx, alice, liked)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await _act(ctx, actions.delete_status, gone)
        await drain(ctx, deliverer)
        two.status = 503  # this Like waits for a retry: its job names it
        waiting = like(2)
        await post(ctx, alice, waiting)
        await drain(ctx, deliverer)
        inboxes = {f"{one.base}/inbox", f"{two.base}/inbox"}
        create_kept = activities.create_id(kept.uri)
        create_gone = activities.create_id(gone.uri)
        delete_gone = gone.uri + "#delete"
        assert await _uris(ctx) == {create_kept, create_gone, liked["id"], delete_gone,
                                    waiting["id"]}

        # within the retention period nothing goes, whatever the jobs
        assert (await prune_activities(ctx.sessions))[0] == 0
        assert await prune_deliveries(ctx.sessions, NOW) > 0  # folded
        assert {job.state for job in await all_jobs(ctx)} == {"queued"}
        removed, after = await prune_activities(ctx.sessions, NOW)
        assert removed == 3  # the Like, and the deleted status's Create and Delete
        assert await _uris(ctx) == {create_kept, waiting["id"]}
        assert await _delivered(ctx) == {(create_kept, inbox) for inbox in inboxes} | {
            (waiting["id"], f"{one.base}/inbox")}  # the held Like: where it got already
        async with ctx.sessions() as session:
            waiting_id = (await session.exec(select(OutboxActivity.id).where(
                OutboxActivity.uri == waiting["id"]))).one()
        assert after < waiting_id  # the next run looks at the held row again

        # the kept rows still do their work: the Delete reaches both hosts that got the post
        # though neither follows any more
        async with ctx.sessions() as session:
            await session.exec(sa.delete(Follow))  # type: ignore[call-overload]
            await session.exec(sa.update(Job).values(run_at=utcnow()))  # the retry is due
            await session.commit()
            assert await delivered_inboxes(session, create_kept) == inboxes
        two.status = 202
        await _act(ctx, actions.delete_status, kept)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    for sink in (one, two):
        assert sink.counts().get(("/inbox", kept.uri + "#delete")) == 1
    # the Like delivered at last, then pruned; the kept status's rows went with its Delete
    await prune_deliveries(ctx.sessions, NOW)
    assert await all_jobs(ctx) == []
    assert (await prune_activities(ctx.sessions, NOW, after))[0] == 3
    assert await _uris(ctx) == set() and await _delivered(ctx) == set()


async def test_a_create_passed_over_goes_with_its_delete(ctx) -> None:  # noqa: F811
    """A run that goes on from where the last stopped still finds the `Create` of a status
    deleted since: it goes with the status's `Delete`."""
    alice = await local(ctx, "alice")
    async with running_sinks(1) as (sink,):
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        status = await _act(ctx, actions.post_status, alice, text="soon gone")
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await prune_deliveries(ctx.sessions, NOW)
        removed, after = await prune_activities(ctx.sessions, NOW)
        assert removed == 0 and await _uris(ctx) == {activities.create_id(status.uri)}
        await _act(ctx, actions.delete_status, status)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sink.counts().get(("/inbox", status.uri + "#delete")) == 1
    await prune_deliveries(ctx.sessions, NOW)
    assert (await prune_activities(ctx.sessions, NOW, after))[0] == 2
    assert await _uris(ctx) == set() and await _delivered(ctx) == set()


async def test_old_rows_by_age_and_by_job(ctx) -> None:  # noqa: F811
    """Back-dated rows, as after weeks of running: the old one that no job names goes with
    its delivered-inbox rows; a recent one, an old one a retried job names, and the old
    `Create` of a status still there stay."""
    alice = await local(ctx, "alice")
    old = utcnow() - RETENTION - timedelta(days=3)
    rows = {name: OutboxActivity(id=new_id(at), uri=f"{BASE}/x/{name}", account_id=alice.id,
                                 body={"id": f"{BASE}/x/{name}", "type": "Like"}, created_at=at)
            for name, at in (("old", old), ("retried", old), ("recent", utcnow()),
                             ("post/activity", old))}
    async with ctx.sessions() as session:
        session.add_all(rows.values())
        await session.flush()
        session.add_all([DeliveredInbox(activity_id=row.id, inbox=f"https://{n}.example/inbox")
                         for row in rows.values() for n in ("a", "b")])
        session.add(Job(queue="deliver", kind="deliver", state="queued", dedupe_key="k",
                        payload={"activity": rows["retried"].id, "inbox": "https://c.example/i",
                                 "sender": alice.id}))
        session.add(Status(account_id=alice.id, uri=f"{BASE}/x/post", local=True))
        await session.commit()
    removed, after = await prune_activities(ctx.sessions)
    assert removed == 1
    kept = {f"{BASE}/x/retried", f"{BASE}/x/recent", f"{BASE}/x/post/activity"}
    assert await _uris(ctx) == kept and {uri for uri, _ in await _delivered(ctx)} == kept
    assert after == rows["retried"].id - 1  # held by its job; a live `Create` holds nothing
    async with ctx.sessions() as session:  # the job is done with: the next run takes the row
        await session.exec(sa.delete(Job))  # type: ignore[call-overload]
        await session.commit()
    assert (await prune_activities(ctx.sessions, after=after))[0] == 1
    assert await _uris(ctx) == {f"{BASE}/x/recent", f"{BASE}/x/post/activity"}
