"""Fan-out and delivery: one signed POST per distinct inbox, durable, retried, deduplicated.

`publish` stores the activity once (`outbox_activities`) and enqueues one small job per
distinct inbox in the caller's transaction, keyed by activity id + inbox so that nothing is
enqueued (and so sent) twice. A delivery worker signs each POST with the sender's key and
sends it through one pooled client, at most `per_host` at a time to a host:

    2xx                      done; a failing host is healthy again
    4xx but 401, 408, 429    final (dead): the other side will never take it
    anything else            retried with the queue's backoff (16 attempts, about 5 days);
                             network errors and 5xx count against the host (see outbox.hosts)
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import orjson
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import BlockedAddress
from activitypub.httpsig import sign_cavage
from activitypub.vocab import host_of
from models.ids import new_id
from models.queue import PermanentJobError
from models.tables import Account, Job, OutboxActivity
from models.types import utcnow
from outbox.audience import follower_inboxes, recipient_inboxes
from outbox.context import Context
from outbox.hosts import DeliveryPolicy, HostHealth, HostUnavailable
from outbox.transport import delivery_client

QUEUE = "deliver"
KIND = "deliver"
ACTIVITY_JSON = "application/activity+json"
RETRYABLE_4XX = frozenset({401, 408, 429})
_BATCH = 500  # rows per INSERT: well under both backends' bound-parameter limits
_DEDUPE_MAX = 200  # as models.queue: longer keys are stored as their SHA-256


class DeliveryFailed(Exception):
    """This attempt did not get through; the job is retried."""


async def publish(
    ctx: Context, session: AsyncSession, activity: dict[str, Any], *, sender: Account,
    followers: bool = True, recipients: Iterable[Account] = (), exclude_hosts: Iterable[str] = (),
) -> int:
    """Enqueue deliveries of `activity` to the distinct inboxes of `sender`'s accepted remote
    followers (when `followers`) and of the remote `recipients`, in the caller's transaction
    (the caller commits, then sets `ctx.wake`). Returns how many deliveries were enqueued."""
    inboxes = await follower_inboxes(session, sender.id) if followers else set()
    inboxes |= recipient_inboxes(recipients)
    skip = {host.lower() for host in exclude_hosts} | {ctx.domain.lower()}
    targets = sorted(i for i in inboxes if host_of(i) not in skip)
    if not targets:
        return 0
    activity_id = await _store(session, activity, sender.id)
    return await _enqueue(session, activity_id, str(activity["id"]), sender.id, targets)


async def _store(session: AsyncSession, activity: dict[str, Any], sender_id: int) -> int:
    """The row id of the stored activity (the first copy wins: ids are stable)."""
    insert = _insert(session)
    statement = (insert(OutboxActivity)
                 .values(id=new_id(), uri=activity["id"], account_id=sender_id, body=activity,
                         created_at=utcnow())
                 .on_conflict_do_nothing(index_elements=["uri"]))
    await session.exec(statement)  # type: ignore[call-overload]
    query = select(OutboxActivity.id).where(OutboxActivity.uri == activity["id"])
    return int((await session.exec(query)).one())


def _insert(session: AsyncSession) -> Callable[..., Any]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def dedupe_key(activity_uri: str, inbox: str) -> str:
    key = f"{activity_uri} {inbox}"
    return key if len(key) <= _DEDUPE_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def _enqueue(session: AsyncSession, activity_id: int, activity_uri: str, sender_id: int,
                   inboxes: list[str]) -> int:
    """Bulk-insert one job per inbox, skipping those already enqueued; returns how many."""
    now = utcnow()
    rows = [{"id": new_id(), "queue": QUEUE, "kind": KIND, "state": "queued", "attempts": 0,
             "max_attempts": DeliveryPolicy.max_attempts, "run_at": now, "created_at": now,
             "dedupe_key": dedupe_key(activity_uri, inbox),
             "payload": {"activity": activity_id, "inbox": inbox, "sender": sender_id}}
            for inbox in inboxes]
    insert, added = _insert(session), 0
    for start in range(0, len(rows), _BATCH):
        statement = (insert(Job).values(rows[start:start + _BATCH])
                     .on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
                     .returning(Job.id))
        added += len((await session.exec(statement)).all())  # type: ignore[call-overload]
    return added


class _Cache:
    """Values loaded once per process by key, concurrent loads of one key shared; bounded."""

    def __init__(self, load: Callable[[Any], Awaitable[Any]], size: int = 256) -> None:
        self._load = load
        self._size = size
        self._tasks: OrderedDict[Any, asyncio.Task[Any]] = OrderedDict()

    async def get(self, key: Any) -> Any:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(self._load(key))
            while len(self._tasks) > self._size:
                self._tasks.popitem(last=False)
        self._tasks.move_to_end(key)
        try:
            return await asyncio.shield(task)
        except Exception:
            self._tasks.pop(key, None)
            raise


class Deliverer:
    """Sends delivery jobs: `handlers()` for the worker, `aclose()` when done."""

    def __init__(self, ctx: Context, policy: DeliveryPolicy | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.policy = policy or DeliveryPolicy()
        self.client = client or delivery_client(
            allow_private=ctx.allow_private, user_agent=ctx.user_agent, timeout=self.policy.timeout)
        self.health = HostHealth(ctx.sessions, self.policy)
        self._bodies = _Cache(self._load_body)
        self._keys = _Cache(self._load_key)
        self._limits: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary())

    def handlers(self) -> dict[str, Callable[[dict[str, Any], Any], Awaitable[None]]]:
        return {KIND: self.deliver}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def deliver(self, payload: dict[str, Any], job: Any = None) -> None:
        """Send one stored activity to one inbox (raises to retry, PermanentJobError to stop)."""
        inbox = str(payload["inbox"])
        host = host_of(inbox)
        if not host or (inbox.startswith("http://") and not self.ctx.allow_http):
            raise PermanentJobError(f"refusing to deliver to {inbox}")
        try:
            await self.health.check(host)
        except HostUnavailable as exc:
            raise PermanentJobError(str(exc)) from exc
        body = await self._bodies.get(int(payload["activity"]))
        key_id, pem = await self._keys.get(int(payload["sender"]))
        async with self._limit(host):
            response = await self._post(host, inbox, body, key_id, pem)
        await self._judge(host, inbox, response)

    def _limit(self, host: str) -> asyncio.Semaphore:
        limit = self._limits.get(host)
        if limit is None:
            limit = self._limits[host] = asyncio.Semaphore(self.policy.per_host)
        return limit

    async def _post(self, host: str, inbox: str, body: bytes, key_id: str, pem: str
                    ) -> httpx.Response:
        headers = sign_cavage("POST", inbox, {"Content-Type": ACTIVITY_JSON}, body,
                              key_id=key_id, private_key_pem=pem)
        try:
            return await self.client.post(inbox, content=body, headers=headers)
        except BlockedAddress as exc:
            raise PermanentJobError(f"{inbox}: {exc}") from exc
        except httpx.HTTPError as exc:
            await self.health.failed(host)
            raise DeliveryFailed(f"{inbox}: {type(exc).__name__}: {exc}") from exc

    async def _judge(self, host: str, inbox: str, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            await self.health.succeeded(host)
            return
        if status >= 500:
            await self.health.failed(host)
        elif 400 <= status < 500 and status not in RETRYABLE_4XX:
            await self.health.succeeded(host)  # it answered: the host is alive
            raise PermanentJobError(f"{inbox} answered {status}: {response.text[:200]}")
        raise DeliveryFailed(f"{inbox} answered {status}")

    async def _load_body(self, activity_id: int) -> bytes:
        async with self.ctx.sessions() as session:
            row = await session.get(OutboxActivity, activity_id)
        if row is None:
            raise PermanentJobError(f"activity {activity_id} is gone")
        return orjson.dumps(row.body)

    async def _load_key(self, account_id: int) -> tuple[str, str]:
        async with self.ctx.sessions() as session:
            account = await session.get(Account, account_id)
        if account is None or not account.private_key_pem:
            raise PermanentJobError(f"sender {account_id} is gone or has no key")
        if account.kind == "instance":
            return self.ctx.urls.instance_key_id, account.private_key_pem
        return self.ctx.urls.key_id(account.username), account.private_key_pem


def make_delivery_handlers(ctx: Context, policy: DeliveryPolicy | None = None
                           ) -> dict[str, Callable[[dict[str, Any], Any], Awaitable[None]]]:
    """The delivery queue's handlers (job kind → handler), sharing one client and caches."""
    return Deliverer(ctx, policy).handlers()

