"""The durable job queue: rows in `jobs`, claimed by workers in any process.

    queued ──claim──▶ running ──complete──▶ done
      ▲                 │ │
      └──fail, retry────┘ └──fail (permanent, or attempts used up)──▶ dead

A `running` job whose lease (`locked_until`) has passed belongs to a worker that died: the
next claim takes it again, which counts as another attempt (on its last attempt it goes to
`dead` instead). PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so workers never wait on
each other; SQLite claims inside an immediate (write-locked) transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import random
import secrets
import socket
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import sqlite_sync_reader, sqlite_sync_writer
from models.ids import new_id
from models.tables import Job
from models.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

Target = AsyncEngine | async_sessionmaker[AsyncSession]
T = TypeVar("T")
Handler = Callable[[dict[str, Any], Job], Awaitable[None]]
# marks jobs done inside the caller's transaction (see `complete_in`)
Finish = Callable[[AsyncSession, list[int]], Awaitable[int]]
# runs many jobs at once, finishing the ones that succeed with `Finish` in its own
# transaction; returns the exception of each job that failed (by job id)
BatchHandler = Callable[[list[Job], Finish], Awaitable[dict[int, Exception]]]
_ERROR_MAX = 4000
_DEDUPE_MAX = 200
_ROWS_PER_INSERT = 200  # well under both backends' bound-parameter limits
_BUSY_POLL = 0.01  # seconds to the first poll after jobs were found (see `Worker._idle`)


class PermanentJobError(Exception):
    """Raised by a handler for work that can never succeed: the job goes to `dead` at once."""


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): 60 s, 2 min, 4 min…
    capped at a day, ±10% jitter. With 16 attempts a job keeps trying for about five days."""
    base = min(30.0 * 2 ** max(attempt, 0), 86400.0)
    return base * random.uniform(0.9, 1.1)


def _writer(target: Target) -> async_sessionmaker[AsyncSession]:
    """Sessions on the target's engine whose SQLite transactions take the write lock at once."""
    engine = _engine_of(target)
    writer = _WRITERS.get(engine.sync_engine)
    if writer is None:
        writer = _WRITERS[engine.sync_engine] = async_sessionmaker(
            engine.execution_options(sqlite_immediate=True), class_=AsyncSession,
            expire_on_commit=False)
    return writer


def _engine_of(target: Target) -> AsyncEngine:
    engine = target if isinstance(target, AsyncEngine) else target.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("need an AsyncEngine or an async_sessionmaker bound to one")
    return engine


# per engine (weakly held): a writer session factory, and the SQLite writers' lock
_WRITERS: weakref.WeakKeyDictionary[Any, async_sessionmaker[AsyncSession]] = (
    weakref.WeakKeyDictionary())
_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def write_session(target: Target) -> AsyncIterator[AsyncSession]:
    """A session whose transaction is a writer from its start (the caller commits), made by
    `target` when it is a session factory.

    SQLite has one writer at a time, and a waiting connection polls with sleeps of up to
    100 ms; so on SQLite the writers of this process queue, in order, for one lock per
    database instead. Do not open another `write_session` inside one.
    """
    engine = _engine_of(target)
    lock: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()
    if engine.dialect.name == "sqlite":
        lock = _WRITE_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, _writer_session(target, engine) as session:
        yield session


def _writer_session(target: Target, engine: AsyncEngine) -> AsyncSession:
    """A writer session; from a session factory, with that factory's settings (so its
    event hooks, `outbox.events.watch`, hear what the session writes)."""
    immediate = _writer(engine)
    if isinstance(target, async_sessionmaker):
        return target(bind=immediate.kw["bind"])
    return immediate()


async def enqueue(
    session: AsyncSession, queue: str, kind: str, payload: dict[str, Any], *,
    dedupe_key: str | None = None, run_at: datetime | None = None, max_attempts: int = 10,
) -> Job | None:
    """Add a job in the caller's transaction (it commits); None if `dedupe_key` is already
    in this queue. Keys longer than 200 characters are stored as their SHA-256."""
    now = utcnow()
    if dedupe_key is not None and len(dedupe_key) > _DEDUPE_MAX:
        dedupe_key = "sha256:" + hashlib.sha256(dedupe_key.encode()).hexdigest()
    job = Job(id=new_id(), queue=queue, kind=kind, payload=payload, max_attempts=max_attempts,
              run_at=run_at or now, dedupe_key=dedupe_key, created_at=now)
    if dedupe_key is None:
        session.add(job)
        await session.flush()
        return job
    values = {column: getattr(job, column) for column in Job.__table__.columns.keys()}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(Job).values(**values)
                 .on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
                 .returning(Job))
    return (await session.exec(statement)).scalars().first()


async def enqueue_many(
    session: AsyncSession, queue: str, kind: str, items: list[tuple[dict[str, Any], str]], *,
    max_attempts: int = 10,
) -> list[bool]:
    """Add one job per (payload, dedupe key) in the caller's transaction (it commits), in
    few statements; for each item, whether it was added (False: the key was already in this
    queue, or earlier in `items`)."""
    return await session.run_sync(lambda sync: enqueue_rows(
        sync.connection(), queue, kind, items, max_attempts=max_attempts))


def enqueue_rows(
    connection: sa.Connection, queue: str, kind: str, items: list[tuple[dict[str, Any], str]],
    *, max_attempts: int = 10,
) -> list[bool]:
    """`enqueue_many` on a plain connection (see `run_write`)."""
    now = utcnow()
    keys = [key if len(key) <= _DEDUPE_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
            for _, key in items]
    rows = [{"id": new_id(), "queue": queue, "kind": kind, "payload": payload, "state": "queued",
             "attempts": 0, "max_attempts": max_attempts, "run_at": now, "created_at": now,
             "dedupe_key": key} for (payload, _), key in zip(items, keys, strict=True)]
    added: set[str] = set()
    if connection.dialect.name == "sqlite":
        columns, values = sqlite_row_values(connection.dialect, Job.__table__, rows)
        for start in range(0, len(values), _ROWS_PER_INSERT):
            chunk = values[start:start + _ROWS_PER_INSERT]
            sql = _sqlite_enqueue_sql(columns, len(chunk))
            added.update(key for key, in connection.exec_driver_sql(
                sql, tuple(v for row in chunk for v in row)))
    else:
        # one statement for any number of rows: compiled once, cached, sent in batches
        statement = (pg_insert(Job).on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
                     .returning(Job.dedupe_key))
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            added.update(connection.execute(statement,
                                            rows[start:start + _ROWS_PER_INSERT]).scalars())
    first_seen = {key: index for index, key in reversed(list(enumerate(keys)))}
    return [key in added and first_seen[key] == index for index, key in enumerate(keys)]


@functools.lru_cache(maxsize=256)
def _sqlite_enqueue_sql(columns: str, count: int) -> str:
    row = "(" + ", ".join("?" * (columns.count(",") + 1)) + ")"
    return (f"INSERT INTO jobs ({columns}) VALUES {', '.join([row] * count)} "
            "ON CONFLICT (queue, dedupe_key) DO NOTHING RETURNING dedupe_key")


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                *, chunk: int = 500) -> None:
    """`connection.execute(sa.insert(table), rows)` in chunks of `chunk` rows. On SQLite
    the rows go to the driver's `executemany` as they would through SQLAlchemy (same
    column defaults, same conversions of values), without its per-row cost, which was
    most of the CPU time of a bulk insert."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        for start in range(0, len(rows), chunk):
            connection.execute(sa.insert(table), rows[start:start + chunk])
        return
    columns, values = sqlite_row_values(connection.dialect, table, rows)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' * len(values[0]))})"
    for start in range(0, len(values), chunk):
        connection.exec_driver_sql(sql, values[start:start + chunk])


def sqlite_row_values(dialect: sa.Dialect, table: sa.Table, rows: list[dict[str, Any]]
                      ) -> tuple[str, list[tuple[Any, ...]]]:
    """The column list and each row's parameters, as SQLAlchemy would send `rows` (dicts
    with the same keys, by column name) to SQLite in an INSERT into `table`: the values
    through each column type's bind processor, and the Python-side default of every column
    the rows leave out (a scalar, or a callable that needs no context)."""
    given, defaulted, processors, quoted = _sqlite_insert_plan(dialect, table, tuple(rows[0]))
    values = []
    for row in rows:
        raw = [row[key] for key in given]
        raw += [d.arg if d.is_scalar else d.arg(None) for d in defaulted]  # type: ignore[attr-defined,operator]
        values.append(tuple(raw[i] if p is None else p(raw[i]) for i, p in enumerate(processors)))
    return quoted, values


@functools.lru_cache(maxsize=256)
def _sqlite_insert_plan(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...]
                        ) -> tuple[tuple[str, ...], list[Any], list[Any], str]:
    columns = [table.c[key] for key in keys]
    omitted = [c for c in table.c if c.key not in keys and c.default is not None]
    for column in omitted:
        if not (column.default.is_scalar or column.default.is_callable):  # type: ignore[union-attr]
            raise ValueError(f"{table.name}.{column.name}: a default SQL expression")
    columns += omitted
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    quoted = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    return keys, [c.default for c in omitted], processors, quoted


async def run_write(target: Target, work: Callable[[sa.Connection], T]) -> T:
    """`work(connection)` in one write transaction, committed when it returns.

    On a SQLite file the whole transaction runs in one trip to a thread of its own, on a
    plain sqlite3 connection (`models.db.sqlite_sync_writer`), queued with this process's
    other writers: through aiosqlite each statement is several trips between the event loop
    and the driver's thread, each slow while the loop is busy, with the write lock held all
    along. Elsewhere it runs on the async engine.
    """
    engine = _engine_of(target)
    sync = sqlite_sync_writer(engine)
    if sync is None:
        async with write_session(target) as session:
            result = await session.run_sync(lambda s: work(s.connection()))
            await session.commit()
        return result
    sync_engine, thread = sync
    async with _WRITE_LOCKS.setdefault(engine.sync_engine, asyncio.Lock()):
        return await asyncio.get_running_loop().run_in_executor(
            thread, _transaction, sync_engine, work)


async def run_read(target: Target, work: Callable[[sa.Connection], T]) -> T:
    """`work(connection)` in one read transaction (rolled back: it must not write).

    On a SQLite file, in one trip to a thread of its own (`models.db.sqlite_sync_reader`),
    for the reasons `run_write` gives; elsewhere on a session from `target`."""
    engine = _engine_of(target)
    sync = sqlite_sync_reader(engine)
    if sync is None:
        maker = target if isinstance(target, async_sessionmaker) else async_sessionmaker(
            engine, class_=AsyncSession)
        async with maker() as session:
            return await session.run_sync(lambda s: work(s.connection()))
    sync_engine, thread = sync
    return await asyncio.get_running_loop().run_in_executor(thread, _read, sync_engine, work)


def _read(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    with engine.connect() as connection, connection.begin() as transaction:
        try:
            return work(connection)
        finally:
            transaction.rollback()


def _transaction(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    with engine.connect() as connection:
        connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            return work(connection)


def _claimable(queues: list[str], now: Any) -> Any:
    """Due jobs: each alternative names queue and state, so that both are searched in the
    (queue, state, run_at) index, never a scan of the jobs done (a busy inbox keeps a week's)."""
    in_queues = Job.queue.in_(queues)  # type: ignore[attr-defined]
    waiting = sa.and_(in_queues, Job.state == "queued", Job.run_at <= now)
    abandoned = sa.and_(in_queues, Job.state == "running",
                        Job.locked_until < now)  # type: ignore[operator]
    return sa.or_(waiting, abandoned)


async def claim(target: Target, queues: list[str], worker_id: str, *, limit: int = 10,
                lease: float = 60.0) -> list[Job]:
    """Take up to `limit` due jobs for `worker_id`, oldest `run_at` first, leased for `lease`
    seconds; each claim counts as an attempt.

    The time is read as each statement runs, after it is compiled: the lease is counted
    from then, not from before a compilation that, on a new engine on a busy machine, took
    longer than a short lease (which `test_expired_lease_is_reclaimed` uses)."""
    if sqlite_sync_writer(_engine_of(target)) is not None:
        jobs = await run_write(target, lambda connection: _claim_rows(
            connection, queues, worker_id, limit, lease))
        return sorted(jobs, key=lambda job: (job.run_at, job.id))
    now = sa.bindparam("claim_now", callable_=utcnow, type_=UTCDateTime())
    until = sa.bindparam("claim_until", type_=UTCDateTime(),
                         callable_=lambda: utcnow() + timedelta(seconds=lease))
    async with write_session(target) as session:
        await session.exec(_bury_abandoned(queues, now))
        jobs = list((await session.exec(_claiming(queues, worker_id, limit, until, now))).scalars())
        await session.commit()
    return sorted(jobs, key=lambda job: (job.run_at, job.id))


def _claim_rows(connection: sa.Connection, queues: list[str], worker_id: str, limit: int,
                lease: float) -> list[Job]:
    """`claim` on SQLite, in the writer thread's transaction (see `run_write`): one trip
    there instead of a dozen through aiosqlite, and its two statements as plain SQL, built
    once (building them was most of a claim's CPU time). The jobs come back detached."""
    bury, take = _sqlite_claim_statements(len(queues), lease)
    names = {f"q{i}": queue for i, queue in enumerate(queues)}
    connection.execute(bury, names)
    with Session(bind=connection) as session:
        jobs = list(session.scalars(select(Job).from_statement(take),
                                    {"worker": worker_id, "limit": limit, **names}))
        session.expunge_all()
    return jobs


@functools.lru_cache(maxsize=16)
def _sqlite_claim_statements(queues: int, lease: float) -> tuple[Any, Any]:
    """`_bury_abandoned` and `_claiming` as SQL text for `queues` queue names (:q0, :q1…);
    as there, the time is read as each statement runs."""
    names = ", ".join(f":q{i}" for i in range(queues))
    now = sa.bindparam("now", callable_=utcnow, type_=UTCDateTime())
    until = sa.bindparam("until", type_=UTCDateTime(),
                         callable_=lambda: utcnow() + timedelta(seconds=lease))
    bury = sa.text(
        "UPDATE jobs SET state = 'dead', finished_at = :now, locked_by = NULL, "
        "locked_until = NULL, last_error = coalesce(last_error, '') || :why "
        f"WHERE queue IN ({names}) AND state = 'running' AND locked_until < :now "
        "AND attempts >= max_attempts").bindparams(
            now, why="\nlease expired on the last attempt (worker died?)")
    columns = ", ".join(c.name for c in Job.__table__.columns)
    take = sa.text(
        "UPDATE jobs SET state = 'running', locked_by = :worker, attempts = attempts + 1, "
        "locked_until = :until WHERE id IN (SELECT id FROM jobs "
        f"WHERE (queue IN ({names}) AND state = 'queued' AND run_at <= :now) "
        f"OR (queue IN ({names}) AND state = 'running' AND locked_until < :now) "
        f"ORDER BY run_at, id LIMIT :limit) RETURNING {columns}").bindparams(now, until)
    return bury, take.columns(*Job.__table__.columns)


def _claiming(queues: list[str], worker_id: str, limit: int, until: Any, now: Any) -> Any:
    """The UPDATE … RETURNING that takes up to `limit` jobs due at `now` for `worker_id`,
    leased until `until`."""
    candidates = (select(Job.id).where(_claimable(queues, now))
                  .order_by(Job.run_at, Job.id).limit(limit)
                  .with_for_update(skip_locked=True))
    return (
        sa.update(Job).where(Job.id.in_(candidates))  # type: ignore[union-attr]
        .values(state="running", locked_by=worker_id, attempts=Job.attempts + 1,
                locked_until=until)
        .returning(Job).execution_options(synchronize_session=False)
    )


def _bury_abandoned(queues: list[str], now: Any) -> Any:
    """Abandoned jobs that already used their last attempt go to `dead`."""
    return (
        sa.update(Job)
        .where(Job.queue.in_(queues), Job.state == "running",  # type: ignore[attr-defined]
               Job.locked_until < now, Job.attempts >= Job.max_attempts)  # type: ignore[operator]
        .values(state="dead", finished_at=now, locked_by=None, locked_until=None,
                last_error=sa.func.coalesce(Job.last_error, "")
                + "\nlease expired on the last attempt (worker died?)")
        .execution_options(synchronize_session=False)
    )


def _owned(job_ids: Iterable[int], worker_id: str | None) -> list[Any]:
    where = [Job.id.in_(list(job_ids)), Job.state == "running"]  # type: ignore[union-attr]
    if worker_id is not None:
        where.append(Job.locked_by == worker_id)
    return where


async def complete(target: Target, job_id: int, *, worker_id: str | None = None) -> bool:
    """Mark a running job done; False if it is not running (or no longer `worker_id`'s)."""
    return await complete_many(target, [job_id], worker_id=worker_id) == 1


async def complete_many(target: Target, job_ids: Iterable[int], *,
                        worker_id: str | None = None) -> int:
    """Mark running jobs done in one transaction; returns how many were ours to finish."""
    async with write_session(target) as session:
        done = await complete_in(session, job_ids, worker_id=worker_id)
        await session.commit()
    return done


async def complete_in(session: AsyncSession, job_ids: Iterable[int], *,
                      worker_id: str | None = None) -> int:
    """Mark running jobs done in the caller's transaction (the caller commits), so that
    work and its completion commit together; returns how many."""
    ids = list(job_ids)
    if not ids:
        return 0
    result = await session.exec(_completion(ids, worker_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def complete_rows(connection: sa.Connection, job_ids: Iterable[int], *,
                  worker_id: str | None = None) -> int:
    """`complete_in` on a plain connection (see `run_write`)."""
    ids = list(job_ids)
    return int(connection.execute(_completion(ids, worker_id)).rowcount) if ids else 0


def _completion(ids: list[int], worker_id: str | None) -> Any:
    return (sa.update(Job).where(*_owned(ids, worker_id))
            .values(state="done", finished_at=utcnow(), locked_by=None, locked_until=None)
            .execution_options(synchronize_session=False))


async def fail(target: Target, job_id: int, error: str, *, retry: bool = True,
               worker_id: str | None = None) -> str | None:
    """Record a failed attempt: back to `queued` after `backoff`, or `dead` when `retry` is
    False or attempts are used up. Returns the new state (None: the job was not ours)."""
    now = utcnow()
    async with write_session(target) as session:
        query = select(Job).where(*_owned([job_id], worker_id)).with_for_update()
        job = (await session.exec(query)).first()
        if job is None:
            return None
        again = retry and job.attempts < job.max_attempts
        values: dict[str, Any] = {"locked_by": None, "locked_until": None,
                                  "last_error": error[-_ERROR_MAX:]}
        if again:
            values |= {"state": "queued", "run_at": now + timedelta(seconds=backoff(job.attempts))}
        else:
            values |= {"state": "dead", "finished_at": now}
        await session.exec(sa.update(Job).where(Job.id == job_id).values(**values)
                              .execution_options(synchronize_session=False))
        await session.commit()
    return str(values["state"])


async def heartbeat(target: Target, job_ids: Iterable[int], lease: float, *,
                    worker_id: str | None = None) -> int:
    """Extend the lease of running jobs to `lease` seconds from now; returns how many."""
    ids = list(job_ids)
    if not ids:
        return 0
    until = utcnow() + timedelta(seconds=lease)
    statement = (sa.update(Job).where(*_owned(ids, worker_id)).values(locked_until=until)
                 .execution_options(synchronize_session=False))
    async with write_session(target) as session:
        result = await session.exec(statement)
        await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


async def release(target: Target, job_ids: Iterable[int], *, worker_id: str | None = None) -> int:
    """Hand running jobs back to the queue without counting the attempt (clean shutdown)."""
    ids = list(job_ids)
    if not ids:
        return 0
    statement = (sa.update(Job).where(*_owned(ids, worker_id))
                 .values(state="queued", run_at=utcnow(), locked_by=None, locked_until=None,
                         attempts=Job.attempts - 1)  # every claim counted one
                 .execution_options(synchronize_session=False))
    async with write_session(target) as session:
        result = await session.exec(statement)
        await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune_done(target: Target, older_than: timedelta, *, batch: int = 500) -> int:
    """Delete `done` jobs finished more than `older_than` ago, `batch` per transaction (a
    week of a busy inbox in one would hold SQLite's write lock for seconds, and the server's
    start-up prunes); returns how many."""
    cutoff = utcnow() - older_than
    finished_before = Job.finished_at < cutoff  # type: ignore[operator]
    some = select(Job.id).where(Job.state == "done", finished_before).limit(batch)
    statement = (sa.delete(Job).where(Job.id.in_(some))  # type: ignore[union-attr]
                 .execution_options(synchronize_session=False))
    pruned = 0
    while True:
        async with write_session(target) as session:
            result = await session.exec(statement)
            await session.commit()
        pruned += int(result.rowcount)  # type: ignore[attr-defined]
        if result.rowcount < batch:  # type: ignore[attr-defined]
            return pruned


class GroupCommit:
    """Writes items handed in by concurrent callers together: the first caller's write starts
    at once, callers arriving while it runs share the next one. Each caller waits until its
    item is written (or gets the write's exception)."""

    def __init__(self, write: Callable[[list[Any]], Awaitable[list[Any]]]) -> None:
        self._write = write  # items -> one result per item, in order
        self._waiting: list[tuple[Any, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, item: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writer = None


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Worker:
    """Runs jobs from `queues` with `handlers` (job kind → `async handler(payload, job)`).

    Up to `concurrency` jobs run at once; their leases are renewed every third of `lease`
    while they run. A handler that raises is retried with `backoff`; `PermanentJobError`
    (or a kind without a handler) sends the job to `dead` at once. Call `wake()` after
    enqueueing to skip the wait for the next poll. Jobs that succeed at the same time are
    marked done together, in one transaction.

    A kind in `batches` runs through its `BatchHandler` up to `batch_size` jobs at a time
    (then `concurrency` counts batches, not jobs): one transaction for many jobs. With
    `linger`, a claim that emptied the queue is followed by the next one no sooner than
    `linger` seconds later, so that a steady trickle is taken in batches, not one by one.
    """

    def __init__(
        self, sessionmaker: Target, handlers: dict[str, Handler], queues: list[str], *,
        worker_id: str | None = None, concurrency: int = 4, poll_interval: float = 0.5,
        lease: float = 60.0, wake: asyncio.Event | None = None, shutdown_grace: float = 10.0,
        batches: dict[str, BatchHandler] | None = None, batch_size: int = 100,
        linger: float = 0.0,
    ) -> None:
        self.target = sessionmaker
        self.handlers = handlers
        self.batches = dict(batches or {})
        self.batch_size = batch_size if self.batches else 1
        self.linger = linger
        self._emptied = False  # the last claim took every due job there was
        self.queues = list(queues)
        self.worker_id = worker_id or _default_worker_id()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.shutdown_grace = shutdown_grace
        self.wake_event = wake if wake is not None else asyncio.Event()
        self._running: dict[int, Job] = {}
        self._completions = GroupCommit(self._complete_all)
        self._next_poll = poll_interval

    def wake(self) -> None:
        self.wake_event.set()

    async def run_once(self) -> int:
        """Claim one batch, run it to the end, and return how many jobs ran."""
        jobs = await claim(self.target, self.queues, self.worker_id,
                           limit=self.concurrency * self.batch_size, lease=self.lease)
        if jobs:
            beat = asyncio.create_task(self._heartbeats())
            try:
                await asyncio.gather(*self._units(jobs))
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
        return len(jobs)

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until `stop` is set, then let running ones finish (up to
        `shutdown_grace` seconds; the rest are handed back to the queue)."""
        tasks: set[asyncio.Task[None]] = set()
        beat = asyncio.create_task(self._heartbeats())
        try:
            while not stop.is_set():
                claimed = await self._fill(tasks)
                if claimed:
                    self._next_poll = min(_BUSY_POLL, self.poll_interval)
                    if self._emptied and self.linger:
                        await asyncio.sleep(self.linger)
                else:
                    await self._idle(stop, tasks)
        finally:
            beat.cancel()
            await self._drain(tasks)

    async def _fill(self, tasks: set[asyncio.Task[None]]) -> int:
        free = self.concurrency - len(tasks)
        if free <= 0:
            return 0
        self.wake_event.clear()
        try:
            jobs = await claim(self.target, self.queues, self.worker_id,
                               limit=free * self.batch_size, lease=self.lease)
        except Exception:  # the database is away: keep polling, say so
            log.exception("worker %s: claiming from %s failed", self.worker_id, self.queues)
            return 0
        self._emptied = len(jobs) < free * self.batch_size
        for unit in self._units(jobs):
            task = asyncio.create_task(unit)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return len(jobs)

    def _units(self, jobs: list[Job]) -> list[Coroutine[Any, Any, None]]:
        """One coroutine per plain job, one per batch of up to `batch_size` batch jobs."""
        units: list[Coroutine[Any, Any, None]] = []
        by_kind: dict[str, list[Job]] = {}
        for job in jobs:
            if job.kind in self.batches:
                by_kind.setdefault(job.kind, []).append(job)
            else:
                units.append(self._run(job))
        for kind, same in by_kind.items():
            for start in range(0, len(same), self.batch_size):
                units.append(self._run_batch(kind, same[start:start + self.batch_size]))
        return units

    async def _idle(self, stop: asyncio.Event, tasks: set[asyncio.Task[None]]) -> None:
        """Wait for a stop, a wake-up (when a slot is free), a finished job, or the next poll.
        While every slot is busy a wake-up can wait: it stays set for later.

        Right after jobs were found the next poll comes soon, then ever later, up to the poll
        interval: jobs enqueued by another process wake nobody here, and a busy queue should
        not wait a whole interval for them."""
        waiters = [asyncio.create_task(stop.wait())]
        if len(tasks) < self.concurrency:
            waiters.append(asyncio.create_task(self.wake_event.wait()))
        timeout, self._next_poll = self._next_poll, min(self._next_poll * 2, self.poll_interval)
        try:
            await asyncio.wait([*waiters, *tasks], timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        if tasks:
            await asyncio.wait(tasks, timeout=self.shutdown_grace)
        unfinished = [job_id for job_id in self._running]
        for task in tasks:
            task.cancel()
        if unfinished:
            await asyncio.gather(*tasks, return_exceptions=True)
            await release(self.target, unfinished, worker_id=self.worker_id)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await heartbeat(self.target, list(self._running), self.lease,
                                worker_id=self.worker_id)
            except Exception:
                log.exception("worker %s: heartbeat failed", self.worker_id)

    async def _run(self, job: Job) -> None:
        self._running[job.id] = job
        try:
            await self._attempt(job)
        except Exception:  # recording the outcome failed: the lease runs out, it is retried
            log.exception("worker %s: could not record the end of job %s", self.worker_id, job.id)
        finally:
            self._running.pop(job.id, None)

    async def _run_batch(self, kind: str, jobs: list[Job]) -> None:
        for job in jobs:
            self._running[job.id] = job
        try:
            failures = await self._batch_failures(kind, jobs)
            for job in jobs:
                if job.id in failures:
                    await self._record_failure(job, failures[job.id])
        except Exception:  # recording the outcome failed: the lease runs out, it is retried
            log.exception("worker %s: could not record the end of a %s batch", self.worker_id,
                          kind)
        finally:
            for job in jobs:
                self._running.pop(job.id, None)

    async def _batch_failures(self, kind: str, jobs: list[Job]) -> dict[int, Exception]:
        """Run one batch; the whole batch fails together when its transaction does."""
        async def finish(session: AsyncSession, job_ids: list[int]) -> int:
            return await complete_in(session, job_ids, worker_id=self.worker_id)

        try:
            return await self.batches[kind](jobs, finish)
        except Exception as exc:
            return {job.id: exc for job in jobs}

    async def _complete_all(self, job_ids: list[int]) -> list[None]:
        await complete_many(self.target, job_ids, worker_id=self.worker_id)
        return [None] * len(job_ids)

    async def _record_failure(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, PermanentJobError):
            log.warning("job %s (%s) failed for good: %s", job.id, job.kind, exc)
            await fail(self.target, job.id, _describe(exc), retry=False, worker_id=self.worker_id)
        else:
            log.warning("job %s (%s) attempt %d failed: %s", job.id, job.kind, job.attempts,
                        _describe(exc), exc_info=exc)
            await fail(self.target, job.id, _describe(exc), worker_id=self.worker_id)

    async def _attempt(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            await handler(job.payload, job)
        except Exception as exc:
            await self._record_failure(job, exc)
        else:
            await self._completions.add(job.id)
