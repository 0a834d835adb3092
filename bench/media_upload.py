"""What durable media files cost: `POST /api/v2/media` through a running instance (SQLite),
with the files fsynced as the server writes them (`fediverse.media.storage.write_durably`)
and, for comparison in the same process, with `os.fsync` made a no-op (the files as they were
written before: renamed into place, on disk whenever the kernel gets to it).

Rounds alternate between the two so that both see the same load. Reported per upload: wall
time (median and mean), this process's CPU time, and the time spent inside fsync.

    python bench/media_upload.py [--uploads 40] [--rounds 2] [--size 1024x768]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, signed_in  # noqa: E402

_REAL_FSYNC = os.fsync
_SYNCED = [0, 0.0]  # calls, seconds


def _timed_fsync(fd: int) -> None:
    started = time.perf_counter()
    _REAL_FSYNC(fd)
    _SYNCED[0] += 1
    _SYNCED[1] += time.perf_counter() - started


def _no_fsync(fd: int) -> None:
    _SYNCED[0] += 1


def photo(width: int, height: int) -> bytes:
    """A JPEG with some detail (noise over a gradient), as a camera's would have."""
    noise = Image.frombytes("L", (width, height), os.urandom(width * height))
    image = Image.merge("RGB", (noise, Image.linear_gradient("L").resize((width, height)),
                                noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def upload_round(client: httpx.AsyncClient, data: bytes, count: int
                       ) -> tuple[list[float], float, int, float]:
    walls: list[float] = []
    _SYNCED[:] = [0, 0.0]
    cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        reply = await client.post("/api/v2/media", files={"file": ("p.jpg", data, "image/jpeg")})
        walls.append(time.perf_counter() - started)
        if reply.status_code != 200:
            raise SystemExit(f"upload answered {reply.status_code}: {reply.text[:200]}")
    return walls, time.process_time() - cpu, int(_SYNCED[0]), float(_SYNCED[1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=40, help="uploads per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each mode")
    parser.add_argument("--size", default="1024x768")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    data = photo(width, height)
    print(machine())
    print(f"upload: {width}x{height} JPEG, {len(data) / 1024:.0f} KiB; "
          f"loadavg before: {Path('/proc/loadavg').read_text().split()[:3]}")
    results: dict[str, list[tuple[list[float], float, int, float]]] = {"durable": [], "no-fsync": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as root:
        async with signed_in(Path(root)) as (_, client):
            await upload_round(client, data, 3)  # warm up
            for _ in range(args.rounds):
                for mode, fsync in (("durable", _timed_fsync), ("no-fsync", _no_fsync)):
                    os.fsync = fsync
                    try:
                        results[mode].append(await upload_round(client, data, args.uploads))
                    finally:
                        os.fsync = _REAL_FSYNC
    print(f"loadavg after: {Path('/proc/loadavg').read_text().split()[:3]}")
    for mode, rounds in results.items():
        walls = [w for r in rounds for w in r[0]]
        count = len(walls)
        cpu = sum(r[1] for r in rounds) / count
        syncs = sum(r[2] for r in rounds) / count
        synced = sum(r[3] for r in rounds) / count
        print(f"{mode:9s} {count} uploads: wall median {statistics.median(walls) * 1000:.1f} ms, "
              f"mean {statistics.fmean(walls) * 1000:.1f} ms; CPU {cpu * 1000:.1f} ms; "
              f"{syncs:.1f} fsync calls, {synced * 1000:.1f} ms in fsync (per upload)")


if __name__ == "__main__":
    asyncio.run(main())
