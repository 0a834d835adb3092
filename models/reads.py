"""Read-only work as plain synchronous SQLAlchemy Core on one connection, in one snapshot.

On a SQLite file the work runs on a connection of a synchronous engine, in the event loop's
own thread: a page's few indexed reads take microseconds each, far less than one round trip
to aiosqlite's thread (WAL readers never wait for writers). Elsewhere (PostgreSQL, an
in-memory SQLite) it runs through the async engine's `run_sync`: the same code, each query
awaited on the async driver, with no ORM session in the way.

On PostgreSQL the reads go through an engine of their own that spends no round trip but the
queries': no ping at checkout and no BEGIN or ROLLBACK (autocommit, so each query sees the
latest commits). A connection found dead is dropped with the rest of the pool and the work
runs once more on a fresh one (it only reads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
Work = Callable[[sa.Connection], T]

_engines: WeakKeyDictionary[AsyncEngine, sa.Engine | None] = WeakKeyDictionary()
_pg_readers: WeakKeyDictionary[AsyncEngine, AsyncEngine | None] = WeakKeyDictionary()
_pg_generic: WeakKeyDictionary[AsyncEngine, AsyncEngine | None] = WeakKeyDictionary()


def _sqlite_reader(engine: AsyncEngine) -> sa.Engine | None:
    """A synchronous, read-only engine on the same SQLite file (None when not a file)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    reader = sa.create_engine(url.set(drivername="sqlite"), pool_size=4, max_overflow=8,
                              json_deserializer=orjson.loads)

    @event.listens_for(reader, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # `on_begin` opens the read transaction
        for pragma in ("query_only=ON", "busy_timeout=1000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(reader, "begin")
    def on_begin(connection: sa.Connection) -> None:
        # one snapshot for the whole piece of work (on the driver's connection: quicker)
        connection.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def on_dispose(_engine: Any) -> None:
        reader.dispose()

    return reader


def _pg_reader(engine: AsyncEngine, generic: bool = False) -> AsyncEngine | None:
    """An autocommit engine without pre-ping on the same PostgreSQL database (None if not);
    `generic`: one whose prepared statements keep one generic plan (no planning per run)."""
    if engine.url.get_backend_name() != "postgresql":
        return None
    from models.db import make_engine

    options: dict[str, Any] = {}
    if generic:
        options = {"pool_size": 2, "connect_args": {
            "server_settings": {"plan_cache_mode": "force_generic_plan"}}}
    reader = make_engine(engine.url.render_as_string(hide_password=False),
                         pool_pre_ping=False, isolation_level="AUTOCOMMIT", **options)

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def on_dispose(_engine: Any) -> None:
        reader.sync_engine.dispose()  # runs inside the awaited dispose: may await

    return reader


async def read(engine: AsyncEngine, work: Work[T], *, generic_plans: bool = False) -> T:
    """Run `work(connection)`, which only reads, and return what it returns.

    `generic_plans`: on PostgreSQL, run it where each statement is planned once, not each
    time (PostgreSQL replans a statement whose generic plan looks costlier than its custom
    ones): for hot statements whose one plan suits every parameter (the home timeline)."""
    if engine not in _engines:
        _engines[engine] = _sqlite_reader(engine)
        _pg_readers[engine] = _pg_reader(engine)
        _pg_generic[engine] = _pg_reader(engine, generic=True)
    reader = _engines[engine]
    if reader is not None:
        with reader.connect() as connection, connection.begin():
            return work(connection)
    pg = (_pg_generic if generic_plans else _pg_readers)[engine]
    if pg is None:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    try:
        async with pg.connect() as connection:
            return await connection.run_sync(work)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    async with pg.connect() as connection:  # the pool was refilled: once more
        return await connection.run_sync(work)


async def read_in(session: AsyncSession, work: Work[T]) -> T:
    """Run `work` on the session's own connection: it sees what the session has flushed."""
    return await session.run_sync(lambda sync_session: work(sync_session.connection()))
