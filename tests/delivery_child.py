"""A delivery worker process for tests/test_delivery_crash.py.

Usage: python tests/delivery_child.py DATABASE_URL BASE_URL WORKER_ID
Runs the "deliver" queue (1 s leases, a fan-out's rows too) and exits once no delivery is
queued or running."""

from __future__ import annotations

import asyncio
import sys

import sqlalchemy as sa
from sqlmodel import select

from activitypub.fetch import Fetcher
from models.db import make_engine, session_factory
from models.queue import Worker
from models.tables import Job
from outbox.context import Context
from outbox.deliver import Deliverer
from outbox.hosts import DeliveryPolicy
from outbox.urls import Urls


async def unfinished(ctx: Context) -> int:
    query = select(sa.func.count()).select_from(Job).where(
        Job.queue == "deliver", Job.state.in_(["queued", "running"]))  # type: ignore[attr-defined]
    async with ctx.sessions() as session:
        return int((await session.exec(query)).one())


async def main(url: str, base: str, worker_id: str) -> None:
    engine = make_engine(url)
    ctx = Context(sessions=session_factory(engine), urls=Urls(base), domain="local.example",
                  fetcher=Fetcher(user_agent="child/1"), user_agent="child/1",
                  allow_private=True, allow_http=True)
    deliverer = Deliverer(ctx, DeliveryPolicy(lease=1.0))
    worker = Worker(ctx.sessions, deliverer.handlers(), ["deliver"], worker_id=worker_id,
                    concurrency=16, lease=1.0, poll_interval=0.1)
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop))
    print("started", flush=True)
    while await unfinished(ctx):
        await asyncio.sleep(0.1)
    stop.set()
    await run
    await deliverer.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
