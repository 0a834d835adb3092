"""Delivery records that outlive a process and a job: the signature standard a host took
is kept in the database, and finished delivery jobs are pruned without losing dedupe or
who got the post."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from models.tables import DeliveredInbox, Host, Job
from models.types import utcnow
from outbox import activities
from outbox.audience import delivered_inboxes
from outbox.deliver import Deliverer, publish
from outbox.prune import prune_deliveries, prune_loop
from tests.outbox_fixtures import BASE, add_followers, ctx, local, remote_account, trust  # noqa: F401
from tests.sinks import running_sink, running_sinks
from tests.test_fanout_delivery import all_jobs, drain, followed_on, like, post


async def _scheme_of(ctx, domain: str) -> str | None:  # noqa: F811
    async with ctx.sessions() as session:
        host = (await session.exec(select(Host).where(Host.domain == domain))).first()
    return host.signature_scheme if host else None


async def test_the_standard_a_host_took_survives_a_restart(ctx) -> None:  # noqa: F811
    """After the double knock, a new process (a fresh Deliverer) signs RFC 9421 at once."""
    alice = await local(ctx, "alice")
    async with running_sink(schemes=frozenset({"rfc9421"})) as sink:
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        first = Deliverer(ctx)
        await post(ctx, alice, like(1))
        await drain(ctx, first)
        await first.aclose()
        assert sink.attempts == 2 and await _scheme_of(ctx, sink.domain) == "rfc9421"
        second = Deliverer(ctx)  # as after a restart, or in another worker process
        await post(ctx, alice, like(2))
        await drain(ctx, second)
        await second.aclose()
    assert sink.attempts == 3 and len(sink.received) == 2
    assert {job.state for job in await all_jobs(ctx)} == {"done"}


async def test_a_fanout_signs_in_the_remembered_standard(ctx) -> None:  # noqa: F811
    """Signatures made ahead in a fan-out use the stored standard: one request per inbox."""
    alice = await local(ctx, "alice")
    async with running_sinks(3, schemes=frozenset({"rfc9421"})) as sinks:
        trust(sinks, ctx, alice)
        await followed_on(ctx, sinks, alice)
        async with ctx.sessions() as session:
            session.add_all([Host(domain=sink.domain, signature_scheme="rfc9421")
                             for sink in sinks])
            await session.commit()
        deliverer = Deliverer(ctx)
        await post(ctx, alice, like())
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert [sink.attempts for sink in sinks] == [1, 1, 1]
    assert all(not sink.rejected for sink in sinks)


async def test_a_host_that_changes_back_is_remembered_again(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sink(schemes=frozenset({"cavage"})) as sink:
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        async with ctx.sessions() as session:
            session.add(Host(domain=sink.domain, signature_scheme="rfc9421"))
            await session.commit()
        deliverer = Deliverer(ctx)
        await post(ctx, alice, like())
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sink.attempts == 2 and len(sink.received) == 1
    assert await _scheme_of(ctx, sink.domain) == "cavage"


async def _age_finished_jobs(ctx, days: int) -> None:  # noqa: F811
    async with ctx.sessions() as session:
        await session.exec(sa.update(Job).where(Job.finished_at.is_not(None))  # type: ignore[union-attr]
                           .values(finished_at=utcnow() - timedelta(days=days)))
        await session.commit()


async def test_pruned_deliveries_are_never_sent_again(ctx) -> None:  # noqa: F811
    """Old finished jobs go; the inboxes that accepted keep a small row, so publishing the
    activity again reaches only the one that refused it, and a Delete still finds them."""
    alice = await local(ctx, "alice")
    async with running_sinks(3) as (one, two, refusing):
        trust([one, two, refusing], ctx, alice)
        await followed_on(ctx, [one, two, refusing], alice)
        refusing.status = 403  # final: the job is dead
        activity = like()
        assert await post(ctx, alice, activity) == 3
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        assert {job.state for job in await all_jobs(ctx)} == {"done", "dead"}
        await _age_finished_jobs(ctx, 8)
        assert await prune_deliveries(ctx.sessions) == 4  # the fan-out job and three rows
        assert await all_jobs(ctx) == []
        accepted = {f"{one.base}/inbox", f"{two.base}/inbox"}
        async with ctx.sessions() as session:
            rows = (await session.exec(select(DeliveredInbox))).all()
            assert {row.inbox for row in rows} == accepted
            assert await delivered_inboxes(session, activity["id"]) == accepted
        refusing.status = 202
        assert await post(ctx, alice, activity) == 1
        await drain(ctx, deliverer)
        await deliverer.aclose()
    for sink in (one, two, refusing):
        assert sink.counts() == {("/inbox", activity["id"]): 1}


async def test_a_waiting_fanout_skips_inboxes_pruned_meanwhile(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(2) as (old, new):
        trust([old, new], ctx, alice)
        await followed_on(ctx, [old, new], alice)
        activity = like()
        await post(ctx, alice, activity)
        async with ctx.sessions() as session:
            [fanout] = (await session.exec(select(Job))).all()
            session.add(DeliveredInbox(activity_id=fanout.payload["activity"],
                                       inbox=f"{old.base}/inbox"))
            await session.commit()
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert old.attempts == 0 and new.counts() == {("/inbox", activity["id"]): 1}


async def test_recent_and_unfinished_jobs_are_kept(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(2) as (good, flaky):
        trust([good, flaky], ctx, alice)
        await followed_on(ctx, [good, flaky], alice)
        flaky.fail(1, 503)
        await post(ctx, alice, like())
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    before = {(job.id, job.state) for job in await all_jobs(ctx)}
    assert ("queued" in {state for _, state in before}) and len(before) == 3
    assert await prune_deliveries(ctx.sessions) == 0  # all finished today
    await _age_finished_jobs(ctx, 8)
    assert await prune_deliveries(ctx.sessions) == 2  # the fan-out job and the good row
    assert [job.state for job in await all_jobs(ctx)] == ["queued"]


async def test_other_queues_are_left_alone(ctx) -> None:  # noqa: F811
    async with ctx.sessions() as session:
        session.add(Job(queue="inbox", kind="activity", state="done",
                        finished_at=utcnow() - timedelta(days=30), payload={}))
        await session.commit()
    assert await prune_deliveries(ctx.sessions) == 0
    assert len(await all_jobs(ctx)) == 1


async def test_the_periodic_task_prunes_then_stops(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sink() as sink:
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        await post(ctx, alice, like())
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    await _age_finished_jobs(ctx, 8)
    async with ctx.sessions() as session:  # other queues: old done jobs go, the rest stay
        session.add_all([
            Job(queue="inbox", kind="activity", state="done", payload={},
                finished_at=utcnow() - timedelta(days=8)),
            Job(queue="inbox", kind="activity", state="done", payload={}, finished_at=utcnow()),
            Job(queue="inbox", kind="activity", state="dead", payload={},
                finished_at=utcnow() - timedelta(days=8)),
        ])
        await session.commit()
    stop = asyncio.Event()
    loop = asyncio.create_task(prune_loop(ctx.sessions, stop, every=0.05))
    for _ in range(100):
        if len(await all_jobs(ctx)) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, 5)
    left = await all_jobs(ctx)
    assert sorted((job.queue, job.state) for job in left) == [("inbox", "dead"), ("inbox", "done")]
    assert all(job.finished_at > utcnow() - timedelta(days=1) for job in left if job.state == "done")
    async with ctx.sessions() as session:
        assert len((await session.exec(select(DeliveredInbox))).all()) == 1
