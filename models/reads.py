"""Read-only work as plain synchronous SQLAlchemy Core on one connection, in one snapshot.

On a SQLite file the work runs on a connection of a synchronous engine, in the event loop's
own thread: a page's few indexed reads take microseconds each, far less than one round trip
to aiosqlite's thread (WAL readers never wait for writers). Elsewhere (PostgreSQL, an
in-memory SQLite) it runs in a greenlet on a connection of the async engine's pool: the same
code, each query awaited on the async driver, with no ORM session in the way.

On PostgreSQL the reads go through an engine of their own that spends no round trip but the
queries': no ping at checkout and no BEGIN or ROLLBACK (autocommit, so each query sees the
latest commits). A connection found dead is dropped with the rest of the pool and the work
runs once more on a fresh one (it only reads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only, greenlet_spawn
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
    from models.db import PG_SERVER_SETTINGS, make_engine

    # asyncpg prepares (and PostgreSQL plans) anew each time a statement longer than its
    # `max_cacheable_statement_size` (15 KiB): a page's statements are longer
    settings = dict(PG_SERVER_SETTINGS)
    connect: dict[str, Any] = {"max_cacheable_statement_size": 256 * 1024,
                               "server_settings": settings}
    options: dict[str, Any] = {"connect_args": connect}
    if generic:
        settings["plan_cache_mode"] = "force_generic_plan"
        options["pool_size"] = 2
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
    # checkout, work and return in one greenlet, on the sync engine: an `AsyncConnection`
    # spends more CPU than an indexed page's query (a greenlet and a task each way)
    try:
        return await greenlet_spawn(_on_connection, pg.sync_engine, work)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return await greenlet_spawn(_on_connection, pg.sync_engine, work)  # refilled: once more


def _on_connection(engine: sa.Engine, work: Work[T]) -> T:
    with engine.connect() as connection:
        return work(connection)


async def read_in(session: AsyncSession, work: Work[T]) -> T:
    """Run `work` on the session's own connection: it sees what the session has flushed."""
    return await session.run_sync(lambda sync_session: work(sync_session.connection()))


# ---- rows straight from the driver, converted only when needed ----
# SQLAlchemy's execution and result processing (datetimes parsed from text, booleans, JSON)
# cost about as much as an indexed query itself. `fetch` runs a statement compiled once on
# the driver's own connection (pysqlite, asyncpg) and gives its rows as the driver returns
# them. asyncpg's are what SQLAlchemy would give for our column types (UTC datetimes,
# booleans, JSON decoded by the codecs SQLAlchemy set up); pysqlite's are text and integers,
# which `converter` turns into what SQLAlchemy would give, for the rows a page renders
# afresh (the rest are compared as they are: `fediverse.api.entities.page_json`).
RAW_DRIVERS = frozenset({"pysqlite", "asyncpg"})


class _Compiled(NamedTuple):
    sql: str
    slots: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor


_compiled: dict[tuple[Any, int], _Compiled] = {}


def _compile(statement: sa.Executable, dialect: sa.Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    assert compiled.positiontup is not None and not compiled.post_compile_params
    processors = compiled._bind_processors  # noqa: SLF001  (as SQLAlchemy applies them)
    slots = tuple((name, compiled.binds[name].effective_value, processors.get(name))
                  for name in compiled.positiontup)
    return _Compiled(compiled.string, slots)


def raw_driver(conn: sa.Connection) -> bool:
    """Whether `fetch` on `conn` gives the driver's own rows (tuples by position)."""
    return conn.dialect.driver in RAW_DRIVERS


def fetch(conn: sa.Connection, statement: sa.Executable, params: dict[str, Any]
          ) -> list[Any]:
    """`conn.execute(statement, params).all()`, as the driver's own rows where it is one of
    `RAW_DRIVERS` (`converter` makes pysqlite's processed rows). `statement` must live as
    long as the process (those built once): it keys the compiled form."""
    driver_name = conn.dialect.driver
    if driver_name not in RAW_DRIVERS:
        return conn.execute(statement, params).all()
    key = (statement, id(conn.dialect))
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _compile(statement, conn.dialect)
    values = []
    for name, default, processor in found.slots:
        value = params[name] if name in params else default
        values.append(processor(value) if processor is not None and value is not None
                      else value)
    driver: Any = conn.connection.driver_connection
    if driver_name == "pysqlite":
        return driver.execute(found.sql, values).fetchall()  # type: ignore[no-any-return]
    try:
        return await_only(driver.fetch(found.sql, *values))  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001
        # once more through SQLAlchemy, which raises it as its own error (a connection
        # found dead invalidates the pool, which `read` then retries) or gets the rows
        return conn.execute(statement, params).all()


_converters: dict[tuple[tuple[Any, ...], int], Callable[[Any], Any]] = {}


def converter(conn: sa.Connection, columns: Sequence[sa.ColumnElement[Any]],
              make: Callable[[Any], T]) -> Callable[[Any], T]:
    """A function from a raw row of `columns` (as `fetch` gives on pysqlite) to
    `make(processed values)`; on other drivers rows need no processing: `make` alone."""
    dialect = conn.dialect
    if dialect.driver != "pysqlite":
        return make
    key = (tuple(columns), id(dialect))
    found = _converters.get(key)
    if found is None:
        processors = [c.type._cached_result_processor(dialect, None)  # noqa: SLF001
                      for c in columns]
        steps = [(i, p) for i, p in enumerate(processors) if p is not None]

        def convert(row: Any) -> T:
            values = list(row)
            for i, processor in steps:
                values[i] = processor(values[i])
            return make(values)

        found = _converters[key] = convert
    return found
