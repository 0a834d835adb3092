"""How many signed activities per second one instance accepts (202) and applies.

A real instance (uvicorn, its own inbox worker, SQLite unless `--database-url`) receives
`--activities` pre-signed `Create` notes at its shared inbox from `--actors` remote actors
whose documents (and keys) an origin server on 127.0.0.1 serves; the instance fetches each
key once, in a warm-up that is not timed. A local account follows every actor, so each note
is kept: applied means the status row exists. Once warmed up, the process settles its
memory as `fediverse serve` does (`fediverse.app.settle_memory`). The load generator is a
separate process that writes pre-built requests over `--connections` keep-alive
connections, so signing costs nothing during the run; it shares the machine's cores with
the instance.

Accepted/s: activities over the time from the first request sent to the last 202.
Applied/s: activities over the time from the first request sent until every status exists.
Instance CPU per activity: CPU time of this process (the instance, every thread, and the
small origin server) from the first request until every status exists, over the
activities (the load generator is not counted); with `--worker-process`, plus the CPU time
of the worker process. It is also given by thread ("loop": the event loop; the SQLite
writer and reader threads; aiosqlite's), and `--profile FILE` writes a cProfile of every
thread (thread CPU time; several times slower). On SQLite the bench counts statuses on a
plain sqlite3 connection of its own, so its polling costs next to nothing.

`--worker-process`: the inbox is applied by `fediverse worker --queue inbox`, a process of its
own beside the serving one (which then runs no worker), on the same database, as an instance
that outgrows one process would run; the default is everything in one process, as
`fediverse serve` runs it.

The naive baseline, in the same run on its own database: the same instance, with one
request at a time (one connection) and an inbox worker applying one job per transaction,
one at a time (the single-job handler, no batches).

    python bench/inbox_throughput.py [--activities 5000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pickle
import pstats
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import select  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from activitypub.httpsig import sign_cavage  # noqa: E402
from activitypub.keys import generate_rsa_keypair  # noqa: E402
from bench._common import Instance, free_port, machine, rate, running_instance, serving  # noqa: E402
from fediverse import workers  # noqa: E402
from fediverse.app import settle_memory  # noqa: E402

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"


@dataclass
class Origin:
    """Remote actors served from one loopback server, with their private keys."""

    port: int
    keys: list[tuple[str, str]]  # (private pem, public pem) per actor

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def actor(self, n: int) -> str:
        return f"{self.base}/users/a{n}"

    def document(self, n: int) -> dict[str, Any]:
        uri = self.actor(n)
        return {"@context": ["https://www.w3.org/ns/activitystreams",
                             "https://w3id.org/security/v1"],
                "id": uri, "type": "Person", "preferredUsername": f"a{n}",
                "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox",
                "followers": f"{uri}/followers", "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {"id": f"{uri}#main-key", "owner": uri,
                              "publicKeyPem": self.keys[n][1]}}

    async def serve_actor(self, request: Request) -> Response:
        n = int(request.path_params["name"].removeprefix("a"))
        return Response(orjson.dumps(self.document(n)), media_type=AS_JSON)


EPOCH = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def create_note(origin: Origin, n: int, serial: int, mention: str) -> dict[str, Any]:
    actor = origin.actor(n)
    note = f"{actor}/statuses/{serial}"
    # one distinct millisecond per note: back-dated status ids draw only 16 random bits per
    # millisecond (models.ids), so thousands of notes in one second would collide
    moment = EPOCH + timedelta(milliseconds=serial + 10)
    published = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note}/activity",
            "type": "Create", "actor": actor, "published": published,
            "to": [PUBLIC], "cc": [f"{actor}/followers", mention],
            "object": {"id": note, "type": "Note", "attributedTo": actor,
                       "content": f"<p>note {serial} from a{n}, hello <a href=\"{mention}\">"
                                  f"@alice</a></p>",
                       "published": published, "to": [PUBLIC],
                       "cc": [f"{actor}/followers", mention],
                       "tag": [{"type": "Mention", "href": mention, "name": "@alice"}]}}


def signed_request(instance: Instance, origin: Origin, n: int, activity: dict[str, Any]) -> bytes:
    """The whole HTTP/1.1 request, signed as actor `n`, ready to write to a socket."""
    body = orjson.dumps(activity)
    url = f"{instance.base_url}/inbox"
    headers = sign_cavage("POST", url, {"Content-Type": AS_JSON}, body,
                          key_id=f"{origin.actor(n)}#main-key", private_key_pem=origin.keys[n][0])
    headers["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST /inbox HTTP/1.1\r\n{head}\r\n".encode() + body


# ---- the load generator (a separate process) ----

async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))
    return status


async def generate(path: str, port: int, connections: int) -> dict[str, Any]:
    requests: list[bytes] = pickle.loads(Path(path).read_bytes())
    pending = iter(requests)
    statuses: Counter[int] = Counter()
    last_accept = 0.0

    async def connection() -> None:
        nonlocal last_accept
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in pending:
            status = await _exchange(reader, writer, request)
            statuses[status] += 1
            if status == 202:
                last_accept = time.perf_counter()
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return {"start": start, "end": time.perf_counter(), "last_accept": last_accept,
            "statuses": dict(statuses)}


# ---- the measurement ----

def thread_cpu() -> Counter[str]:
    """CPU seconds each group of this process's threads has used so far (threads of one
    pool summed; "loop" is the main thread, which runs the event loop)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    names[threading.main_thread().native_id] = "loop"
    tick = os.sysconf("SC_CLK_TCK")
    used: Counter[str] = Counter()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = re.sub(r"[_-]?\d+", "", names.get(int(task.name), "other"))
            name = "aiosqlite" if "_connection_worker_thread" in name else name
            used[name] += (int(fields[11]) + int(fields[12])) / tick
            used["system (all threads)"] += int(fields[12]) / tick
    return used


class Profiles:
    """cProfile (thread CPU time) in the main thread from `start_main`, and in every thread
    started after `__init__` (from its start: their warm-up is included)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

        def hook(*_: Any) -> None:
            profile = cProfile.Profile(time.thread_time)
            self.profiles.append(profile)
            profile.enable()

        threading.setprofile(hook)

    def start_main(self) -> None:
        threading.setprofile(None)  # threads started from now on are not profiled
        profile = cProfile.Profile(time.thread_time)
        self.profiles.append(profile)
        profile.enable()

    def dump(self, path: str) -> None:
        stats = pstats.Stats(*self.profiles)
        stats.dump_stats(path)

@contextlib.asynccontextmanager
async def origin_server(actors: int) -> AsyncIterator[Origin]:
    keys = [generate_rsa_keypair(2048) for _ in range(actors)]
    origin = Origin(port=free_port(), keys=keys)
    app = Starlette(routes=[Route("/users/{name}", origin.serve_actor)])
    async with serving(app, origin.port, access_log=False):
        yield origin


async def _count(instance: Instance, query: Any) -> int:
    async with instance.state.sessions() as session:
        return int((await session.exec(query)).one())


async def remote_statuses(instance: Instance) -> int:
    from models.tables import Status
    if (plain := _plain_sqlite(instance)) is not None:
        return int(plain.execute("SELECT count(*) FROM statuses WHERE local = 0").fetchone()[0])
    return await _count(instance, select(sa.func.count()).select_from(Status)
                        .where(Status.local == sa.false()))


def _plain_sqlite(instance: Instance) -> sqlite3.Connection | None:
    """A plain sqlite3 connection to the instance's SQLite file (None on PostgreSQL): the
    bench polls the status count every 20 ms, and through the instance's ORM sessions each
    poll cost about a millisecond of the CPU the bench reports as the instance's."""
    url = instance.settings.database_url
    if not url.startswith("sqlite:///"):
        return None
    plain = getattr(instance, "plain_sqlite", None)
    if plain is None:
        plain = instance.plain_sqlite = sqlite3.connect(  # type: ignore[attr-defined]
            url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    return plain


async def unfinished_jobs(instance: Instance) -> int:
    from models.tables import Job
    return await _count(instance, select(sa.func.count()).select_from(Job)
                        .where(Job.state.in_(["queued", "running"])))  # type: ignore[attr-defined]


async def until(check: Any, goal: int, timeout: float, every: float = 0.02) -> float:
    """perf_counter() when `check()` first reaches `goal`."""
    deadline = time.perf_counter() + timeout
    while (value := await check()) < goal:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"reached only {value} of {goal}")
        await asyncio.sleep(every)
    return time.perf_counter()


async def prepare(instance: Instance, origin: Origin, actors: int) -> None:
    """Alice exists; the instance has fetched every actor's key once; alice follows them."""
    from models.accounts import create_account
    from models.remote import get_account_by_uri
    from models.tables import Follow

    async with instance.state.writer() as session:
        alice = await create_account(session, "alice")
        await session.commit()
    # warm-up: one activity per actor makes the instance fetch and keep its key
    warm = [signed_request(instance, origin, n, create_note(origin, n, -1, PUBLIC))
            for n in range(actors)]
    await _send_all(instance, warm, connections=4)

    async def all_done() -> int:
        return int(await unfinished_jobs(instance) == 0)

    await until(all_done, 1, timeout=60)
    async with instance.state.writer() as session:
        for n in range(actors):
            remote = await get_account_by_uri(session, origin.actor(n))
            assert remote is not None, "warm-up did not store the actor"
            session.add(Follow(account_id=alice.id, target_account_id=remote.id, state="accepted"))
        await session.commit()


async def _send_all(instance: Instance, requests: list[bytes], connections: int
                    ) -> dict[str, Any]:
    """Run the load generator process over `requests`; its report."""
    port = int(instance.settings.domain.rsplit(":", 1)[1])
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as handle:
        handle.write(pickle.dumps(requests))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--generate", handle.name, "--port", str(port),
            "--connections", str(connections), stdout=subprocess.PIPE)
        out, _ = await proc.communicate()
    finally:
        Path(handle.name).unlink()
    if proc.returncode != 0:
        raise RuntimeError("the load generator failed")
    return json.loads(out)


async def measure(instance: Instance, origin: Origin, count: int, actors: int,
                  connections: int) -> dict[str, Any]:
    await prepare(instance, origin, actors)
    settle_memory()  # as `fediverse serve` does once warmed up (the instance is, now)
    mention = f"{instance.base_url}/users/alice"
    signed_at = time.perf_counter()
    requests = [signed_request(instance, origin, i % actors, create_note(origin, i % actors, i,
                                                                          mention))
                for i in range(count)]
    signing = time.perf_counter() - signed_at
    before = await remote_statuses(instance)
    worker_pid = getattr(instance, "worker_pid", None)
    worker_before = await _worker_cpu(worker_pid) if worker_pid else 0.0
    profiles = getattr(instance, "profiles", None)
    if profiles is not None:
        profiles.start_main()
    threads_before = thread_cpu()
    cpu_before = time.process_time()
    sent = asyncio.create_task(_send_all(instance, requests, connections))

    async def kept() -> int:
        return await remote_statuses(instance) - before

    applied_at = await until(kept, count, timeout=600)
    worker_cpu = await _worker_cpu(worker_pid) - worker_before if worker_pid else 0.0
    cpu = time.process_time() - cpu_before + worker_cpu
    threads = thread_cpu()
    threads.subtract(threads_before)
    if profiles is not None:
        profiles.dump(instance.profile_path)  # type: ignore[attr-defined]
    report = await sent
    if (plain := _plain_sqlite(instance)) is not None:
        plain.close()
    accepted = report["statuses"].get("202", 0)
    return {"activities": count, "connections": connections, "statuses": report["statuses"],
            "accept_seconds": report["last_accept"] - report["start"],
            "apply_seconds": applied_at - report["start"],
            "accepted": accepted, "signing_seconds": signing, "cpu_seconds": cpu,
            "worker_cpu_seconds": worker_cpu,
            "thread_cpu_seconds": {k: round(v, 2) for k, v in threads.items() if v > 0}}


@contextlib.asynccontextmanager
async def inbox_worker(instance: Instance, *, concurrency: int, batch_size: int
                       ) -> AsyncIterator[None]:
    """The inbox queue's worker: with `batch_size` > 1 as `fediverse.workers` runs it (the
    batch handler), else one job per transaction through the single-job handler."""
    from inbox.apply import make_inbox_handler
    from inbox.batch import make_inbox_batch_handler
    from models.queue import Worker

    ctx = instance.state.federation
    batches = {"activity": make_inbox_batch_handler(ctx)} if batch_size > 1 else None
    worker = Worker(instance.state.sessions, {"activity": make_inbox_handler(ctx)}, ["inbox"],
                    batches=batches, batch_size=batch_size, concurrency=concurrency,
                    wake=ctx.wake, linger=workers.LINGER["inbox"] if batch_size > 1 else 0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def _worker_cpu(pid: int) -> float:
    """User plus system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def worker_process(instance: Instance) -> AsyncIterator[None]:
    """`fediverse worker --queue inbox` in a process of its own, on the instance's database."""
    settings = instance.settings
    env = os.environ | {
        "FEDIVERSE_DOMAIN": settings.domain, "FEDIVERSE_DATA_DIR": str(settings.data_dir),
        "FEDIVERSE_DATABASE_URL": settings.database_url, "FEDIVERSE_IMAGE_MODEL": "tiny",
        "FEDIVERSE_DEVICE": "cpu", "FEDIVERSE_INSECURE_HTTP": "1",
        "FEDIVERSE_ALLOW_PRIVATE_NETWORKS": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fediverse", "worker", "--queue", "inbox", env=env,
        stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = await proc.stderr.readline()  # "worker running on queues: inbox"
    if b"worker running" not in line:
        proc.kill()
        raise RuntimeError(f"the worker process did not start: {line.decode().strip()}")
    instance.worker_pid = proc.pid  # type: ignore[attr-defined]
    drain = asyncio.create_task(proc.stderr.read())  # a full pipe would stop the worker
    try:
        yield
    finally:
        proc.terminate()
        await proc.wait()
        await drain


async def naive_run(args: argparse.Namespace, origin: Origin, root: Path) -> dict[str, Any]:
    """One request at a time; the worker applies one job per transaction, one at a time."""
    url = await _database(args, root / "naive")
    async with running_instance(root / "naive", url, run_workers=False) as instance:
        async with inbox_worker(instance, concurrency=1, batch_size=1):
            return await measure(instance, origin, args.naive_activities, args.actors, 1)


async def fast_run(args: argparse.Namespace, origin: Origin, root: Path) -> dict[str, Any]:
    """Concurrent senders; the inbox worker as `fediverse serve` runs it (batches)."""
    url = await _database(args, root / "fast")
    profiles = Profiles() if args.profile else None
    async with running_instance(root / "fast", url, run_workers=False) as instance:
        instance.profiles, instance.profile_path = profiles, args.profile  # type: ignore[attr-defined]
        if args.worker_process:
            worker = worker_process(instance)
        else:
            worker = inbox_worker(instance, concurrency=args.worker_concurrency,
                                  batch_size=args.batch)
        async with worker:
            return await measure(instance, origin, args.activities, args.actors, args.connections)


async def _database(args: argparse.Namespace, where: Path) -> str:
    where.mkdir(parents=True, exist_ok=True)
    if not args.database_url:
        return f"sqlite:///{where}/bench.sqlite3"
    return await _fresh_postgres(args.database_url, where.name)


async def _fresh_postgres(url: str, suffix: str) -> str:
    """A new empty database beside the one `url` names."""
    from models.db import make_engine

    name = f"bench_inbox_{suffix}_{int(time.time())}"
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def describe(name: str, result: dict[str, Any]) -> str:
    count = result["activities"]
    return (f"{name:>6}: {count} activities over {result['connections']} connection(s): "
            f"accepted {rate(result['accepted'], result['accept_seconds'])} "
            f"({result['accept_seconds']:.2f} s), "
            f"applied {rate(count, result['apply_seconds'])} ({result['apply_seconds']:.2f} s); "
            f"instance CPU {result['cpu_seconds'] / count * 1000:.2f} ms per activity"
            + (f" (worker process {result['worker_cpu_seconds'] / count * 1000:.2f} ms)"
               if result["worker_cpu_seconds"] else "") + "; "
            f"answers {result['statuses']}\n"
            f"        CPU ms per activity by thread: "
            + ", ".join(f"{name} {seconds / count * 1000:.2f}"
                        for name, seconds in sorted(result["thread_cpu_seconds"].items())))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp:
        async with origin_server(args.actors) as origin:
            naive = await naive_run(args, origin, Path(tmp)) if args.naive_activities else None
            fast = await fast_run(args, origin, Path(tmp))
    return {"naive": naive, "fast": fast}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--naive-activities", type=int, default=1000,
                        help="activities for the naive baseline (0 skips it)")
    parser.add_argument("--actors", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=workers.BATCH_SIZE["inbox"],
                        help="jobs per batch (default: as `fediverse serve` runs them)")
    parser.add_argument("--worker-concurrency", type=int, default=workers.CONCURRENCY["inbox"],
                        help="batches in flight (default: as `fediverse serve`)")
    parser.add_argument("--worker-process", action="store_true",
                        help="fast path: apply in a `fediverse worker --queue inbox` process "
                             "beside the serving one (default: one process)")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL URL; a fresh database is created beside it")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--profile", metavar="FILE",
                        help="fast path: write a cProfile of the instance (thread CPU time, "
                             "every thread) to FILE (slows it down several times)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runner = _event_loop_runner()
    if args.generate:
        print(json.dumps(runner(generate(args.generate, args.port, args.connections))))
        return
    print(machine())
    results = runner(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
    if results["naive"]:
        print(describe("naive", results["naive"]))
    print(describe("fast", results["fast"]))
    if args.worker_process:
        print("        (fast: served by one process, applied by a `fediverse worker --queue inbox`"
              " process beside it; CPU is both processes')")


def _event_loop_runner() -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


if __name__ == "__main__":
    main()
