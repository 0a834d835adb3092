"""A worker process for tests/test_queue.py: claims one job, says so, then hangs in it
until it is killed. Usage: python tests/queue_child.py DATABASE_URL QUEUE"""

from __future__ import annotations

import asyncio
import sys

from models.db import make_engine, session_factory
from models.queue import Worker


async def main(url: str, queue: str) -> None:
    engine = make_engine(url)

    async def hang(payload: dict, job: object) -> None:
        print(f"running {payload['n']}", flush=True)
        await asyncio.sleep(3600)

    worker = Worker(session_factory(engine), {"work": hang}, [queue], worker_id="victim",
                    lease=1.0)
    await worker.run_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
