"""Engines and sessions: async SQLAlchemy over aiosqlite (embedded) or asyncpg (PostgreSQL).

SQLite transactions start with `BEGIN` (deferred); a connection with the execution option
`sqlite_immediate=True` starts them with `BEGIN IMMEDIATE`, taking the write lock at once
(the job queue claims that way). The option is ignored on PostgreSQL. For busy write paths a
SQLite file also gets a plain sqlite3 engine whose transactions run whole in one thread
(`sqlite_sync_writer`, used by `models.queue.run_write`).
"""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

if TYPE_CHECKING:  # sqlmodel (and pydantic) only once sessions are made: quicker start-up
    from sqlmodel.ext.asyncio.session import AsyncSession

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
                  "postgres": "postgresql+asyncpg"}
_KNOWN_ASYNC = {"sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg"}


class DatabaseUnavailable(Exception):
    """The database cannot be reached or refuses our connection."""


def async_url(url: str) -> str:
    """The async-driver form of a database URL (`sqlite:///` → `sqlite+aiosqlite:///`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL (no scheme): {url!r}")
    scheme = scheme.lower()
    if scheme in _ASYNC_DRIVERS:
        return f"{_ASYNC_DRIVERS[scheme]}://{rest}"
    if scheme in _KNOWN_ASYNC:
        return f"{scheme}://{rest}"
    if scheme.startswith(("sqlite+", "postgresql+", "postgres+")):
        raise ValueError(f"database driver {scheme!r} is not async: use sqlite:// or postgresql://")
    raise ValueError(f"unsupported database {scheme!r}: use sqlite:/// or postgresql://")


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.lower().startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`, tuned per backend; extra keyword arguments go to SQLAlchemy."""
    full = async_url(url)
    if is_sqlite(full):
        options: dict[str, Any] = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
        if make_url(full).database in (None, "", ":memory:"):
            options = {"poolclass": sa.StaticPool}  # one shared in-memory database
        engine = create_async_engine(full, **(_JSON | _merge(options, kwargs)))
        _tune_sqlite(engine)
        return engine
    options = {"pool_size": 5, "max_overflow": 5, "pool_pre_ping": True, "pool_recycle": 1800,
               "connect_args": {"server_settings": dict(PG_SERVER_SETTINGS)}}
    return create_async_engine(full, **(_JSON | _merge(options, kwargs)))


# every PostgreSQL connection's: no JIT compilation. Our statements are short indexed reads
# and writes; one whose (generic) plan is estimated costly, such as a sparse home timeline's
# read by author, spent 60 to 300 ms compiling for a millisecond of work
PG_SERVER_SETTINGS = {"jit": "off"}


def _dump_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (job payloads above all) through orjson: several times quicker than `json`
_JSON: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": orjson.loads}


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Our pool sizing, unless the caller picked a pool class of its own."""
    if "poolclass" in given:
        defaults = {}
    return defaults | given


# every SQLite connection's: FULL fsyncs the WAL at each commit, so that a commit (an
# accepted activity, a posted status) survives a power loss too; NORMAL keeps commits across
# a process crash but may lose the last ones to a power loss
SQLITE_SYNCHRONOUS = "FULL"


def _tune_sqlite(engine: AsyncEngine | sa.Engine) -> None:
    @event.listens_for(engine if isinstance(engine, sa.Engine) else engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the driver must not open transactions itself: `on_begin` does (and savepoints work)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # the busy timeout first: switching a new file to WAL needs its lock, which another
        # connection may hold for a moment
        for pragma in ("busy_timeout=5000", "journal_mode=WAL",
                       f"synchronous={SQLITE_SYNCHRONOUS}", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine if isinstance(engine, sa.Engine) else engine.sync_engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(
    engine: AsyncEngine, *, immediate: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions (SQLModel's `AsyncSession`) that keep loaded values after commit.

    `immediate=True` makes each SQLite transaction take the write lock when it begins: use it
    for sessions that read and then write under contention.
    """
    from sqlmodel.ext.asyncio.session import AsyncSession

    bind = engine.execution_options(sqlite_immediate=True) if immediate else engine
    return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False)


async def check_connection(engine: AsyncEngine) -> None:
    """Raise `DatabaseUnavailable` with the reason unless a `SELECT 1` succeeds."""
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # drivers raise many unrelated types for the same meaning
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach database {where}: {reason}") from exc


# per async engine (weakly held): a plain sqlite3 engine on the same file, and its one thread
_SYNC_WRITERS: weakref.WeakKeyDictionary[Any, tuple[sa.Engine, ThreadPoolExecutor]] = (
    weakref.WeakKeyDictionary())
_SYNC_READERS: weakref.WeakKeyDictionary[Any, tuple[sa.Engine, ThreadPoolExecutor]] = (
    weakref.WeakKeyDictionary())


def sqlite_sync_writer(engine: AsyncEngine) -> tuple[sa.Engine, ThreadPoolExecutor] | None:
    """For a SQLite file: a plain (sync) engine on the same file with the same settings, and
    the one thread where its transactions run. None for other databases, and for in-memory
    SQLite (a second engine would not see the same database)."""
    return _sync_engine(engine, _SYNC_WRITERS, "sqlite-writer")


def sqlite_sync_reader(engine: AsyncEngine) -> tuple[sa.Engine, ThreadPoolExecutor] | None:
    """As `sqlite_sync_writer`, for reads (`models.queue.run_read`): another connection and
    thread, so that a read waits neither for the writer nor for the event loop (WAL lets it
    read while another connection writes)."""
    return _sync_engine(engine, _SYNC_READERS, "sqlite-reader")


def _sync_engine(engine: AsyncEngine, known: weakref.WeakKeyDictionary[Any, Any], name: str
                 ) -> tuple[sa.Engine, ThreadPoolExecutor] | None:
    found = known.get(engine.sync_engine)
    if found is None:
        if not is_sqlite(engine) or engine.url.database in (None, "", ":memory:"):
            return None
        sync = sa.create_engine(engine.url.set(drivername="sqlite"), pool_size=1,
                                max_overflow=0, connect_args={"check_same_thread": False},
                                **_JSON)
        _tune_sqlite(sync)
        found = known[engine.sync_engine] = (
            sync, ThreadPoolExecutor(max_workers=1, thread_name_prefix=name))
        weakref.finalize(engine.sync_engine, _close_sync_writer, *found)
    return found


def _close_sync_writer(sync: sa.Engine, thread: ThreadPoolExecutor) -> None:
    thread.shutdown(wait=False)
    sync.dispose()
