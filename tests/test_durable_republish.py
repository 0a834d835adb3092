"""An activity older than the retention, published again while a prune run deletes the rows
nothing names: the prune leaves it, so the new delivery jobs find their activity."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from models.ids import new_id
from models.queue import write_session
from models.tables import Job, OutboxActivity
from models.types import utcnow
from outbox.deliver import publish
from outbox.prune import RETENTION, prune_activities
from tests.outbox_fixtures import BASE, ctx, local  # noqa: F401

INBOX = "https://remote.example/inbox"


def like(n: int) -> dict[str, object]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{BASE}/likes/{n}",
            "type": "Like", "actor": f"{BASE}/users/alice",
            "object": f"https://remote.example/notes/{n}"}


async def stored_long_ago(ctx, alice, activity) -> int:  # noqa: F811
    """A row stored, delivered and its jobs pruned well over the retention period ago."""
    then = utcnow() - RETENTION - timedelta(days=1)
    async with ctx.sessions() as session:
        row = OutboxActivity(id=new_id(at=then), uri=activity["id"], account_id=alice.id,
                             body=activity, created_at=then)
        session.add(row)
        await session.commit()
    return row.id


async def prune_waits(ctx, prune: asyncio.Task) -> None:  # noqa: F811
    """Until the prune run has read which activities jobs name and waits for our
    transaction: on PostgreSQL its DELETE waits for the row we locked; on SQLite it waits
    for the process's one writer."""
    async with ctx.sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert not prune.done(), prune.result()  # it did not wait: it deleted under us
        if postgres:
            async with ctx.sessions() as session:
                waiting = (await session.exec(sa.text(  # type: ignore[call-overload]
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'DELETE FROM outbox_activities%'"))).scalar()
            if waiting:
                return
        elif time.monotonic() > deadline - 9:  # a second: it has long read the jobs
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the prune run never waited for the publishing transaction")


async def test_published_again_while_a_prune_run_deletes_it(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    activity = like(1)
    old_id = await stored_long_ago(ctx, alice, activity)
    async with write_session(ctx.sessions) as session:
        assert await publish(ctx, session, activity, sender=alice, followers=False,
                             inboxes=[INBOX]) == 1
        prune = asyncio.create_task(prune_activities(ctx.sessions))
        await prune_waits(ctx, prune)
        await session.commit()
    removed, _ = await prune
    assert removed == 0
    async with ctx.sessions() as session:
        job = (await session.exec(select(Job))).one()
        row = await session.get(OutboxActivity, job.payload["activity"])
    assert job.payload["inbox"] == INBOX and job.state == "queued"
    assert row is not None and row.id == old_id and row.body == activity  # first copy kept
    assert row.created_at > utcnow() - timedelta(minutes=5)  # published again just now

    # nothing names it once its job is gone, but it was published within the retention
    async with ctx.sessions() as session:
        await session.exec(sa.delete(Job))  # type: ignore[call-overload]
        await session.commit()
    assert (await prune_activities(ctx.sessions))[0] == 0
    assert (await prune_activities(ctx.sessions, timedelta(0)))[0] == 1


async def test_a_row_pruned_first_is_stored_afresh(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    activity = like(2)
    old_id = await stored_long_ago(ctx, alice, activity)
    assert (await prune_activities(ctx.sessions))[0] == 1
    async with write_session(ctx.sessions) as session:
        assert await publish(ctx, session, activity, sender=alice, followers=False,
                             inboxes=[INBOX]) == 1
        await session.commit()
    async with ctx.sessions() as session:
        job = (await session.exec(select(Job))).one()
        row = await session.get(OutboxActivity, job.payload["activity"])
    assert row is not None and row.id != old_id and row.uri == activity["id"]
