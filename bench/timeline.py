"""Home timeline and status creation latency through the client API (issue 4).

The database holds `--statuses` statuses (100,000) by 2,000 remote authors on 20 hosts,
1,000 of whom the viewer follows (`--follows`, every other author), so every other status,
all through the table, belongs on the home timeline. Like a real server's: every 3rd status
has an image, every 10th mentions the viewer, every 7th carries a hashtag, every 20th is a
boost of an earlier status, every 15th a reply, and the viewer has favourited and
bookmarked some. The 1,000 followed authors (on 10 of the hosts, with shared inboxes)
follow the viewer back, so a new status is delivered to 10 inboxes (jobs enqueued; no
worker runs).

Requests go through the whole ASGI app (middleware, routing, auth, handler, JSON) called
in-process with a hand-built HTTP scope: no socket and no HTTP client, so the numbers are
the server's own time for one request.

- home: `GET /api/v1/timelines/home?limit=20` (full Mastodon entities, viewer flags).
- home min_id: the 20 statuses above the 40th of the home timeline (`min_id`), as a
  client catching up asks: read by author (`models.timelines.home_rows`).
- home sparse: the home timeline of the loner, who follows one author: too few of the
  newest statuses are theirs, so it is read by author too.
- floor (baseline, same run): a bare route (same middleware-free starlette, same engine and
  read path, `models.reads`) doing a token lookup and `SELECT ... FROM statuses ORDER BY id
  DESC LIMIT 20`, serialising the raw rows with no entity rendering: about what any
  authenticated page pays before it does real work.
- create: `POST /api/v1/statuses` with a short text (no media, no image generation).
- write floor (baseline, same run): a bare route doing the token lookup, then one `INSERT`
  of a status row and `COMMIT` through the app's writer session: what any write pays.

    python bench/timeline.py [--database sqlite|postgresql|both] [--requests 2000]

`--profile N` measures nothing: it seeds, then prints cProfile's top functions over N warm
home requests (to stderr), for each database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bench._common import machine  # noqa: E402
from fediverse.app import create_app  # noqa: E402
from fediverse.settings import Settings  # noqa: E402
from models.accounts import create_account  # noqa: E402
from models.db import make_engine, session_factory  # noqa: E402
from models.ids import new_id  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.tables import (  # noqa: E402
    Account,
    Bookmark,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    OAuthToken,
    Status,
    StatusTag,
    Tag,
)
from models.tokens import create_token, token_digest  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = f"bench_timeline_{os.getpid()}"  # runs side by side each get their own
HOSTS = 20
AUTHORS = 2000


# ---- the data ----

def _ids(count: int, start: datetime, step: timedelta) -> list[int]:
    """Time-sortable ids as Mastodon makes them, one per `step` from `start`."""
    base = int(start.timestamp() * 1000)
    ms = int(step.total_seconds() * 1000)
    return [((base + i * ms) << 16) | (i & 0xFFFF) for i in range(count)]


async def seed(url: str, statuses: int, follows: int) -> tuple[str, str]:
    """Fill the database; returns the bearer tokens of the viewer and of a loner, who
    follows one author: a sparse home timeline (one status among the newest 2,000)."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session:
            viewer = await create_account(session, "viewer", password=None)
            token = await create_token(session, viewer, "read write follow")
            loner = await create_account(session, "loner", password=None)
            loner_token = await create_token(session, loner, "read")
            await session.commit()
            viewer_id, loner_id = viewer.id, loner.id
        account_ids = _ids(AUTHORS, now - timedelta(days=400), timedelta(seconds=1))
        accounts = [dict(
            id=aid, kind="remote", username=f"user{i}", domain=f"h{i % HOSTS}.bench.test",
            display_name=f"User {i}", note="<p>Hello, I post pictures.</p>",
            uri=f"https://h{i % HOSTS}.bench.test/users/user{i}",
            url=f"https://h{i % HOSTS}.bench.test/@user{i}",
            inbox=f"https://h{i % HOSTS}.bench.test/users/user{i}/inbox",
            shared_inbox=f"https://h{i % HOSTS}.bench.test/inbox",
            key_id=f"https://h{i % HOSTS}.bench.test/users/user{i}#main-key",
            avatar_url=f"https://h{i % HOSTS}.bench.test/avatars/{i}.png",
            fields=[], also_known_as=[], created_at=now - timedelta(days=400),
            updated_at=now) for i, aid in enumerate(account_ids)]
        followed = account_ids[::2][:follows]
        status_ids = _ids(statuses, now - timedelta(days=30),
                          timedelta(seconds=30 * 86400 / statuses))
        rows, media, mentions, tagged, favs, marks = [], [], [], [], [], []
        for i, sid in enumerate(status_ids):
            author = account_ids[i % AUTHORS]
            host = f"h{(i % AUTHORS) % HOSTS}.bench.test"
            row = dict(id=sid, uri=f"https://{host}/statuses/{sid}",
                       url=f"https://{host}/@u/{sid}", account_id=author, local=False,
                       content=f"<p>Status number {i}, with a few words of text.</p>",
                       text="", spoiler_text="", sensitive=False, visibility="public",
                       language="en", reblog_of_id=None, in_reply_to_id=None,
                       in_reply_to_account_id=None, pending=False,
                       created_at=datetime.fromtimestamp((sid >> 16) / 1000, UTC))
            if i % 20 == 19:
                row.update(reblog_of_id=status_ids[i - 11], content="",
                           uri=f"https://{host}/statuses/{sid}/activity")
            elif i % 15 == 14:
                row.update(in_reply_to_id=status_ids[i - 3],
                           in_reply_to_account_id=account_ids[(i - 3) % AUTHORS])
            rows.append(row)
            if row["reblog_of_id"] is None:
                if i % 3 == 0:
                    media.append(dict(
                        id=sid + 1, account_id=author, status_id=sid, type="image",
                        remote_url=f"https://{host}/media/{sid}.png", description="a picture",
                        blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj", width=512, height=512,
                        state="ready", position=0, meta={}, focus_x=0.0, focus_y=0.0,
                        created_at=row["created_at"]))
                if i % 10 == 0:
                    mentions.append(dict(id=sid + 2, status_id=sid, account_id=viewer_id))
                if i % 7 == 0:
                    tagged.append(dict(id=sid + 3, status_id=sid, tag_id=1 + i % 50))
                if i % 11 == 0:
                    favs.append(dict(id=sid + 4, account_id=viewer_id, status_id=sid,
                                     created_at=row["created_at"]))
                if i % 13 == 0:
                    marks.append(dict(id=sid + 5, account_id=viewer_id, status_id=sid,
                                      created_at=row["created_at"]))
        follow_rows = [dict(id=aid + 7, account_id=viewer_id, target_account_id=aid,
                            state="accepted", created_at=now) for aid in followed]
        follow_rows += [dict(id=aid + 8, account_id=aid, target_account_id=viewer_id,
                             state="accepted", created_at=now) for aid in followed]
        follow_rows.append(dict(id=account_ids[0] + 9, account_id=loner_id,
                                target_account_id=account_ids[0], state="accepted",
                                created_at=now))
        tags = [dict(id=1 + t, name=f"topic{t}", created_at=now) for t in range(50)]
        async with engine.begin() as conn:
            for table, data in ((Account, accounts), (Tag, tags), (Status, rows),
                                (MediaAttachment, media), (Mention, mentions),
                                (StatusTag, tagged), (Favourite, favs), (Bookmark, marks),
                                (Follow, follow_rows)):
                for start in range(0, len(data), 2000):
                    await conn.execute(sa.insert(table.__table__), data[start:start + 2000])
        if engine.dialect.name == "postgresql":  # as autovacuum leaves a loaded table
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM ANALYZE"))
        return token, loner_token
    finally:
        await engine.dispose()


# ---- the ASGI driver ----

class Driver:
    """Calls an ASGI app with one HTTP request at a time, in this process."""

    def __init__(self, app: Any, token: str, host: str) -> None:
        self.app, self.host = app, host.encode()
        self.auth = f"Bearer {token}".encode()

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: bytes = b"") -> tuple[int, bytes]:
        raw_path, _, query = path.partition("?")
        headers = [(b"host", self.host), (b"authorization", self.auth)]
        if body:
            headers += [(b"content-type", content_type),
                        (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": raw_path,
                 "raw_path": raw_path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8000)}
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def floor_app(state: Any) -> Starlette:
    """The baseline: token check, then the newest 20 statuses as raw rows, no entities."""
    from models.reads import read

    tokens = OAuthToken.__table__  # type: ignore[attr-defined]
    check = sa.select(tokens.c.id).where(tokens.c.token_sha256 == sa.bindparam("digest"),
                                         tokens.c.revoked_at.is_(None))
    query = sa.select(Status.__table__).order_by(Status.__table__.c.id.desc()).limit(20)

    def work(conn: sa.Connection, digest: str) -> list[dict[str, Any]] | None:
        if conn.execute(check, {"digest": digest}).first() is None:
            return None
        return [dict(r) for r in conn.execute(query).mappings()]

    async def newest(request: Request) -> Response:
        digest = token_digest(request.headers["authorization"].partition(" ")[2])
        rows = await read(state.engine, lambda conn: work(conn, digest))
        if rows is None:
            return Response(status_code=401)
        return Response(orjson.dumps(rows, default=str), media_type="application/json")

    def owner(conn: sa.Connection, digest: str) -> int | None:
        return conn.execute(sa.select(tokens.c.account_id).where(
            tokens.c.token_sha256 == digest, tokens.c.revoked_at.is_(None))).scalar()

    async def insert(request: Request) -> Response:
        digest = token_digest(request.headers["authorization"].partition(" ")[2])
        account_id = await read(state.engine, lambda conn: owner(conn, digest))
        if account_id is None:
            return Response(status_code=401)
        text = (await request.form())["status"]
        status_id = new_id()
        async with state.writer() as session:
            connection = await session.connection()
            await connection.execute(sa.insert(Status.__table__).values(
                id=status_id, uri=f"{state.urls.base}/floor/{status_id}", account_id=account_id,
                content=f"<p>{text}</p>", text=text))
            await session.commit()
        return Response(orjson.dumps({"id": str(status_id)}), media_type="application/json")

    return Starlette(routes=[Route("/floor", newest), Route("/floor", insert, methods=["POST"])])


Timings = tuple[list[float], list[float]]  # wall seconds, CPU seconds (this process)


def summary(timings: Timings) -> dict[str, float]:
    times = sorted(timings[0])
    return {"median_ms": statistics.median(times) * 1000,
            "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
            "mean_ms": statistics.fmean(times) * 1000,
            "cpu_ms": statistics.median(timings[1]) * 1000}


async def timed(call: Any, count: int) -> Timings:
    """Each call's wall time, and the CPU time this process spent in it (every thread): on
    a shared machine the CPU time shows the work apart from waiting for a core."""
    times, cpu = [], []
    for i in range(count):
        started, used = time.perf_counter(), time.process_time()
        await call(i)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return times, cpu


async def profile(get_home: Any, count: int) -> None:
    """cProfile over `count` warm home requests, the top functions to stderr."""
    import cProfile
    import pstats

    await timed(get_home, 200)  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    await timed(get_home, count)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(45)


async def measure(url: str, data_dir: Path, token: str, requests: int,
                  posts: int, profiled: int = 0, sparse_token: str = "") -> dict[str, Any]:
    settings = Settings(domain="bench.localhost", data_dir=data_dir, database_url=url,
                        image_model="tiny", device="cpu", insecure_http=True)
    app = create_app(settings, run_workers=False)
    async with app.router.lifespan_context(app):
        home = Driver(app, token, settings.domain)
        floor = Driver(floor_app(app.state.fv), token, settings.domain)

        async def get_home(_: int) -> None:
            status, body = await home.request("GET", "/api/v1/timelines/home?limit=20")
            assert status == 200, body[:200]

        async def get_floor(_: int) -> None:
            status, body = await floor.request("GET", "/floor")
            assert status == 200, body[:200]

        async def post(i: int) -> None:
            status, body = await home.request(
                "POST", "/api/v1/statuses", f"status=bench+post+{i}".encode(),
                b"application/x-www-form-urlencoded")
            assert status == 200, body[:200]

        async def post_floor(i: int) -> None:
            status, body = await floor.request(
                "POST", "/floor", f"status=floor+post+{i}".encode(),
                b"application/x-www-form-urlencoded")
            assert status == 200, body[:200]

        status, body = await home.request("GET", "/api/v1/timelines/home?limit=20")
        page = orjson.loads(body)
        assert status == 200 and len(page) == 20, (status, body[:300])
        shape = {"reblogs": sum(1 for s in page if s["reblog"]),
                 "with_media": sum(1 for s in page if s["media_attachments"]),
                 "favourited": sum(1 for s in page if s["favourited"]),
                 "statuses_count": page[0]["account"]["statuses_count"]}
        if profiled:
            await profile(get_home, profiled)
            return {}
        await timed(get_home, 200)  # warm-up
        await timed(get_floor, 200)
        results: dict[str, Any] = {"page": shape}
        # interleaved rounds, so drifting load hits both alike
        home_times: Timings = ([], [])
        floor_times: Timings = ([], [])
        for _ in range(4):
            for into, call in ((home_times, get_home), (floor_times, get_floor)):
                wall, cpu = await timed(call, requests // 4)
                into[0].extend(wall)
                into[1].extend(cpu)
        results["home"], results["floor"] = summary(home_times), summary(floor_times)
        # a page above `min_id` (a client catching up) reads by author, through the
        # followees' statuses: the plan PostgreSQL estimates costliest
        status, body = await home.request("GET", "/api/v1/timelines/home?limit=40")
        below = orjson.loads(body)[-1]["id"]

        async def get_newer(_: int) -> None:
            status, body = await home.request(
                "GET", f"/api/v1/timelines/home?limit=20&min_id={below}")
            assert status == 200 and len(orjson.loads(body)) == 20, body[:200]

        await timed(get_newer, 20)  # warm-up
        results["home min_id"] = summary(await timed(get_newer, max(requests // 4, 100)))
        if sparse_token:
            loner = Driver(app, sparse_token, settings.domain)

            async def get_sparse(_: int) -> None:
                status, body = await loner.request("GET", "/api/v1/timelines/home?limit=20")
                assert status == 200 and len(orjson.loads(body)) == 20, body[:200]

            await timed(get_sparse, 20)  # warm-up
            results["home sparse"] = summary(await timed(get_sparse, max(requests // 4, 100)))
        await timed(post, 20)  # warm-up
        await timed(post_floor, 20)
        create_times: Timings = ([], [])
        write_floor: Timings = ([], [])
        for _ in range(4):
            for into, call in ((create_times, post), (write_floor, post_floor)):
                wall, cpu = await timed(call, posts // 4)
                into[0].extend(wall)
                into[1].extend(cpu)
        results["create"], results["write floor"] = summary(create_times), summary(write_floor)
    return results


async def prepare(backend: str, data_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data_dir / 'bench.db'}"
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await admin.close()
    parts = urlsplit(PG_ADMIN)
    return urlunsplit((parts.scheme, parts.netloc, "/" + PG_DB, "", ""))


async def drop(backend: str) -> None:
    if backend == "postgresql":
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        finally:
            await admin.close()


async def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = await prepare(backend, data_dir)
        try:
            await upgrade(url)
            started = time.perf_counter()
            token, sparse_token = await seed(url, args.statuses, args.follows)
            print(f"{backend}: seeded in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            return await measure(url, data_dir, token, args.requests, args.posts,
                                 args.profile, sparse_token)
        finally:
            await drop(backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="only profile N home requests (cProfile, to stderr)")
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for backend in backends:
        result = asyncio.run(run(backend, args))
        if args.profile:
            continue
        print(f"\n{backend}: page {result['page']}")
        print(f"{'':11} {'median':>9} {'p99':>9} {'mean':>9} {'CPU median':>11}")
        for name in ("home", "floor", "home min_id", "home sparse", "create", "write floor"):
            r = result[name]
            print(f"{name:11} {r['median_ms']:7.2f}ms {r['p99_ms']:7.2f}ms {r['mean_ms']:7.2f}ms "
                  f"{r['cpu_ms']:9.2f}ms")
        for name, base in (("home", "floor"), ("create", "write floor")):
            print(f"{name} / {base}: "
                  f"{result[name]['median_ms'] / result[base]['median_ms']:.2f}x at the median, "
                  f"{result[name]['p99_ms'] / result[base]['p99_ms']:.2f}x at p99")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
