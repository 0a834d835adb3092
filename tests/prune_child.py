"""A pruning process for tests/test_prune_restart.py, to be killed mid-way.

Usage: python tests/prune_child.py DATABASE_URL BATCH
Folds and prunes finished deliveries, then prunes stored activities, `BATCH` rows per
transaction (small, so there are many to be killed between), as `outbox.prune.prune_loop`
does in one run; prints "started" first and "finished" at the end."""

from __future__ import annotations

import asyncio
import sys

from models.db import make_engine, session_factory
from outbox import prune


async def main(url: str, batch: str) -> None:
    prune._BATCH = int(batch)  # the size of a transaction, not what is pruned
    engine = make_engine(url)
    sessions = session_factory(engine)
    print("started", flush=True)
    await prune.prune_deliveries(sessions)
    await prune.prune_activities(sessions)
    await engine.dispose()
    print("finished", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
