"""Direct conversations list latency through the client API (issue 4).

The viewer takes part in `--conversations` conversations (500) of `--directs` direct statuses
(20,000) in all, with 100 remote authors who also wrote `--publics` public statuses (20,000)
the viewer sees on the home timeline (the viewer follows them all). Every 5th direct status is
the viewer's own, mentioning its author; the others mention the viewer. The conversations
are computed at read time (`models.conversations`), so their cost grows with the viewer's
direct statuses; posting costs nothing more.

- conversations: `GET /api/v1/conversations?limit=20` (full entities).
- conversations page 2: the same with `max_id` at the 20th conversation.
- home (baseline, same run): `GET /api/v1/timelines/home?limit=20`.

    python bench/conversations.py [--database sqlite|postgresql|both] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench._common import machine  # noqa: E402
from bench.timeline import Driver, _ids, drop, prepare, summary, timed  # noqa: E402
from fediverse.app import create_app  # noqa: E402
from fediverse.settings import Settings  # noqa: E402
from models.accounts import create_account  # noqa: E402
from models.db import make_engine, session_factory  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.tables import Account, Follow, Mention, Status  # noqa: E402
from models.tokens import create_token  # noqa: E402

AUTHORS = 100


async def seed(url: str, directs: int, conversations: int, publics: int) -> str:
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session:
            viewer = await create_account(session, "viewer", password=None)
            token = await create_token(session, viewer, "read write")
            await session.commit()
            viewer_id = viewer.id
        authors = _ids(AUTHORS, now - timedelta(days=400), timedelta(seconds=1))
        accounts = [dict(id=aid, kind="remote", username=f"u{i}", domain="h.bench.test",
                         uri=f"https://h.bench.test/users/u{i}", fields=[], also_known_as=[],
                         created_at=now, updated_at=now) for i, aid in enumerate(authors)]
        total = directs + publics
        ids = _ids(total, now - timedelta(days=30), timedelta(seconds=30 * 86400 / total))
        statuses, mentions, follows = [], [], []
        for a in authors:
            follows.append(dict(id=len(follows) + 1, account_id=viewer_id, target_account_id=a,
                                state="accepted", uri=f"https://bench.localhost/f/{a}",
                                created_at=now))
        for i, sid in enumerate(ids):
            direct = (i * directs) // total != ((i + 1) * directs) // total  # evenly spread
            author = authors[i % AUTHORS]
            d = (i * directs) // total  # the direct status's number
            mine = direct and d % 5 == 0
            conv = f"tag:h.bench.test,2026:objectId={d % conversations}:objectType=Conversation"
            statuses.append(dict(
                id=sid, uri=f"https://h.bench.test/s/{sid}", account_id=viewer_id if mine
                else author, local=mine, content=f"<p>Status {i}.</p>", text="",
                spoiler_text="", sensitive=False, visibility="direct" if direct else "public",
                conversation=conv if direct else None, created_at=now, pending=False))
            if direct:
                mentions.append(dict(id=sid, status_id=sid,
                                     account_id=author if mine else viewer_id))
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Account.__table__), accounts)  # type: ignore[attr-defined]
            await conn.execute(sa.insert(Follow.__table__), follows)  # type: ignore[attr-defined]
            for start in range(0, len(statuses), 5000):
                await conn.execute(sa.insert(Status.__table__),  # type: ignore[attr-defined]
                                   statuses[start:start + 5000])
            await conn.execute(sa.insert(Mention.__table__), mentions)  # type: ignore[attr-defined]
        return token
    finally:
        await engine.dispose()


async def measure(url: str, data_dir: Path, token: str, requests: int) -> dict[str, Any]:
    settings = Settings(domain="bench.localhost", data_dir=data_dir, database_url=url,
                        image_model="tiny", device="cpu", insecure_http=True)
    app = create_app(settings, run_workers=False)
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        api = Driver(app, token, settings.domain)
        status, body = await api.request("GET", "/api/v1/conversations?limit=20")
        assert status == 200 and len(orjson.loads(body)) == 20, body[:200]
        twentieth = orjson.loads(body)[-1]["last_status"]["id"]

        async def get(path: str) -> Any:
            async def call(_: int) -> None:
                status, body = await api.request("GET", path)
                assert status == 200, body[:200]
            return call

        for name, path in (("conversations", "/api/v1/conversations?limit=20"),
                           ("conversations page 2",
                            f"/api/v1/conversations?limit=20&max_id={twentieth}"),
                           ("home", "/api/v1/timelines/home?limit=20")):
            call = await get(path)
            await timed(call, 20)  # warm-up
            results[name] = summary(await timed(call, requests))
    return results


async def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = await prepare(backend, data_dir)
        try:
            await upgrade(url)
            started = time.perf_counter()
            token = await seed(url, args.directs, args.conversations, args.publics)
            print(f"{backend}: seeded in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            return await measure(url, data_dir, token, args.requests)
        finally:
            await drop(backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--directs", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--publics", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for backend in backends:
        result = asyncio.run(run(backend, args))
        print(f"\n{backend}: {args.directs} direct statuses in {args.conversations} "
              f"conversations, {args.publics} public")
        print(f"{'':21} {'median':>9} {'p99':>9} {'mean':>9} {'CPU median':>11}")
        for name, r in result.items():
            print(f"{name:21} {r['median_ms']:7.2f}ms {r['p99_ms']:7.2f}ms "
                  f"{r['mean_ms']:7.2f}ms {r['cpu_ms']:9.2f}ms")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
