"""A pruning process killed mid-way loses nothing: killed while folding finished deliveries,
every inbox that accepted an activity is still known (a job or a folded row); killed while
pruning stored activities, every row still needed is there; the next run finishes the work."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from models.ids import new_id
from models.tables import DeliveredInbox, Job, OutboxActivity, Status
from models.types import utcnow
from outbox.activities import create_id
from outbox.prune import RETENTION, prune_activities, prune_deliveries
from tests.outbox_fixtures import BASE, ctx, local  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
LIVE, DELETED, LIKES, INBOXES = 30, 30, 60, 5
BATCH = "5"


def _inbox(n: int) -> str:
    return f"https://h{n}.example/inbox"


async def _fill(ctx, alice) -> tuple[set[str], set[str]]:  # noqa: F811
    """Weeks-old activities with finished delivery jobs: the `Create`s of statuses still
    there, of deleted statuses (with their `Delete`s), and `Like`s, the last of which has a
    retry still waiting. Returns (all activity uris, those still needed)."""
    old = utcnow() - RETENTION - timedelta(days=3)
    finished = utcnow() - RETENTION - timedelta(days=1)
    statuses, rows = [], []
    for n in range(LIVE + DELETED):
        note = f"{BASE}/users/alice/statuses/{n}"
        gone = n >= LIVE
        statuses.append(Status(id=new_id(old), uri=note, account_id=alice.id, created_at=old,
                               deleted_at=old if gone else None))
        rows.append(create_id(note))
        if gone:
            rows.append(note + "#delete")
    rows += [f"{BASE}/users/alice#likes/{n}" for n in range(LIKES)]
    activities = [OutboxActivity(id=new_id(old), uri=uri, account_id=alice.id,
                                 body={"id": uri}, created_at=old) for uri in rows]
    jobs = [Job(queue="deliver", kind="deliver", state="done", finished_at=finished,
                dedupe_key=f"{a.uri} {_inbox(i)}", created_at=old,
                payload={"activity": a.id, "inbox": _inbox(i), "sender": alice.id})
            for a in activities for i in range(INBOXES)]
    held = activities[-1]
    jobs.append(Job(queue="deliver", kind="deliver", state="queued", created_at=old,
                    dedupe_key=f"{held.uri} {_inbox(INBOXES)}",
                    payload={"activity": held.id, "inbox": _inbox(INBOXES), "sender": alice.id}))
    async with ctx.sessions() as session:
        session.add_all(statuses)
        session.add_all(activities)
        await session.flush()
        session.add_all(jobs)
        await session.commit()
    needed = {create_id(s.uri) for s in statuses if s.deleted_at is None} | {held.uri}
    return set(rows), needed


async def _state(ctx) -> tuple[set[str], set[tuple[str, str]], int]:  # noqa: F811
    """The activities there, the (activity, inbox) pairs known to have been accepted (a done
    job or a folded row), and how many done jobs are left."""
    async with ctx.sessions() as session:
        ids = dict((await session.exec(select(OutboxActivity.id, OutboxActivity.uri))).all())
        jobs = (await session.exec(select(Job).where(Job.state == "done"))).all()
        folded = (await session.exec(select(DeliveredInbox.activity_id,
                                            DeliveredInbox.inbox))).all()
    accepted = {(ids[j.payload["activity"]], j.payload["inbox"]) for j in jobs}
    accepted |= {(ids[a], inbox) for a, inbox in folded}  # a folded row's activity is there
    return set(ids.values()), accepted, len(jobs)


async def _start(database_url: str) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "prune_child.py"), database_url, BATCH,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
    assert line.decode().strip() == "started", (await child.stderr.read()).decode()  # type: ignore[union-attr]
    return child


async def _kill_when(child: asyncio.subprocess.Process,
                     ready: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(6000):
        if await ready():
            break
        assert child.returncode is None, (await child.stderr.read()).decode()  # type: ignore[union-attr]
        await asyncio.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    await child.wait()


async def _count(ctx, table, *where) -> int:  # noqa: F811
    async with ctx.sessions() as session:
        query = select(sa.func.count()).select_from(table).where(*where)
        return int((await session.exec(query)).one())


async def test_a_prune_killed_mid_way_loses_nothing(ctx, database_url) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    everything, needed = await _fill(ctx, alice)
    uris, accepted, done = await _state(ctx)
    assert uris == everything and done == len(everything) * INBOXES

    # killed while folding: every accepted inbox is still known, no activity is gone yet
    child = await _start(database_url)
    await _kill_when(child, lambda: _folding_started(ctx, done))
    uris, known, left = await _state(ctx)
    assert 0 < left < done  # killed mid-way
    assert known == accepted and uris == everything

    # killed while pruning activities: every row still needed is there, with its inboxes
    child = await _start(database_url)
    await _kill_when(child, lambda: _pruning_started(ctx, len(everything)))
    uris, known, left = await _state(ctx)
    assert left == 0 and needed <= uris and len(needed) < len(uris) < len(everything)
    assert {(uri, inbox) for uri, inbox in accepted if uri in uris} == known

    # the next run finishes: the needed rows and their inboxes, nothing else
    await prune_deliveries(ctx.sessions)
    await prune_activities(ctx.sessions)
    uris, known, left = await _state(ctx)
    assert uris == needed and left == 0
    assert known == {(uri, _inbox(i)) for uri in needed for i in range(INBOXES)}
    assert await _count(ctx, Job) == 1  # the waiting retry


async def _folding_started(ctx, done: int) -> bool:  # noqa: F811
    return await _count(ctx, Job, Job.state == "done") < done


async def _pruning_started(ctx, total: int) -> bool:  # noqa: F811
    return await _count(ctx, OutboxActivity) < total
