"""How long one post takes to reach 10,000 followers spread over 1,000 hosts.

A local account gets `--followers` remote followers (rows inserted directly) on `--hosts`
host names `hN.fanout.test`, each with a shared inbox. A resolver injected into the guarded
transport sends every name to 127.0.0.1, where one sink process (a separate process, its
own core) answers as all the hosts; it counts each POST by its Host header and verifies
the HTTP signature of every `--verify-every`-th one (all that it checks must verify).
The post is made with `outbox.actions.post_status`, which enqueues one delivery per
distinct inbox; the delivery worker (queue "deliver", concurrency as in fediverse.workers)
sends them. Timed: from the call to `post_status` until the sink has one POST from every host
(the sink notes the moment and answers one waiting request, so the sender does not poll).

The naive baseline, in the same run: no shared-inbox dedupe (every follower's personal
inbox) and one request at a time, through the same `Deliverer.deliver` (sign, POST, judge)
but without the queue. It runs on `--hosts` personal inboxes (1/10 of the followers by
default) and is extrapolated to all of them.

    python bench/fanout.py [--followers 10000] [--hosts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bench._common import free_port, machine  # noqa: E402

SUFFIX = "fanout.test"
LOOPBACK = [ipaddress.IPv4Address("127.0.0.1")]


# ---- the sink (a separate process) ----

class SinkCounter:
    def __init__(self, key_pem: str, key_id: str, owner: str, verify_every: int) -> None:
        from activitypub.keys import PublicKey

        self.key = PublicKey(key_id=key_id, owner=owner, pem=key_pem)
        self.verify_every = verify_every
        self.hosts: Counter[str] = Counter()
        self.posts = self.verified = self.rejected = 0
        self.target = 0  # hosts to wait for (/_wait)
        self.reached_at: float | None = None  # time.time() when the last of them arrived
        self.reached = asyncio.Event()

    async def _lookup(self, key_id: str, refresh: bool) -> Any:
        return self.key if key_id == self.key.key_id else None

    async def inbox(self, request: Request) -> Response:
        from activitypub.httpsig import verify_request

        body = await request.body()
        self.posts += 1
        host = request.headers.get("host", "")
        if self.posts % self.verify_every == 0:
            url = f"http://{host}{request.url.path}"
            result = await verify_request("POST", url, request.headers.items(), body, self._lookup)
            if not result.ok:
                self.rejected += 1
                return Response(result.reason, status_code=401)
            self.verified += 1
        self.hosts[host.split(":")[0]] += 1
        if self.target and len(self.hosts) >= self.target and self.reached_at is None:
            self.reached_at = time.time()
            self.reached.set()
        return Response(status_code=202)

    async def wait(self, request: Request) -> Response:
        """Answers once `hosts` distinct hosts have POSTed (no polling load on the sender)."""
        self.target = int(request.query_params["hosts"])
        if len(self.hosts) >= self.target and self.reached_at is None:
            self.reached_at = time.time()
            self.reached.set()
        await self.reached.wait()
        return await self.stats(request)

    async def stats(self, request: Request) -> Response:
        return JSONResponse({"hosts": len(self.hosts), "posts": self.posts,
                             "verified": self.verified, "rejected": self.rejected,
                             "cpu": round(time.process_time(), 3),
                             "reached_at": self.reached_at})

    async def reset(self, request: Request) -> Response:
        self.hosts.clear()
        self.posts = self.verified = self.rejected = 0
        self.target, self.reached_at = 0, None
        self.reached.clear()
        return Response(status_code=204)


def run_sink(port: int, key_file: str, verify_every: int) -> None:
    import uvicorn

    spec = json.loads(Path(key_file).read_text())
    sink = SinkCounter(spec["pem"], spec["key_id"], spec["owner"], verify_every)
    app = Starlette(routes=[Route("/_stats", sink.stats), Route("/_reset", sink.reset),
                            Route("/_wait", sink.wait),
                            Route("/{path:path}", sink.inbox, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---- the sender ----

async def loopback(host: str, port: int) -> list[Any]:
    """Every benchmark host name is this machine."""
    return list(LOOPBACK)


async def context(database_url: str) -> Any:
    from activitypub.fetch import Fetcher
    from models.db import make_engine, session_factory
    from models.migrate import upgrade
    from outbox.context import Context
    from outbox.urls import Urls

    await upgrade(database_url)
    engine = make_engine(database_url)
    fetcher = Fetcher(user_agent="fediverse-bench/1", allow_private=True, allow_http=True)
    return Context(sessions=session_factory(engine), urls=Urls("http://local.fanout.test"),
                   domain="local.fanout.test", fetcher=fetcher, user_agent="fediverse-bench/1",
                   allow_private=True, allow_http=True)


async def seed(ctx: Any, followers: int, hosts: int, port: int) -> Any:
    """Alice, and `followers` remote accounts on `hosts` hosts following her."""
    from models.accounts import create_account
    from models.ids import new_id
    from models.tables import Account, Follow

    async with ctx.sessions() as session:
        alice = await create_account(session, "alice")
        await session.commit()
    now = datetime.now(UTC)
    accounts, follows = [], []
    for i in range(followers):
        host = f"h{i % hosts}.{SUFFIX}"
        base = f"http://{host}:{port}"
        account_id = new_id()
        accounts.append({"id": account_id, "kind": "remote", "username": f"u{i}", "domain": host,
                         "uri": f"{base}/users/u{i}", "inbox": f"{base}/users/u{i}/inbox",
                         "shared_inbox": f"{base}/inbox", "fetched_at": now, "created_at": now,
                         "updated_at": now, "display_name": "", "note": "", "fields": [],
                         "also_known_as": []})
        follows.append({"id": new_id(), "account_id": account_id, "target_account_id": alice.id,
                        "state": "accepted", "created_at": now})
    async with ctx.sessions() as session:
        for start in range(0, followers, 500):
            await session.exec(sa.insert(Account).values(accounts[start:start + 500]))
            await session.exec(sa.insert(Follow).values(follows[start:start + 500]))
        await session.commit()
    return alice


async def sink_stats(client: httpx.AsyncClient, port: int) -> dict[str, int]:
    return (await client.get(f"http://127.0.0.1:{port}/_stats")).json()


async def fast_run(ctx: Any, alice: Any, hosts: int, port: int, probe: httpx.AsyncClient,
                   policy: Any = None) -> dict[str, Any]:
    from fediverse.workers import CONCURRENCY
    from models.queue import Worker
    from outbox.actions import post_status
    from outbox.deliver import Deliverer
    from outbox.transport import delivery_client

    client = delivery_client(allow_private=True, user_agent="fediverse-bench/1",
                             resolver=loopback)
    deliverer = Deliverer(ctx, policy, client=client)
    worker = Worker(ctx.sessions, deliverer.handlers(), ["deliver"],
                    concurrency=CONCURRENCY["deliver"], wake=ctx.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.1)
        sink_cpu = (await sink_stats(probe, port))["cpu"]
        # one long request answered by the sink when the last host is reached: no polling
        reached = asyncio.create_task(probe.get(f"http://127.0.0.1:{port}/_wait",
                                                params={"hosts": hosts}, timeout=600))
        await asyncio.sleep(0.1)
        start, cpu = time.time(), time.process_time()
        async with ctx.sessions() as session:
            await post_status(ctx, session, alice, text="hello, ten thousand followers")
        posted = time.time()
        stats = (await reached).json()
        end, cpu = stats["reached_at"], time.process_time() - cpu
    finally:
        stop.set()
        await task
        await deliverer.aclose()
    return {"seconds": end - start, "enqueue_seconds": posted - start, "sink": stats,
            "concurrency": deliverer.policy.in_flight, "cpu": cpu,
            "sink_cpu": stats["cpu"] - sink_cpu}


async def naive_run(ctx: Any, alice: Any, count: int, followers: int, port: int,
                    probe: httpx.AsyncClient) -> dict[str, Any]:
    from sqlmodel import select

    from models.tables import Account, OutboxActivity
    from outbox.deliver import Deliverer, DeliveryFailed
    from outbox.transport import delivery_client

    async with ctx.sessions() as session:
        activity = (await session.exec(select(OutboxActivity))).first()
        inboxes = (await session.exec(select(Account.inbox).where(Account.kind == "remote")
                                      .order_by(Account.username).limit(count))).all()
    assert activity is not None
    client = delivery_client(allow_private=True, user_agent="fediverse-bench/1",
                             resolver=loopback)
    deliverer = Deliverer(ctx, client=client)
    await probe.get(f"http://127.0.0.1:{port}/_reset")
    start, cpu = time.perf_counter(), time.process_time()
    retried = 0
    for inbox in inboxes:
        payload = {"activity": activity.id, "inbox": inbox, "sender": alice.id}
        try:
            await deliverer.deliver(payload)
        except DeliveryFailed:  # a kept-alive connection the sink had closed: once more
            retried += 1
            await deliverer.deliver(payload)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await deliverer.aclose()
    return {"deliveries": len(inboxes), "seconds": seconds, "retried": retried, "cpu": cpu,
            "extrapolated_seconds": seconds * followers / len(inboxes),
            "sink": await sink_stats(probe, port)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        ctx = await context(args.database_url or f"sqlite:///{tmp}/fanout.sqlite3")
        port = free_port()
        alice = await seed(ctx, args.followers, args.hosts, port)
        key_file = Path(tmp) / "key.json"
        key_file.write_text(json.dumps({"pem": alice.public_key_pem,
                                        "key_id": ctx.urls.key_id("alice"),
                                        "owner": ctx.urls.actor("alice")}))
        sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port), "--key-file",
                                 str(key_file), "--verify-every", str(args.verify_every)])
        try:
            async with httpx.AsyncClient(timeout=10) as probe:
                await _until_up(probe, port)
                runs = []
                for _ in range(args.repeat):  # each a new post, a new client: cold connections
                    await probe.get(f"http://127.0.0.1:{port}/_reset")
                    runs.append(await fast_run(ctx, alice, args.hosts, port, probe, policy(args)))
                fast = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]  # median
                fast["all_seconds"] = [round(run["seconds"], 2) for run in runs]
                naive = await naive_run(ctx, alice, args.naive_deliveries, args.followers, port,
                                        probe)
        finally:
            sink.terminate()
            sink.wait()
            await ctx.fetcher.aclose()
    return {"fast": fast, "naive": naive, "followers": args.followers, "hosts": args.hosts,
            "verify_every": args.verify_every}


def policy(args: argparse.Namespace) -> Any:
    from outbox.hosts import DeliveryPolicy

    options = {name: value for name, value in (("signers", args.signers),
                                                ("in_flight", args.in_flight)) if value is not None}
    return DeliveryPolicy(**options)


async def _until_up(probe: httpx.AsyncClient, port: int) -> None:
    for _ in range(500):
        try:
            await sink_stats(probe, port)
            return
        except httpx.TransportError:
            await asyncio.sleep(0.02)
    raise RuntimeError("the sink did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--naive-deliveries", type=int, default=1000,
                        help="personal inboxes the naive baseline sends to (extrapolated)")
    parser.add_argument("--verify-every", type=int, default=10,
                        help="the sink verifies the signature of every Nth POST")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=1,
                        help="fast runs (the median is reported)")
    parser.add_argument("--signers", type=int, help="signing threads (0: on the event loop)")
    parser.add_argument("--in-flight", type=int, help="requests in flight in all")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink, args.key_file, args.verify_every)
        return
    print(machine())
    import uvloop

    result = uvloop.run(run(args))
    fast, naive = result["fast"], result["naive"]
    print(f"  fast: {result['followers']} followers on {result['hosts']} hosts: "
          f"{fast['sink']['hosts']} shared inboxes reached in {fast['seconds']:.2f} s "
          f"(post and plan {fast['enqueue_seconds']:.2f} s; {fast['concurrency']} in flight; "
          f"CPU: sender {fast['cpu']:.2f} s, sink {fast['sink_cpu']:.2f} s); all runs "
          f"{fast['all_seconds']}; sink {fast['sink']}")
    print(f" naive: {naive['deliveries']} personal inboxes one at a time in "
          f"{naive['seconds']:.2f} s (sender CPU {naive['cpu']:.2f} s), so "
          f"{result['followers']} in about {naive['extrapolated_seconds']:.1f} s; "
          f"sink {naive['sink']}")
    print(f" ratio: naive / fast = {naive['extrapolated_seconds'] / fast['seconds']:.0f}x; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
