"""Read-only work as plain synchronous SQLAlchemy Core on one connection, in one snapshot.

On a SQLite file the work runs on a connection of a synchronous engine, in the event loop's
own thread: a page's few indexed reads take microseconds each, far less than one round trip
to aiosqlite's thread (WAL readers never wait for writers). Elsewhere (PostgreSQL, an
in-memory SQLite) it runs through the async engine's `run_sync`: the same code, each query
awaited on the async driver, with no ORM session in the way.
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
        connection.exec_driver_sql("BEGIN")  # one snapshot for the whole piece of work

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def on_dispose(_engine: Any) -> None:
        reader.dispose()

    return reader


async def read(engine: AsyncEngine, work: Work[T]) -> T:
    """Run `work(connection)`, which only reads, and return what it returns."""
    if engine not in _engines:
        _engines[engine] = _sqlite_reader(engine)
    reader = _engines[engine]
    if reader is not None:
        with reader.connect() as connection, connection.begin():
            return work(connection)
    async with engine.connect() as connection:
        return await connection.run_sync(work)


async def read_in(session: AsyncSession, work: Work[T]) -> T:
    """Run `work` on the session's own connection: it sees what the session has flushed."""
    return await session.run_sync(lambda sync_session: work(sync_session.connection()))
