"""Schema migrations (Alembic), driven from code: no alembic.ini on disk.

`upgrade` is on the server's start-up path, so an up-to-date database costs one connection
and one query. Concurrent starters are safe: PostgreSQL serialises them with an advisory
lock, SQLite with an immediate (write-locked) transaction; either way the second one finds
the schema at head and does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import is_sqlite, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x66656469766572  # pg_advisory_lock key owned by our migrations ("fediver")
# Alembic keeps its running context in module globals: one upgrade at a time per process
_local_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


def _local_lock() -> asyncio.Lock:
    return _local_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for our migrations (for `alembic` commands run from code)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def _engine(url: str) -> AsyncEngine:
    return make_engine(url, poolclass=sa.NullPool)


def _read_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade_on(connection: sa.Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = _engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()


async def upgrade(url: str) -> None:
    """Bring the database to the newest revision; quick when it is already there."""
    head = head_revision()
    engine = _engine(url)
    try:
        async with engine.connect() as connection:
            if await connection.run_sync(_read_revision) == head:
                return
            await connection.rollback()
            async with _local_lock():
                await _upgrade_exclusive(connection, url)
    finally:
        await engine.dispose()


async def _upgrade_exclusive(connection: AsyncConnection, url: str) -> None:
    if is_sqlite(url):
        await connection.execution_options(sqlite_immediate=True)
        await _upgrade(connection)
    else:
        await _upgrade_locked(connection)


async def _upgrade(connection: AsyncConnection) -> None:
    await connection.run_sync(_upgrade_on)
    await connection.commit()


async def _upgrade_locked(connection: AsyncConnection) -> None:
    await connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
    await connection.commit()
    try:
        await _upgrade(connection)  # alembic re-reads the revision under the lock
    finally:
        await connection.rollback()
        await connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        await connection.commit()
