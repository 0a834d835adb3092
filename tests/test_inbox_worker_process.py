"""Activities stored by one process are applied by `fediverse worker --queue inbox` in another,
each once, as an instance that runs its inbox worker beside `fediverse serve --no-workers` does."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from inbox.receive import INBOX_QUEUE
from models.accounts import create_account
from models.queue import enqueue_many
from models.tables import Follow, Job, Mention, Notification, Status
from tests.inbox_support import add, federation, remote
from tests.instances import free_port
from tests.processes import command_env, fediverse_process

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTOR = "https://remote.example/users/bob"


def create(n: int, mention: str) -> dict[str, Any]:
    note = {"id": f"{ACTOR}/statuses/{n}", "type": "Note", "attributedTo": ACTOR,
            "content": f"<p>note {n} <a href=\"{mention}\">@alice</a></p><script>x</script>",
            "to": [PUBLIC], "cc": [mention], "published": "2024-05-01T10:00:00Z",
            "tag": [{"type": "Mention", "href": mention, "name": "@alice"}]}
    return {"id": note["id"] + "/activity", "type": "Create", "actor": ACTOR, "object": note}


async def store(ctx, activities: list[dict[str, Any]]) -> list[bool]:  # type: ignore[no-untyped-def]
    """As the inbox stores what it accepts: one job per activity, deduplicated by its id."""
    items = [({"activity": a, "recipient": None, "signer": ACTOR + "#main-key"}, a["id"])
             for a in activities]
    async with ctx.sessions() as session:
        added = await enqueue_many(session, INBOX_QUEUE, "activity", items)
        await session.commit()
    return added


async def count(ctx, query: Any) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return int((await session.exec(query)).one())


async def until_applied(ctx, child) -> None:  # type: ignore[no-untyped-def]
    """Until no inbox job is waiting or running (the worker's stderr if it dies first)."""
    waiting = (select(sa.func.count()).select_from(Job)
               .where(Job.queue == INBOX_QUEUE, Job.state.in_(["queued", "running"])))  # type: ignore[attr-defined]
    for _ in range(600):
        if child.returncode is not None:
            raise AssertionError((await child.stderr.read()).decode())
        if await count(ctx, waiting) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker process did not apply the activities")


async def test_a_worker_process_applies_what_another_process_stored(database_url, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with federation(database_url, base) as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote(ACTOR)
        await add(ctx, bob)
        await add(ctx, Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"))
        mention = f"{base}/users/alice"
        first = [create(n, mention) for n in range(150)]
        assert all(await store(ctx, first))

        env = command_env(tmp_path, database_url, port, FEDIVERSE_ALLOW_PRIVATE_NETWORKS="1")
        async with fediverse_process(env, "worker", "--queue", "inbox") as child:
            await until_applied(ctx, child)
            # more while it runs (nothing wakes it from here), and the first ones again
            second = [create(n, mention) for n in range(150, 300)]
            assert all(await store(ctx, second))
            redelivered = [dict(a, id=a["id"] + "/again") for a in first[:20]]
            assert all(await store(ctx, redelivered))
            await until_applied(ctx, child)

        statuses = select(sa.func.count()).select_from(Status).where(Status.account_id == bob.id)
        assert await count(ctx, statuses) == 300
        assert await count(ctx, select(sa.func.count(sa.distinct(Status.uri)))
                           .where(Status.account_id == bob.id)) == 300
        assert await count(ctx, select(sa.func.count()).select_from(Mention)) == 300
        notified = select(sa.func.count()).select_from(Notification).where(
            Notification.account_id == alice.id, Notification.type == "mention")
        assert await count(ctx, notified) == 300
        async with ctx.sessions() as session:
            jobs = list(await session.exec(select(Job).where(Job.queue == INBOX_QUEUE)))
        assert len(jobs) == 320 and {job.state for job in jobs} == {"done"}
        async with ctx.sessions() as session:
            kept = (await session.exec(select(Status).where(
                Status.uri == f"{ACTOR}/statuses/7"))).one()
        assert "<script>" not in kept.content and "note 7" in kept.content
