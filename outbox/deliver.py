"""Fan-out and delivery: one signed POST per distinct inbox, durable, retried, deduplicated.

`publish` stores the activity once (`outbox_activities`) and, in the caller's transaction,
one fan-out job naming the distinct inboxes it goes to (for a single inbox, that inbox's
`deliver` job at once). A delivery worker runs that job in
memory: it claims one row per inbox in the jobs table (a `deliver` job, inserted already
`running` under the worker's lease and keyed by activity + inbox, so an inbox that already
has one is skipped: nothing is sent twice), signs each POST with the sender's key (in a
thread pool: both cores sign) and sends them all through one client, many at a time but at
most `per_host` to a host. Outcomes are written back in batches:

    2xx                      done; a failing host is healthy again
    4xx but 401, 408, 429    final (dead): the other side will never take it
    anything else            the row goes back to `queued` and the queue retries it alone
                             with its backoff (16 attempts, about 5 days); network errors
                             and 5xx count against the host (see outbox.hosts)

If the worker dies, the rows it had not written back are `running` with a lapsed lease:
any worker takes them again one by one (only a POST that was answered but not yet written
back can arrive twice), and the fan-out job itself is taken again for the inboxes it had
not reached. A host answering 400 or 401 is asked once more with the other signature
standard (cavage, RFC 9421): the "double knock"; the one that worked is kept per host, in
the database (`hosts.signature_scheme`), so no process knocks twice at that host again.

Public status activities (Create, Update, Delete, Announce) go out with their actor's
`RsaSignature2017` LD signature, made once per process, as Mastodon sends them (not in
authorized-fetch mode): servers that got them may forward them (see outbox.forward).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import BlockedAddress, SignatureError
from activitypub.httpsig import sign_cavage, sign_rfc9421
from activitypub.ldsig import sign_ld
from activitypub.vocab import as_list, host_of, is_public, type_of
from models.ids import new_id
from models.instance_blocks import server_blocks
from models.queue import PermanentJobError, backoff, heartbeat, write_session
from models.tables import Account, DeliveredInbox, Job, OutboxActivity
from models.types import utcnow
from outbox.audience import follower_inboxes, recipient_inboxes
from outbox.context import Context
from outbox.hosts import DeliveryPolicy, HostHealth, HostUnavailable
from outbox.transport import DeliveryClient, Reply, TransportError, delivery_client

QUEUE = "deliver"
KIND = "deliver"  # one inbox: retries, and deliveries planned one by one
FANOUT = "fanout"  # one activity to the inboxes in its payload
ACTIVITY_JSON = "application/activity+json"
RETRYABLE_4XX = frozenset({401, 408, 429})
KNOCK_AGAIN = frozenset({400, 401})  # may mean "not this signature standard"
SCHEMES = ("cavage", "rfc9421")
LD_SIGNED = frozenset({"Create", "Update", "Delete", "Announce"})  # when public (`_ld_signable`)
_BATCH = 500  # rows per INSERT: well under both backends' bound-parameter limits
_CLAIM = 250  # inboxes a fan-out claims at a time (sending starts after the first batch)
_DEDUPE_MAX = 200  # as models.queue: longer keys are stored as their SHA-256
_FLUSH_EVERY = 0.05  # seconds outcomes gather before a batch is written
_SIGN_BATCH = 16  # signatures made per hand-off to a signing thread
_SIGNED_FOR = 60.0  # seconds a signature made ahead is used (Mastodon allows an hour)


class DeliveryFailed(Exception):
    """This attempt did not get through; the job is retried."""


@dataclass(frozen=True)
class Outcome:
    state: str  # "done", "retry" or "dead"
    error: str = ""


DONE = Outcome("done")


async def publish(
    ctx: Context, session: AsyncSession, activity: dict[str, Any], *, sender: Account,
    followers: bool = True, recipients: Iterable[Account] = (), exclude_hosts: Iterable[str] = (),
    inboxes: Iterable[str] = (),
) -> int:
    """Plan deliveries of `activity` to the distinct inboxes of `sender`'s accepted remote
    followers (when `followers`), of the remote `recipients` and the extra `inboxes`, in the
    caller's transaction (the caller commits, then sets `ctx.wake`). Returns how many
    deliveries were planned (none twice for one activity and inbox)."""
    found = await follower_inboxes(session, sender.id) if followers else set()
    found |= recipient_inboxes(recipients) | set(inboxes)
    skip = {host.lower() for host in exclude_hosts} | {ctx.domain.lower()}
    targets = sorted(i for i in found if host_of(i) not in skip)
    blocks = server_blocks(ctx.sessions)
    targets = [i for i in targets if not await blocks.suspended(host_of(i))]
    if not targets:
        return 0
    activity_id = await _store(session, activity, sender.id)
    return await _plan(session, activity_id, str(activity["id"]), sender.id, targets)


async def _store(session: AsyncSession, activity: dict[str, Any], sender_id: int) -> int:
    """The row id of the stored activity (the first copy wins: ids are stable). Storing it
    again sets its `created_at` to now, which keeps `outbox.prune` from deleting it under the
    jobs planned here: on PostgreSQL the update locks the row, and a prune's `DELETE` waiting
    for that lock checks `created_at` again once it has it."""
    insert = _insert(session)(OutboxActivity).values(
        id=new_id(), uri=activity["id"], account_id=sender_id, body=activity,
        created_at=utcnow())
    statement = insert.on_conflict_do_update(
        index_elements=["uri"], set_={"created_at": insert.excluded.created_at},
    ).returning(OutboxActivity.id)
    return int((await session.exec(statement)).scalar_one())  # type: ignore[call-overload]


def _insert(session: AsyncSession) -> Callable[..., Any]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def dedupe_key(activity_uri: str, inbox: str) -> str:
    key = f"{activity_uri} {inbox}"
    return key if len(key) <= _DEDUPE_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def fanout_key(activity_uri: str) -> str:
    """The fan-out job's key: "*" is never an inbox URL."""
    return dedupe_key(activity_uri, "*")


async def _plan(session: AsyncSession, activity_id: int, activity_uri: str, sender_id: int,
                inboxes: list[str]) -> int:
    """One fan-out job for the activity (one inbox: a plain delivery job); when it has one
    already, one job per inbox that job does not name. Returns how many were added."""
    accepted = await accepted_inboxes(session, activity_id)
    inboxes = [inbox for inbox in inboxes if inbox not in accepted]
    if not inboxes:
        return 0
    if len(inboxes) == 1:
        return await _enqueue(session, activity_id, activity_uri, sender_id, inboxes)
    now = utcnow()
    row = {"id": new_id(), "queue": QUEUE, "kind": FANOUT, "state": "queued", "attempts": 0,
           "max_attempts": DeliveryPolicy.max_attempts, "run_at": now, "created_at": now,
           "dedupe_key": fanout_key(activity_uri),
           "payload": {"activity": activity_id, "uri": activity_uri, "sender": sender_id,
                       "inboxes": inboxes}}
    statement = (_insert(session)(Job).values(row)
                 .on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
                 .returning(Job.id))
    if (await session.exec(statement)).first() is not None:  # type: ignore[call-overload]
        return len(inboxes)
    query = select(Job.payload).where(Job.queue == QUEUE,
                                      Job.dedupe_key == fanout_key(activity_uri))
    planned = (await session.exec(query)).first() or {}
    named = set(planned.get("inboxes", ())) if isinstance(planned, dict) else set()
    rest = [inbox for inbox in inboxes if inbox not in named]
    return await _enqueue(session, activity_id, activity_uri, sender_id, rest) if rest else 0


async def accepted_inboxes(session: AsyncSession, activity_id: int) -> set[str]:
    """The inboxes that accepted the activity and whose jobs were pruned (outbox.prune)."""
    query = select(DeliveredInbox.inbox).where(DeliveredInbox.activity_id == activity_id)
    return set((await session.exec(query)).all())


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


def _ld_signable(body: dict[str, Any]) -> bool:
    """A public status activity of ours, which Mastodon LD-signs so that others may forward
    it (a reply to their followers, a Delete to their boosters' followers)."""
    return (bool(type_of(body) & LD_SIGNED) and "signature" not in body
            and isinstance(body.get("actor"), str)
            and is_public(as_list(body.get("to")) + as_list(body.get("cc"))))


def _ld_signed(body: dict[str, Any], key_id: str, pem: str) -> dict[str, Any]:
    try:
        return sign_ld(body, creator=key_id, private_key_pem=pem)
    except SignatureError:  # not normalisable (a context we do not bundle): sent as it is
        return body


def _sign(scheme: str, inbox: str, body: bytes, key_id: str, pem: str) -> dict[str, str]:
    sign = sign_rfc9421 if scheme == "rfc9421" else sign_cavage
    return sign("POST", inbox, {"Content-Type": ACTIVITY_JSON}, body, key_id=key_id,
                private_key_pem=pem)


@dataclass(frozen=True)
class Signed:
    """Headers signed ahead of sending (a fan-out signs in batches)."""

    scheme: str
    headers: dict[str, str]
    at: float  # time.monotonic() when signed


def _sign_many(requests: list[tuple[str, str]], body: bytes, key_id: str, pem: str
               ) -> list[Signed | None]:
    """Sign (scheme, inbox) pairs in one go; None where signing fails (it is done again,
    and judged, when sent)."""
    signed: list[Signed | None] = []
    for scheme, inbox in requests:
        try:
            signed.append(Signed(scheme, _sign(scheme, inbox, body, key_id, pem),
                                 time.monotonic()))
        except (SignatureError, ValueError):
            signed.append(None)
    return signed


class Deliverer:
    """Sends delivery and fan-out jobs: `handlers()` for the worker, `aclose()` when done."""

    def __init__(self, ctx: Context, policy: DeliveryPolicy | None = None,
                 client: DeliveryClient | None = None) -> None:
        self.ctx = ctx
        self.policy = policy or DeliveryPolicy()
        self.client = client or delivery_client(
            allow_private=ctx.allow_private, user_agent=ctx.user_agent, timeout=self.policy.timeout)
        self.health = HostHealth(ctx.sessions, self.policy)
        self._bodies = _Cache(self._load_body)
        self._keys = _Cache(self._load_key)
        self._limits: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary())
        self._in_flight = asyncio.Semaphore(self.policy.in_flight)
        # cryptography lets go of the GIL while OpenSSL signs: a fan-out's signatures are
        # made in batches on a thread per core while the loop sends
        self._signer = (ThreadPoolExecutor(self.policy.signers, thread_name_prefix="sign")
                        if self.policy.signers else None)  # 0: sign on the event loop

    @property
    def schemes(self) -> dict[str, str]:
        """host -> the signature standard it took (cavage where not known)."""
        return self.health.schemes

    def handlers(self) -> dict[str, Callable[[dict[str, Any], Any], Awaitable[None]]]:
        from outbox import polls  # they import this module
        from outbox.post_write import PUBLISH, publish_job

        return {KIND: self.deliver, FANOUT: self.fan_out, PUBLISH: publish_job(self.ctx),
                **polls.handlers(self.ctx)}

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._signer is not None:
            self._signer.shutdown(wait=False)

    async def deliver(self, payload: dict[str, Any], job: Any = None) -> None:
        """Send one stored activity to one inbox (raises to retry, PermanentJobError to stop)."""
        body = await self._bodies.get((int(payload["activity"]), int(payload["sender"])))
        key = await self._keys.get(int(payload["sender"]))
        outcome = await self.send(str(payload["inbox"]), body, key)
        if outcome.state == "dead":
            raise PermanentJobError(outcome.error)
        if outcome.state == "retry":
            raise DeliveryFailed(outcome.error)

    async def fan_out(self, payload: dict[str, Any], job: Any = None) -> None:
        """Send one stored activity to every inbox its fan-out job names (see the module)."""
        body = await self._bodies.get((int(payload["activity"]), int(payload["sender"])))
        key = await self._keys.get(int(payload["sender"]))
        worker_id = getattr(job, "locked_by", None) or "fan-out"
        async with self.ctx.sessions() as session:  # pruned while the job waited
            accepted = await accepted_inboxes(session, int(payload["activity"]))
        run = _FanOut(self, str(payload["uri"]), payload, worker_id)
        await run.run([str(inbox) for inbox in payload.get("inboxes", ())
                       if inbox not in accepted], body, key)

    async def sign_many(self, inboxes: list[str], body: bytes, key: tuple[str, str]
                        ) -> list[Signed | None]:
        """Signatures for many inboxes at once, each in its host's standard."""
        await self.health.refresh()
        requests = [(self.health.scheme(host_of(inbox)) or SCHEMES[0], inbox)
                    for inbox in inboxes]
        if self._signer is None:
            return _sign_many(requests, body, *key)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._signer, _sign_many, requests, body, *key)

    async def send(self, inbox: str, body: bytes, key: tuple[str, str],
                   signed: Signed | None = None) -> Outcome:
        """One attempt to deliver `body` to `inbox`, judged (never raises for the other
        side's faults): the host's health checked, its concurrency bounded."""
        host = host_of(inbox)
        if not host or not inbox.startswith(("https://", "http://")) or (
                inbox.startswith("http://") and not self.ctx.allow_http):
            return Outcome("dead", f"refusing to deliver to {inbox}")
        if await server_blocks(self.ctx.sessions).suspended(host):
            return Outcome("dead", f"{host} is suspended here")
        try:
            await self.health.check(host)
        except HostUnavailable as exc:
            return Outcome("dead", str(exc))
        async with self._limit(host), self._in_flight:
            return await self._attempt(host, inbox, body, key, signed)

    def _limit(self, host: str) -> asyncio.Semaphore:
        limit = self._limits.get(host)
        if limit is None:
            limit = self._limits[host] = asyncio.Semaphore(self.policy.per_host)
        return limit

    async def _attempt(self, host: str, inbox: str, body: bytes, key: tuple[str, str],
                       signed: Signed | None = None) -> Outcome:
        scheme = self.health.scheme(host) or SCHEMES[0]
        if signed is not None and (signed.scheme != scheme
                                   or time.monotonic() - signed.at > _SIGNED_FOR):
            signed = None  # the host's standard changed, or it waited long: sign afresh
        reply = await self._post(host, inbox, body, key, scheme,
                                 signed.headers if signed else None)
        if isinstance(reply, Reply) and reply.status_code in KNOCK_AGAIN:
            other = SCHEMES[1] if scheme == SCHEMES[0] else SCHEMES[0]
            again = await self._post(host, inbox, body, key, other)
            if isinstance(again, Reply) and 200 <= again.status_code < 300:
                await self.health.remember_scheme(host, other)
                reply = again
        if isinstance(reply, Outcome):
            return reply
        return await self._judge(host, inbox, reply)

    async def _post(self, host: str, inbox: str, body: bytes, key: tuple[str, str],
                    scheme: str, headers: dict[str, str] | None = None) -> Reply | Outcome:
        try:
            if headers is None:  # one delivery: signed here, so jobs go out in claim order
                headers = _sign(scheme, inbox, body, *key)
            return await self.client.post(inbox, content=body, headers=headers)
        except (BlockedAddress, ValueError, SignatureError) as exc:
            return Outcome("dead", f"{inbox}: {exc}")
        except TransportError as exc:
            await self.health.failed(host)
            return Outcome("retry", f"{inbox}: {type(exc).__name__}: {exc}")

    async def _judge(self, host: str, inbox: str, reply: Reply) -> Outcome:
        status = reply.status_code
        if 200 <= status < 300:
            await self.health.succeeded(host)
            return DONE
        if status >= 500:
            await self.health.failed(host)
        elif 400 <= status < 500 and status not in RETRYABLE_4XX:
            await self.health.succeeded(host)  # it answered: the host is alive
            return Outcome("dead", f"{inbox} answered {status}: {reply.text[:200]}")
        return Outcome("retry", f"{inbox} answered {status}")

    async def _load_body(self, ids: tuple[int, int]) -> bytes:
        """The activity's body as sent by `sender`: LD-signed by it where Mastodon would."""
        activity_id, sender = ids
        async with self.ctx.sessions() as session:
            row = await session.get(OutboxActivity, activity_id)
        if row is None:
            raise PermanentJobError(f"activity {activity_id} is gone")
        body = row.body
        if not self.ctx.authorized_fetch and _ld_signable(body):
            key_id, pem = await self._keys.get(sender)
            if key_id == f"{body['actor']}#main-key":  # its own actor's, not a forward
                body = await asyncio.to_thread(_ld_signed, body, key_id, pem)
        return orjson.dumps(body)

    async def _load_key(self, account_id: int) -> tuple[str, str]:
        async with self.ctx.sessions() as session:
            account = await session.get(Account, account_id)
        if account is None or not account.private_key_pem:
            raise PermanentJobError(f"sender {account_id} is gone or has no key")
        if account.kind == "instance":
            return self.ctx.urls.instance_key_id, account.private_key_pem
        return self.ctx.urls.key_id(account.username), account.private_key_pem


class _FanOut:
    """One run of a fan-out job: claim a row per inbox, send, write outcomes back in batches,
    and keep the lease of the rows not yet written back."""

    def __init__(self, deliverer: Deliverer, uri: str, payload: dict[str, Any],
                 worker_id: str) -> None:
        self.deliverer = deliverer
        self.sessions = deliverer.ctx.sessions
        self.lease = deliverer.policy.lease
        self.uri = uri
        self.activity = int(payload["activity"])
        self.sender = int(payload["sender"])
        self.worker_id = worker_id
        self.pending: set[int] = set()  # claimed rows whose outcome is not written yet
        self._outcomes: list[tuple[int, Outcome]] = []
        self._wanted = asyncio.Event()
        self._closing = False

    async def run(self, inboxes: list[str], body: bytes, key: tuple[str, str]) -> None:
        flusher = asyncio.create_task(self._flusher())
        beat = asyncio.create_task(self._heartbeats())
        sends: list[asyncio.Task[None]] = []
        try:
            for start in range(0, len(inboxes), _CLAIM):
                owned = await self._claim(inboxes[start:start + _CLAIM])
                for first in range(0, len(owned), _SIGN_BATCH):
                    batch = owned[first:first + _SIGN_BATCH]
                    sends.append(asyncio.create_task(self._batch(batch, body, key)))
            await asyncio.gather(*sends)
            self._closing = True
            self._wanted.set()
            await flusher
        finally:
            for task in [*sends, flusher, beat]:
                task.cancel()
            await asyncio.gather(*sends, flusher, beat, return_exceptions=True)

    async def _batch(self, batch: list[tuple[int, str]], body: bytes, key: tuple[str, str]
                     ) -> None:
        """Sign a batch in one hand-off to the signing threads, then send each."""
        signed = await self.deliverer.sign_many([inbox for _, inbox in batch], body, key)
        await asyncio.gather(*(self._one(row_id, inbox, body, key, ahead)
                               for (row_id, inbox), ahead in zip(batch, signed, strict=True)))

    async def _one(self, row_id: int, inbox: str, body: bytes, key: tuple[str, str],
                   signed: Signed | None) -> None:
        outcome = await self.deliverer.send(inbox, body, key, signed)
        self._outcomes.append((row_id, outcome))
        self._wanted.set()

    async def _claim(self, inboxes: list[str]) -> list[tuple[int, str]]:
        """Insert a running `deliver` row for each inbox that has none; ours, by row id."""
        now = utcnow()
        until = now + timedelta(seconds=self.lease)
        by_key = {dedupe_key(self.uri, inbox): inbox for inbox in inboxes}
        rows = [{"id": new_id(), "queue": QUEUE, "kind": KIND, "state": "running",
                 "attempts": 1, "max_attempts": DeliveryPolicy.max_attempts, "run_at": now,
                 "created_at": now, "locked_by": self.worker_id, "locked_until": until,
                 "dedupe_key": key,
                 "payload": {"activity": self.activity, "inbox": inbox, "sender": self.sender}}
                for key, inbox in by_key.items()]
        table = Job.__table__  # type: ignore[attr-defined]
        async with write_session(self.sessions) as session:
            # one statement compiled once, many rows (SQLAlchemy's "insertmanyvalues")
            statement = (_insert(session)(table)
                         .on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
                         .returning(table.c.id, table.c.dedupe_key))
            connection = await session.connection()
            claimed = (await connection.execute(statement, rows)).all()
            await session.commit()
        owned = [(int(row_id), by_key[key]) for row_id, key in claimed]
        self.pending.update(row_id for row_id, _ in owned)
        return owned

    async def _flusher(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            if not self._closing and len(self._outcomes) < _BATCH:
                await asyncio.sleep(_FLUSH_EVERY)
            batch, self._outcomes = self._outcomes, []
            if batch:
                await self._record(batch)
            if self._closing and not self._outcomes:
                return

    async def _record(self, batch: list[tuple[int, Outcome]]) -> None:
        """Write outcomes in one transaction: done, back to the queue with its backoff, or
        dead; only rows still ours change."""
        now = utcnow()
        ours = [Job.state == "running", Job.locked_by == self.worker_id]
        done = [row_id for row_id, outcome in batch if outcome.state == "done"]
        async with write_session(self.sessions) as session:
            for start in range(0, len(done), _BATCH):
                await session.exec(  # type: ignore[call-overload]
                    sa.update(Job).where(Job.id.in_(done[start:start + _BATCH]), *ours)  # type: ignore[union-attr]
                    .values(state="done", finished_at=now, locked_by=None, locked_until=None)
                    .execution_options(synchronize_session=False))
            for row_id, outcome in batch:
                if outcome.state == "done":
                    continue
                values: dict[str, Any] = {"locked_by": None, "locked_until": None,
                                          "last_error": outcome.error[-4000:]}
                if outcome.state == "retry":
                    values |= {"state": "queued", "run_at": now + timedelta(seconds=backoff(1))}
                else:
                    values |= {"state": "dead", "finished_at": now}
                await session.exec(  # type: ignore[call-overload]
                    sa.update(Job).where(Job.id == row_id, *ours).values(**values)
                    .execution_options(synchronize_session=False))
            await session.commit()
        self.pending.difference_update(row_id for row_id, _ in batch)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            pending = list(self.pending)
            for start in range(0, len(pending), _BATCH):
                with contextlib.suppress(Exception):  # a missed beat: the next one may land
                    await heartbeat(self.sessions, pending[start:start + _BATCH], self.lease,
                                    worker_id=self.worker_id)


def make_delivery_handlers(ctx: Context, policy: DeliveryPolicy | None = None
                           ) -> dict[str, Callable[[dict[str, Any], Any], Awaitable[None]]]:
    """The delivery queue's handlers (job kind → handler), sharing one client and caches."""
    return Deliverer(ctx, policy).handlers()
