"""What `PRAGMA synchronous=FULL` costs against NORMAL on SQLite (WAL), A/B in one process:
`POST /api/v1/statuses` (text only) through a running instance, rounds alternating between
the two settings (each switch closes the pooled connections, so that new ones take it), and
bare commits of one small row on the same database file for the floor.

    python bench/sqlite_synchronous.py [--posts 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import models.db  # noqa: E402
from bench._common import machine, signed_in  # noqa: E402

MODES = ("NORMAL", "FULL")


async def use(engine: sa.ext.asyncio.AsyncEngine, mode: str) -> None:
    """New connections from now on get `mode`: the pooled ones are closed."""
    models.db.SQLITE_SYNCHRONOUS = mode
    await engine.dispose()
    for known in (models.db._SYNC_WRITERS, models.db._SYNC_READERS):
        found = known.get(engine.sync_engine)
        if found is not None:
            found[0].dispose()


async def posts(client: httpx.AsyncClient, count: int) -> tuple[list[float], float]:
    walls, cpu = [], time.process_time()
    for n in range(count):
        started = time.perf_counter()
        reply = await client.post("/api/v1/statuses", data={"status": f"note {n}"})
        walls.append(time.perf_counter() - started)
        if reply.status_code != 200:
            raise SystemExit(f"post answered {reply.status_code}: {reply.text[:200]}")
    return walls, (time.process_time() - cpu) / count


async def commits(engine: sa.ext.asyncio.AsyncEngine, count: int) -> tuple[list[float], float]:
    walls, cpu = [], time.process_time()
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
        assert mode == {"NORMAL": 1, "FULL": 2}[models.db.SQLITE_SYNCHRONOUS], mode
        await connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_rows (v TEXT)")
        await connection.commit()
        for _ in range(count):
            started = time.perf_counter()
            await connection.exec_driver_sql("INSERT INTO bench_rows VALUES ('x')")
            await connection.commit()
            walls.append(time.perf_counter() - started)
    return walls, (time.process_time() - cpu) / count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=60, help="posts (and commits) per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each setting")
    args = parser.parse_args()
    print(machine())
    print(f"loadavg before: {Path('/proc/loadavg').read_text().split()[:3]}")
    found: dict[tuple[str, str], list[tuple[list[float], float]]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as root:
        async with signed_in(Path(root)) as (inst, client):
            engine = inst.state.engine
            await posts(client, 10)  # warm up
            for _ in range(args.rounds):
                for mode in MODES:
                    await use(engine, mode)
                    found.setdefault(("create", mode), []).append(
                        await posts(client, args.posts))
                    found.setdefault(("commit", mode), []).append(
                        await commits(engine, args.posts))
            models.db.SQLITE_SYNCHRONOUS = "FULL"
    print(f"loadavg after: {Path('/proc/loadavg').read_text().split()[:3]}")
    for (what, mode), rounds in found.items():
        walls = sorted(w for r in rounds for w in r[0])
        cpu = statistics.fmean(r[1] for r in rounds)
        print(f"{what:6s} {mode:6s} {len(walls)}: median {statistics.median(walls) * 1000:.2f} ms, "
              f"p10 {walls[len(walls) // 10] * 1000:.2f} ms, mean {statistics.fmean(walls) * 1000:.2f}"
              f" ms; CPU {cpu * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
