"""The durable job queue, on SQLite and PostgreSQL: claiming, retries, leases, dead workers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from models_fixtures import engine, sessions  # noqa: F401

from models.db import make_engine
from models.queue import (
    PermanentJobError,
    Worker,
    backoff,
    claim,
    complete,
    enqueue,
    fail,
    heartbeat,
    prune_done,
)
from models.tables import Job
from models.types import utcnow

ROOT = Path(__file__).resolve().parent.parent


async def add(sessions, queue: str = "q", kind: str = "work", **kwargs: Any) -> Job:  # noqa: F811
    async with sessions() as session:
        payload = kwargs.pop("payload", {"n": 0})
        job = await enqueue(session, queue, kind, payload, **kwargs)
        await session.commit()
    assert job is not None
    return job


async def load(sessions, job_id: int) -> Job:  # noqa: F811
    async with sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def make_due(sessions, job_id: int) -> None:  # noqa: F811
    """Skip the backoff wait (tests only)."""
    async with sessions() as session:
        await session.exec(sa.update(Job).where(Job.id == job_id).values(run_at=utcnow()))
        await session.commit()


async def test_enqueue_and_dedupe(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        first = await enqueue(session, "inbox", "apply", {"id": "https://a/1"}, dedupe_key="a1")
        again = await enqueue(session, "inbox", "apply", {"id": "https://a/1"}, dedupe_key="a1")
        other_queue = await enqueue(session, "deliver", "post", {"x": 1}, dedupe_key="a1")
        plain = [await enqueue(session, "inbox", "apply", {"n": i}) for i in range(2)]
        await session.commit()
    assert first is not None and other_queue is not None and again is None
    assert all(job is not None for job in plain)
    async with sessions() as session:
        count = (await session.exec(sa.select(sa.func.count()).select_from(Job))).scalar_one()
    assert count == 4
    stored = await load(sessions, first.id)
    assert stored.payload == {"id": "https://a/1"} and stored.state == "queued"
    assert stored.attempts == 0 and stored.max_attempts == 10


async def test_long_dedupe_keys_are_hashed(sessions) -> None:  # noqa: F811
    key = "https://remote.example/activities/" + "x" * 3000
    first = await add(sessions, dedupe_key=key)
    assert first.dedupe_key is not None and first.dedupe_key.startswith("sha256:")
    async with sessions() as session:
        assert await enqueue(session, "q", "work", {}, dedupe_key=key) is None


async def test_enqueue_rolls_back_with_its_transaction(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        await enqueue(session, "q", "work", {}, dedupe_key="k")
        await session.rollback()
    await add(sessions, dedupe_key="k")  # the key was never taken


async def test_claim_order_limit_and_queues(engine, sessions) -> None:  # noqa: F811
    now = utcnow()
    jobs = [await add(sessions, payload={"n": i}, run_at=now - timedelta(minutes=10 - i))
            for i in range(5)]
    later = await add(sessions, run_at=now + timedelta(hours=1))
    elsewhere = await add(sessions, queue="other")
    first = await claim(engine, ["q"], "w1", limit=3, lease=30)
    assert [j.id for j in first] == [j.id for j in jobs[:3]]
    for job in first:
        assert job.state == "running" and job.locked_by == "w1" and job.attempts == 1
        assert job.locked_until is not None and job.locked_until > utcnow()
    second = await claim(sessions, ["q"], "w2", limit=10)
    assert [j.id for j in second] == [j.id for j in jobs[3:]]
    assert await claim(engine, ["q"], "w3") == []
    assert (await load(sessions, later.id)).state == "queued"
    both = await claim(engine, ["q", "other"], "w4")
    assert [j.id for j in both] == [elsewhere.id]


async def test_concurrent_claimers_never_share_a_job(database_url, sessions) -> None:  # noqa: F811
    total = 60
    engines = [make_engine(database_url) for _ in range(6)]  # separate connections
    # each claimer connected (and its statements compiled) before the race: a cold one
    # could otherwise start only once a warm one had taken every job
    assert await asyncio.gather(*(claim(e, ["q"], "warm") for e in engines)) == [[]] * 6
    for i in range(total):
        await add(sessions, payload={"n": i})

    async def drain(index: int) -> list[int]:
        got: list[int] = []
        while batch := await claim(engines[index], ["q"], f"w{index}", limit=4):
            got.extend(job.id for job in batch)
            # a worker works between claims: without it, on SQLite the claimer holding the
            # lock can take it again before the busy handlers of the others wake up
            await asyncio.sleep(0.01)
        return got

    try:
        results = await asyncio.gather(*(drain(i) for i in range(len(engines))))
    finally:
        for e in engines:
            await e.dispose()
    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == total
    assert len(set(claimed)) == total
    assert sum(1 for result in results if result) > 1  # the work really was shared


async def test_retry_with_backoff_then_success(sessions) -> None:  # noqa: F811
    calls: list[int] = []

    async def flaky(payload: dict, job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) == 1:
            raise ConnectionError("host is down")

    job = await add(sessions)
    worker = Worker(sessions, {"work": flaky}, ["q"])
    assert await worker.run_once() == 1
    after_failure = await load(sessions, job.id)
    assert after_failure.state == "queued" and after_failure.attempts == 1
    assert "ConnectionError: host is down" in (after_failure.last_error or "")
    wait = (after_failure.run_at - utcnow()).total_seconds()
    assert 0.9 * backoff_base(1) - 2 < wait <= 1.1 * backoff_base(1)
    assert await worker.run_once() == 0  # not due yet
    await make_due(sessions, job.id)
    assert await worker.run_once() == 1
    done = await load(sessions, job.id)
    assert done.state == "done" and done.attempts == 2 and done.finished_at is not None
    assert calls == [1, 2]


def backoff_base(attempt: int) -> float:
    return min(30.0 * 2**attempt, 86400.0)


async def test_dead_after_max_attempts(sessions) -> None:  # noqa: F811
    async def broken(payload: dict, job: Job) -> None:
        raise RuntimeError(f"attempt {job.attempts}")

    job = await add(sessions, max_attempts=3)
    worker = Worker(sessions, {"work": broken}, ["q"])
    for attempt in range(1, 4):
        assert await worker.run_once() == 1
        state = await load(sessions, job.id)
        assert state.attempts == attempt
        if attempt < 3:
            assert state.state == "queued"
            await make_due(sessions, job.id)
    assert state.state == "dead" and state.last_error == "RuntimeError: attempt 3"
    assert state.finished_at is not None
    assert await worker.run_once() == 0


async def test_permanent_error_and_unknown_kind_are_dead_at_once(sessions) -> None:  # noqa: F811
    async def refuses(payload: dict, job: Job) -> None:
        raise PermanentJobError("410 Gone")

    refused = await add(sessions)
    unknown = await add(sessions, kind="no-such-kind")
    worker = Worker(sessions, {"work": refuses}, ["q"])
    assert await worker.run_once() == 2
    first, second = await load(sessions, refused.id), await load(sessions, unknown.id)
    assert first.state == "dead" and first.attempts == 1
    assert first.last_error == "PermanentJobError: 410 Gone"
    assert second.state == "dead" and "no handler" in (second.last_error or "")


async def test_expired_lease_is_reclaimed(engine, sessions) -> None:  # noqa: F811
    job = await add(sessions)
    [taken] = await claim(engine, ["q"], "dies", lease=0.1)
    assert await claim(engine, ["q"], "rescuer") == []  # still leased
    await asyncio.sleep(0.25)
    [again] = await claim(engine, ["q"], "rescuer")
    assert again.id == taken.id == job.id and again.attempts == 2
    assert again.locked_by == "rescuer"
    # the first worker wakes up late: it no longer owns the job
    assert not await complete(engine, job.id, worker_id="dies")
    assert await fail(engine, job.id, "late", worker_id="dies") is None
    assert await complete(engine, job.id, worker_id="rescuer")
    assert (await load(sessions, job.id)).state == "done"


async def test_expired_lease_on_last_attempt_is_dead(engine, sessions) -> None:  # noqa: F811
    job = await add(sessions, max_attempts=1)
    await claim(engine, ["q"], "dies", lease=0.05)
    await asyncio.sleep(0.15)
    assert await claim(engine, ["q"], "rescuer") == []
    dead = await load(sessions, job.id)
    assert dead.state == "dead" and "lease expired" in (dead.last_error or "")


async def test_heartbeat_keeps_a_long_job(engine, sessions) -> None:  # noqa: F811
    job = await add(sessions)
    stolen: list[Job] = []

    async def slow(payload: dict, job: Job) -> None:
        for _ in range(8):  # 0.8 s, far past the 0.3 s lease, heartbeats every 0.1 s
            await asyncio.sleep(0.1)
            stolen.extend(await claim(engine, ["q"], "thief"))

    worker = Worker(sessions, {"work": slow}, ["q"], lease=0.3)
    assert await worker.run_once() == 1
    assert stolen == []
    done = await load(sessions, job.id)
    assert done.state == "done" and done.attempts == 1
    assert await heartbeat(engine, [job.id], 10) == 0  # done jobs are not extended


async def test_killed_worker_process_job_is_finished_by_another(  # noqa: F811
    database_url, sessions
) -> None:
    job = await add(sessions, payload={"n": 7})
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "queue_child.py"), database_url, "q",
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line.decode().strip() == "running 7", (await child.stderr.read()).decode()
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    running = await load(sessions, job.id)
    assert running.state == "running" and running.locked_by == "victim"

    seen: list[dict] = []

    async def finish(payload: dict, job: Job) -> None:
        seen.append(payload)

    worker = Worker(sessions, {"work": finish}, ["q"], worker_id="survivor")
    for _ in range(40):  # the victim's 1 s lease runs out
        if await worker.run_once():
            break
        await asyncio.sleep(0.1)
    done = await load(sessions, job.id)
    assert seen == [{"n": 7}]
    assert done.state == "done" and done.attempts == 2


async def test_run_wakes_on_enqueue_and_stops(sessions) -> None:  # noqa: F811
    finished = asyncio.Event()

    async def handle(payload: dict, job: Job) -> None:
        finished.set()

    stop = asyncio.Event()
    worker = Worker(sessions, {"work": handle}, ["q"], poll_interval=30)
    runner = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)  # the worker found nothing and sleeps for 30 s
    job = await add(sessions)
    worker.wake()
    await asyncio.wait_for(finished.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)
    assert (await load(sessions, job.id)).state == "done"


async def test_stopping_hands_unfinished_jobs_back(sessions) -> None:  # noqa: F811
    started = asyncio.Event()

    async def endless(payload: dict, job: Job) -> None:
        started.set()
        await asyncio.sleep(3600)

    job = await add(sessions)
    stop = asyncio.Event()
    worker = Worker(sessions, {"work": endless}, ["q"], shutdown_grace=0.1)
    runner = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)
    back = await load(sessions, job.id)
    assert back.state == "queued" and back.attempts == 0 and back.locked_by is None


async def test_prune_done_keeps_recent_and_unfinished(engine, sessions) -> None:  # noqa: F811
    old, recent, waiting = await add(sessions), await add(sessions), await add(sessions)
    for job in await claim(engine, ["q"], "w", limit=2):
        await complete(engine, job.id)
    async with sessions() as session:
        await session.exec(sa.update(Job).where(Job.id == old.id)
                           .values(finished_at=utcnow() - timedelta(days=8)))
        await session.commit()
    assert await prune_done(engine, timedelta(days=7)) == 1
    async with sessions() as session:
        left = set((await session.exec(sa.select(Job.id))).scalars())
    assert left == {recent.id, waiting.id}


async def test_prune_done_goes_a_batch_per_transaction(engine, sessions) -> None:  # noqa: F811
    jobs = [await add(sessions) for _ in range(5)]
    for job in await claim(engine, ["q"], "w", limit=4):
        await complete(engine, job.id)
    async with sessions() as session:
        await session.exec(sa.update(Job).where(Job.state == "done")
                           .values(finished_at=utcnow() - timedelta(days=8)))
        await session.commit()
    assert await prune_done(engine, timedelta(days=7), batch=3) == 4
    async with sessions() as session:
        left = set((await session.exec(sa.select(Job.id))).scalars())
    assert left == {jobs[4].id}  # the one still queued


async def test_claims_search_the_index_not_the_jobs_done(engine) -> None:  # noqa: F811
    """A claim reads the due jobs through the (queue, state, run_at) index, however many
    done ones a busy inbox keeps; it never scans the table."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    from models.queue import _sqlite_claim_statements

    statement = str(_sqlite_claim_statements(2, 60.0)[1])
    for name in ("worker", "until", "now", "limit", "q0", "q1"):
        statement = statement.replace(f":{name}", "?")
    async with engine.connect() as connection:
        plan = (await connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, ("w", "", "a", "b", "", "a", "b", "", 10))).all()
    searches = [row[-1] for row in plan if "ix_jobs_queue_state_run_at" in row[-1]]
    assert len(searches) == 2, plan  # queued ones, and running ones whose lease ran out
    assert all("(queue=? AND state=?" in step for step in searches), searches
    assert not any(row[-1].startswith("SCAN jobs") for row in plan), plan


def test_backoff_grows_is_capped_and_lasts_days() -> None:
    for attempt in range(1, 20):
        value = backoff(attempt)
        assert 0.9 * backoff_base(attempt) <= value <= 1.1 * backoff_base(attempt)
    assert backoff(2) > backoff(1) * 1.5
    assert backoff(30) <= 86400 * 1.1
    assert sum(backoff(a) for a in range(1, 16)) > 3 * 86400  # 16 attempts span days
    assert len({backoff(5) for _ in range(20)}) > 1  # jittered


async def test_heartbeat_of_nothing_or_unowned(engine) -> None:  # noqa: F811
    assert await heartbeat(engine, [], 10) == 0
    assert await heartbeat(engine, [12345], 10, worker_id="nobody") == 0
