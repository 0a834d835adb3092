"""One PostgreSQL round trip (`SELECT 1`) by each way the server reads, to see what each
layer costs on top of the driver's own round trip (issue 4: the home timeline).

- asyncpg: the driver alone, one connection.
- reads.read + fetch: `models.reads.read` (autocommit engine, no ping) running
  `models.reads.fetch`, as the timelines do.
- reads.read + execute: the same through SQLAlchemy's `Connection.execute`.
- engine.connect: the app's main engine (`pool_pre_ping`, transaction and reset on return).
- session: an ORM session of the app's main engine, one query and close.

    python bench/pg_roundtrip.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench._common import machine  # noqa: E402
from models.db import make_engine, session_factory  # noqa: E402
from models.reads import fetch, read  # noqa: E402


async def timed(name: str, call: Callable[[], Awaitable[Any]], count: int) -> None:
    for _ in range(count // 10):  # warm-up
        await call()
    wall, cpu = [], []
    for _ in range(count):
        started, used = time.perf_counter(), time.process_time()
        await call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    wall.sort()
    print(f"{name:24} median {statistics.median(wall) * 1000:6.3f} ms   "
          f"p99 {wall[int(count * 0.99) - 1] * 1000:6.3f} ms   "
          f"CPU median {statistics.median(cpu) * 1000:6.3f} ms")


async def main(url: str, count: int) -> None:
    raw = await asyncpg.connect(url)
    engine = make_engine(url)
    one, text = sa.select(sa.literal(1)), sa.text("SELECT 1")
    sessions = session_factory(engine)

    async def via_engine() -> Any:
        async with engine.connect() as conn:
            return (await conn.execute(text)).all()

    async def via_session() -> Any:
        async with sessions() as session:
            return (await session.exec(one)).all()

    try:
        await timed("asyncpg", lambda: raw.fetch("SELECT 1"), count)
        await timed("reads.read + fetch", lambda: read(engine, lambda c: fetch(c, one, {})), count)
        await timed("reads.read + execute",
                    lambda: read(engine, lambda c: c.execute(text).all()), count)
        await timed("engine.connect", via_engine, count)
        await timed("session", via_session, count)
    finally:
        await raw.close()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    asyncio.run(main(args.url, args.count))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
