"""Fan-out and delivery against real sink servers that verify every signature."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models.queue import Worker
from models.tables import Host, Job
from models.types import utcnow
from outbox import activities
from outbox.deliver import Deliverer, publish
from outbox.hosts import DeliveryPolicy, mark_host_available
from tests.outbox_fixtures import BASE, add_followers, ctx, local, remote_account, trust  # noqa: F401
from tests.sinks import running_sink, running_sinks


def note_activity(n: int = 1) -> dict:
    return activities.like(f"{BASE}/users/alice#likes/{n}", f"{BASE}/users/alice",
                           "http://elsewhere.example/notes/1")


async def drain(ctx, deliverer: Deliverer, *, concurrency: int = 16) -> None:  # noqa: F811
    """Run every due delivery job to its end."""
    worker = Worker(ctx.sessions, deliverer.handlers(), ["deliver"], concurrency=concurrency)
    while await worker.run_once():
        pass


async def jobs(ctx) -> list[Job]:  # noqa: F811
    async with ctx.sessions() as session:
        return list((await session.exec(select(Job).order_by(Job.id))).all())


async def due_now(ctx) -> None:  # noqa: F811
    """Skip the backoff wait of queued jobs."""
    async with ctx.sessions() as session:
        await session.exec(sa.update(Job).where(Job.state == "queued").values(run_at=utcnow()))
        await session.commit()


async def host(ctx, domain: str) -> Host | None:  # noqa: F811
    async with ctx.sessions() as session:
        return (await session.exec(select(Host).where(Host.domain == domain))).first()


async def test_one_delivery_per_distinct_inbox(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(3) as (shared, personal, mentioned):
        trust([shared, personal, mentioned], ctx, alice)
        async with ctx.sessions() as session:
            many = [remote_account(shared, f"s{i}") for i in range(5)]
            few = [remote_account(personal, f"p{i}", shared=False) for i in range(3)]
            bob = remote_account(mentioned, "bob")
            session.add_all([*many, *few, bob])
            await session.flush()
            await add_followers(session, alice, [*many, *few, bob])
            activity = note_activity()
            sent = await publish(ctx, session, activity, sender=alice, recipients=[bob, few[0]])
            again = await publish(ctx, session, activity, sender=alice)
            await session.commit()
        assert (sent, again) == (5, 0)  # 1 shared + 3 personal + 1 shared; nothing twice
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert shared.counts() == {("/inbox", activity["id"]): 1}
    assert personal.counts() == {(f"/users/p{i}/inbox", activity["id"]): 1 for i in range(3)}
    assert mentioned.counts() == {("/inbox", activity["id"]): 1}
    received = shared.received[0]
    assert received.body == activity
    assert received.headers["content-type"] == "application/activity+json"
    assert received.headers["user-agent"] == "fediverse-test/1"
    assert received.headers["digest"].startswith("SHA-256=")
    assert 'headers="(request-target) host date digest content-type"' in received.headers["signature"]
    assert 'algorithm="rsa-sha256"' in received.headers["signature"]
    assert not shared.rejected and not personal.rejected
    assert {job.state for job in await jobs(ctx)} == {"done"}


async def test_no_followers_or_only_local_ones_means_no_jobs(ctx) -> None:  # noqa: F811
    alice, carol = await local(ctx, "alice"), await local(ctx, "carol")
    async with ctx.sessions() as session:
        await add_followers(session, alice, [carol])
        assert await publish(ctx, session, note_activity(), sender=alice, recipients=[carol]) == 0
        await session.commit()
    assert await jobs(ctx) == []


async def test_excluded_hosts_get_nothing(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(2) as (kept, excluded):
        async with ctx.sessions() as session:
            a, b = remote_account(kept, "a"), remote_account(excluded, "b")
            session.add_all([a, b])
            await session.flush()
            await add_followers(session, alice, [a, b])
            sent = await publish(ctx, session, note_activity(), sender=alice,
                                 exclude_hosts=[excluded.domain])
            await session.commit()
    assert sent == 1
    assert [job.payload["inbox"] for job in await jobs(ctx)] == [f"{kept.base}/inbox"]


async def test_concurrency_per_host_is_bounded(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sink(delay=0.05) as sink:
        trust([sink], ctx, alice)
        async with ctx.sessions() as session:
            followers = [remote_account(sink, f"f{i}", shared=False) for i in range(24)]
            session.add_all(followers)
            await session.flush()
            await add_followers(session, alice, followers)
            await publish(ctx, session, note_activity(), sender=alice)
            await session.commit()
        deliverer = Deliverer(ctx, DeliveryPolicy(per_host=3))
        await drain(ctx, deliverer, concurrency=24)
        await deliverer.aclose()
    assert len(sink.received) == 24
    assert sink.most_in_flight == 3


async def _one_delivery(ctx, sink) -> tuple:  # noqa: F811
    alice = await local(ctx, "alice")
    trust([sink], ctx, alice)
    async with ctx.sessions() as session:
        bob = remote_account(sink, "bob")
        session.add(bob)
        await session.flush()
        await publish(ctx, session, note_activity(), sender=alice, recipients=[bob])
        await session.commit()
    return alice, bob


async def test_retry_with_backoff_then_success(ctx) -> None:  # noqa: F811
    async with running_sink() as sink:
        await _one_delivery(ctx, sink)
        sink.fail(2, 503)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        [job] = await jobs(ctx)
        assert job.state == "queued" and "503" in (job.last_error or "")
        assert job.run_at > utcnow() + timedelta(seconds=50)  # backed off, not hammered
        assert job.max_attempts == 16
        assert (await host(ctx, sink.domain)).failures == 1
        for _ in range(2):
            await due_now(ctx)
            await drain(ctx, deliverer)
        await deliverer.aclose()
    [job] = await jobs(ctx)
    assert job.state == "done" and job.attempts == 3
    assert len(sink.received) == 1
    healthy = await host(ctx, sink.domain)
    assert healthy.failures == 0 and healthy.last_success_at is not None


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
async def test_4xx_is_final(ctx, status) -> None:  # noqa: F811
    async with running_sink(status=status) as sink:
        await _one_delivery(ctx, sink)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    [job] = await jobs(ctx)
    assert job.state == "dead" and job.attempts == 1
    assert f"answered {status}" in (job.last_error or "")
    assert await host(ctx, sink.domain) is None  # an answer is no failure of the host


@pytest.mark.parametrize("status", [408, 429, 500, 502])  # 401: see test_fanout_knock.py
async def test_retryable_answers_are_retried(ctx, status) -> None:  # noqa: F811
    async with running_sink() as sink:
        await _one_delivery(ctx, sink)
        sink.fail(1, status)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        [job] = await jobs(ctx)
        assert job.state == "queued"
        await due_now(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    [job] = await jobs(ctx)
    assert job.state == "done" and len(sink.received) == 1


async def test_unreachable_host_counts_failures(ctx) -> None:  # noqa: F811
    async with running_sink() as sink:
        await _one_delivery(ctx, sink)
    # the sink is gone: the connection is refused
    deliverer = Deliverer(ctx)
    await drain(ctx, deliverer)
    await deliverer.aclose()
    [job] = await jobs(ctx)
    assert job.state == "queued" and "ConnectError" in (job.last_error or "")
    assert (await host(ctx, sink.domain)).failures == 1


async def test_host_unavailable_then_recovered(ctx) -> None:  # noqa: F811
    policy = DeliveryPolicy(unavailable_after_failures=2, refresh=0.0)
    async with running_sink() as sink:
        alice, bob = await _one_delivery(ctx, sink)
        sink.fail(2, 503)
        deliverer = Deliverer(ctx, policy)
        await drain(ctx, deliverer)
        await due_now(ctx)
        await drain(ctx, deliverer)
        down = await host(ctx, sink.domain)
        assert down.failures == 2 and down.unavailable_since is not None
        assert down.next_probe_at > utcnow() + timedelta(minutes=50)

        async def send(n: int) -> None:
            async with ctx.sessions() as session:
                await publish(ctx, session, note_activity(n), sender=alice, recipients=[bob])
                await session.commit()
            await due_now(ctx)
            await drain(ctx, deliverer)

        attempts = sink.attempts
        await send(2)  # skipped: no request reaches the host
        assert sink.attempts == attempts
        skipped = [job for job in await jobs(ctx) if job.state == "dead"]
        assert len(skipped) == 2 and all("unavailable" in job.last_error for job in skipped)

        async with ctx.sessions() as session:  # the probe is due
            await session.exec(sa.update(Host).values(next_probe_at=utcnow()))
            await session.commit()
        await send(3)  # the probe gets through, and the host is healthy again
        await send(4)
        await deliverer.aclose()
    assert {body["id"] for body in sink.bodies()} == {note_activity(n)["id"] for n in (3, 4)}
    healthy = await host(ctx, sink.domain)
    assert healthy.failures == 0 and healthy.unavailable_since is None


async def test_mark_host_available(ctx) -> None:  # noqa: F811
    async with ctx.sessions() as session:
        session.add(Host(domain="down.example", failures=9, unavailable_since=utcnow(),
                         first_failure_at=utcnow()))
        await session.commit()
    async with ctx.sessions() as session:
        await mark_host_available(session, "down.example")
        await session.commit()
    row = await host(ctx, "down.example")
    assert row.failures == 0 and row.unavailable_since is None and row.first_failure_at is None


async def test_private_addresses_are_refused_unless_allowed(ctx) -> None:  # noqa: F811
    ctx.allow_private = False
    async with running_sink() as sink:
        await _one_delivery(ctx, sink)
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    [job] = await jobs(ctx)
    assert job.state == "dead" and "refused" in job.last_error
    assert sink.attempts == 0
