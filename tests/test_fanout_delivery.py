"""The fan-out job: one job per activity, a row per inbox written back in batches, failures
retried alone, nothing sent twice when it runs again; and the double knock."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from models.queue import Worker
from models.tables import Job
from models.types import utcnow
from outbox import activities
from outbox.deliver import FANOUT, KIND, Deliverer, dedupe_key, publish
from tests.outbox_fixtures import BASE, add_followers, ctx, local, remote_account, trust  # noqa: F401
from tests.sinks import running_sink, running_sinks


def like(n: int = 1) -> dict:
    return activities.like(f"{BASE}/users/alice#likes/{n}", f"{BASE}/users/alice",
                           "http://elsewhere.example/notes/1")


async def drain(ctx, deliverer: Deliverer) -> None:  # noqa: F811
    worker = Worker(ctx.sessions, deliverer.handlers(), ["deliver"], concurrency=8)
    while await worker.run_once():
        pass


async def all_jobs(ctx) -> list[Job]:  # noqa: F811
    async with ctx.sessions() as session:
        return list((await session.exec(select(Job).order_by(Job.id))).all())


async def followed_on(ctx, sinks, alice, per_sink: int = 1, shared: bool = True):  # noqa: F811
    async with ctx.sessions() as session:
        followers = [remote_account(sink, f"f{i}", shared=shared)
                     for sink in sinks for i in range(per_sink)]
        session.add_all(followers)
        await session.flush()
        await add_followers(session, alice, followers)
        await session.commit()


async def post(ctx, alice, activity) -> int:  # noqa: F811
    async with ctx.sessions() as session:
        planned = await publish(ctx, session, activity, sender=alice)
        await session.commit()
    return planned


async def test_one_fanout_job_then_a_row_per_inbox(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(3) as sinks:
        trust(sinks, ctx, alice)
        await followed_on(ctx, sinks, alice, per_sink=2)  # two followers share each inbox
        activity = like()
        assert await post(ctx, alice, activity) == 3
        [job] = await all_jobs(ctx)
        assert job.kind == FANOUT
        assert sorted(job.payload["inboxes"]) == sorted(f"{s.base}/inbox" for s in sinks)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    for sink in sinks:
        assert sink.counts() == {("/inbox", activity["id"]): 1}
    rows = await all_jobs(ctx)
    assert {job.state for job in rows} == {"done"}
    deliveries = sorted(job.payload["inbox"] for job in rows if job.kind == KIND)
    assert deliveries == sorted(f"{s.base}/inbox" for s in sinks)
    assert all(job.dedupe_key == dedupe_key(activity["id"], job.payload["inbox"])
               for job in rows if job.kind == KIND)


async def test_a_failing_inbox_is_retried_alone(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(3) as (good, flaky, other):
        trust([good, flaky, other], ctx, alice)
        await followed_on(ctx, [good, flaky, other], alice)
        flaky.fail(1, 503)
        activity = like()
        await post(ctx, alice, activity)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        rows = {job.payload.get("inbox"): job for job in await all_jobs(ctx)}
        retry = rows[f"{flaky.base}/inbox"]
        assert retry.state == "queued" and retry.attempts == 1
        assert "503" in (retry.last_error or "")
        assert (retry.run_at - utcnow()).total_seconds() > 50  # backed off
        assert rows[f"{good.base}/inbox"].state == rows[f"{other.base}/inbox"].state == "done"
        async with ctx.sessions() as session:  # the backoff has passed
            await session.exec(sa.update(Job).where(Job.state == "queued").values(run_at=utcnow()))
            await session.commit()
        await drain(ctx, deliverer)
        await deliverer.aclose()
    for sink in (good, flaky, other):
        assert sink.counts() == {("/inbox", activity["id"]): 1}
    again = [job for job in await all_jobs(ctx) if job.payload.get("inbox") == f"{flaky.base}/inbox"]
    assert [(job.state, job.attempts) for job in again] == [("done", 2)]


async def test_a_fanout_run_again_skips_inboxes_already_handled(ctx) -> None:  # noqa: F811
    """As after a crash: the fan-out job is taken again, and inboxes that already have
    their row (delivered, or being retried on their own) get nothing from it."""
    alice = await local(ctx, "alice")
    async with running_sinks(3) as (done, retrying, fresh):
        trust([done, retrying, fresh], ctx, alice)
        await followed_on(ctx, [done, retrying, fresh], alice)
        activity = like()
        await post(ctx, alice, activity)
        async with ctx.sessions() as session:
            [fanout] = (await session.exec(select(Job))).all()
            for sink, state in ((done, "done"), (retrying, "queued")):
                inbox = f"{sink.base}/inbox"
                session.add(Job(queue="deliver", kind=KIND, state=state, attempts=1,
                                run_at=utcnow().replace(year=2100),
                                dedupe_key=dedupe_key(activity["id"], inbox),
                                payload={"activity": fanout.payload["activity"], "inbox": inbox,
                                         "sender": alice.id}))
            await session.commit()
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert done.attempts == retrying.attempts == 0
    assert fresh.counts() == {("/inbox", activity["id"]): 1}


async def test_publishing_again_adds_only_new_inboxes(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(3) as sinks:
        trust(sinks, ctx, alice)
        await followed_on(ctx, sinks[:2], alice)
        activity = like()
        assert await post(ctx, alice, activity) == 2
        await followed_on(ctx, sinks[2:], alice)
        assert await post(ctx, alice, activity) == 1  # the new follower's inbox only
        assert await post(ctx, alice, activity) == 0
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    for sink in sinks:
        assert sink.counts() == {("/inbox", activity["id"]): 1}


async def test_double_knock_then_remembered(ctx) -> None:  # noqa: F811
    """A host that takes only RFC 9421 answers the cavage signature with 401: the delivery
    is signed again the other way at once, and that host gets RFC 9421 from then on."""
    alice = await local(ctx, "alice")
    async with running_sink(schemes=frozenset({"rfc9421"})) as sink:
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        deliverer = Deliverer(ctx)
        await post(ctx, alice, like(1))
        await drain(ctx, deliverer)
        assert sink.attempts == 2 and len(sink.received) == 1
        assert sink.rejected == ["cavage signatures are not taken here"]
        assert "signature-input" in sink.received[0].headers
        assert deliverer.schemes == {sink.domain: "rfc9421"}
        await post(ctx, alice, like(2))
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sink.attempts == 3 and len(sink.received) == 2  # straight to RFC 9421
    assert {job.state for job in await all_jobs(ctx)} == {"done"}


async def test_double_knock_both_refused_is_judged_by_the_first_answer(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sink(schemes=frozenset()) as sink:  # takes no signature at all
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice)
        deliverer = Deliverer(ctx)
        await post(ctx, alice, like())
        await drain(ctx, deliverer)
        await deliverer.aclose()
    [job] = await all_jobs(ctx)
    assert job.state == "queued" and "answered 401" in (job.last_error or "")  # retried later
    assert sink.attempts == 2 and deliverer.schemes == {}


async def test_rows_stay_leased_while_the_fanout_runs(ctx) -> None:  # noqa: F811
    """A fan-out longer than its lease renews the lease of the rows it has not written back:
    a second worker finds nothing to take, and no inbox gets a second copy."""
    from outbox.hosts import DeliveryPolicy

    alice = await local(ctx, "alice")
    async with running_sink(delay=0.5) as sink:
        trust([sink], ctx, alice)
        await followed_on(ctx, [sink], alice, per_sink=6, shared=False)
        activity = like()
        assert await post(ctx, alice, activity) == 6
        policy = DeliveryPolicy(per_host=1, lease=1.0)
        one, two = Deliverer(ctx, policy), Deliverer(ctx, policy)
        workers = [Worker(ctx.sessions, d.handlers(), ["deliver"], worker_id=name, lease=1.0,
                          poll_interval=0.05, concurrency=4)
                   for name, d in (("one", one), ("two", two))]
        import asyncio
        stop = asyncio.Event()
        runs = [asyncio.create_task(worker.run(stop)) for worker in workers]
        while len(sink.received) < 6:  # about 3 s: three times the lease
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # longer than a lease: a stolen row would be sent again
        stop.set()
        await asyncio.gather(*runs)
        await one.aclose()
        await two.aclose()
    assert sink.counts() == {(f"/users/f{i}/inbox", activity["id"]): 1 for i in range(6)}
    assert {job.state for job in await all_jobs(ctx)} == {"done"}
