"""Audit of issue 3's "failures retried with exponential backoff for days; a host that
keeps failing is marked unavailable": the time rule (failing for a day with no success),
besides the count rule tests/test_delivery.py checks."""

from __future__ import annotations

from datetime import timedelta

from models.tables import Host
from models.types import utcnow
from outbox.deliver import Deliverer
from outbox.hosts import DeliveryPolicy
from tests.outbox_fixtures import ctx  # noqa: F401
from tests.sinks import running_sink
from tests.test_delivery import _one_delivery, drain, due_now, host, jobs, note_activity, publish


async def test_a_host_failing_for_a_day_is_unavailable_after_few_failures(ctx) -> None:  # noqa: F811
    policy = DeliveryPolicy(refresh=0.0)  # 50 failures, or a day of failing
    async with running_sink() as sink:
        alice, bob = await _one_delivery(ctx, sink)
        async with ctx.sessions() as session:  # it has been failing since yesterday
            session.add(Host(domain=sink.domain, failures=2,
                             first_failure_at=utcnow() - timedelta(hours=25)))
            await session.commit()
        sink.fail(1, 503)
        deliverer = Deliverer(ctx, policy)
        await drain(ctx, deliverer)
        down = await host(ctx, sink.domain)
        assert down.failures == 3 and down.unavailable_since is not None
        [job] = await jobs(ctx)
        assert job.state == "queued" and job.max_attempts == 16  # retried later, for days
        attempts = sink.attempts
        async with ctx.sessions() as session:
            await publish(ctx, session, note_activity(2), sender=alice, recipients=[bob])
            await session.commit()
        await due_now(ctx)
        await drain(ctx, deliverer)
        assert sink.attempts == attempts  # skipped: no request reached it
        assert {job.state for job in await jobs(ctx)} == {"dead"}
        assert all("unavailable" in (job.last_error or "") for job in await jobs(ctx))
        await deliverer.aclose()


async def test_a_host_failing_for_less_than_a_day_stays_available(ctx) -> None:  # noqa: F811
    policy = DeliveryPolicy(refresh=0.0)
    async with running_sink() as sink:
        await _one_delivery(ctx, sink)
        async with ctx.sessions() as session:
            session.add(Host(domain=sink.domain, failures=2,
                             first_failure_at=utcnow() - timedelta(hours=20)))
            await session.commit()
        sink.fail(1, 503)
        deliverer = Deliverer(ctx, policy)
        await drain(ctx, deliverer)
        down = await host(ctx, sink.domain)
        assert down.failures == 3 and down.unavailable_since is None
        await due_now(ctx)
        await drain(ctx, deliverer)  # the retry gets through: healthy again
        await deliverer.aclose()
    healthy = await host(ctx, sink.domain)
    assert healthy.failures == 0 and healthy.first_failure_at is None
    assert [job.state for job in await jobs(ctx)] == ["done"]
