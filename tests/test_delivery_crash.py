"""A delivery worker killed in the middle of a fan-out: another one finishes it, and every
inbox gets the activity, a second copy only where a POST was sent but its outcome not yet
written back at the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from models.tables import Job
from outbox import activities
from outbox.deliver import publish
from tests.outbox_fixtures import BASE, add_followers, ctx, local, remote_account, trust  # noqa: F401
from tests.sinks import running_sinks

ROOT = Path(__file__).resolve().parent.parent
HOSTS, PER_HOST = 4, 30


async def start_worker(database_url: str, worker_id: str) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "delivery_child.py"), database_url, BASE, worker_id,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
    assert line.decode().strip() == "started", (await child.stderr.read()).decode()  # type: ignore[union-attr]
    return child


async def test_killed_worker_mid_fan_out_loses_nothing(ctx, database_url) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sinks(HOSTS, delay=0.05) as sinks:
        trust(sinks, ctx, alice)
        async with ctx.sessions() as session:
            followers = [remote_account(sink, f"f{i}", shared=False)
                         for sink in sinks for i in range(PER_HOST)]
            session.add_all(followers)
            await session.flush()
            await add_followers(session, alice, followers)
            activity = activities.like(f"{BASE}/users/alice#likes/1", f"{BASE}/users/alice",
                                       "http://elsewhere.example/notes/1")
            assert await publish(ctx, session, activity, sender=alice) == HOSTS * PER_HOST
            await session.commit()

        victim = await start_worker(database_url, "victim")
        while sum(len(s.received) for s in sinks) < HOSTS * PER_HOST // 4:
            await asyncio.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        await asyncio.sleep(0.5)  # what the victim wrote before dying reaches the sinks
        sent = sum(sink.attempts for sink in sinks)  # POSTs that reached a sink, answered or not
        async with ctx.sessions() as session:
            states = dict((await session.exec(
                select(Job.state, sa.func.count()).where(Job.kind == "deliver")
                .group_by(Job.state))).all())
        # killed mid-way, with work left
        assert states.get("done", 0) < HOSTS * PER_HOST, states
        assert states.get("queued", 0) + states.get("running", 0) > 0, states
        # a POST can arrive twice only if it was sent and its outcome not yet written back
        unrecorded = sent - states.get("done", 0)

        survivor = await start_worker(database_url, "survivor")
        await asyncio.wait_for(survivor.wait(), timeout=40)
        assert survivor.returncode == 0, (await survivor.stderr.read()).decode()  # type: ignore[union-attr]

    for sink in sinks:
        counts = sink.counts()
        expected = {(f"/users/f{i}/inbox", activity["id"]) for i in range(PER_HOST)}
        assert set(counts) == expected  # every inbox got it
        assert not sink.rejected
    copies = sum(sum(sink.counts().values()) for sink in sinks)
    assert copies - HOSTS * PER_HOST <= unrecorded  # a second copy only of a POST cut short
    async with ctx.sessions() as session:
        done = (await session.exec(select(Job.state).distinct())).all()
    assert list(done) == ["done"]
