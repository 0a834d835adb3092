"""Schema migrations (Alembic), driven from code: no alembic.ini on disk.

`upgrade` is on the server's start-up path, so an up-to-date database costs one connection
and one query, and Alembic itself is imported only when there is something to do. Concurrent starters are safe: PostgreSQL serialises them with an advisory
lock, SQLite with an immediate (write-locked) transaction; either way the second one finds
the schema at head and does nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import re
import weakref
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_REVISION = re.compile(r"^revision(?:: str)? = ['\"](\w+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = ['\"](\w+)['\"]", re.M)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision, read from the version files (the one no other revises)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text()
        if found := _REVISION.search(text):
            revisions.add(found.group(1))
        if down := _DOWN.search(text):
            revised.add(down.group(1))
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"expected one head revision in {MIGRATIONS}, found {sorted(heads)}")
    return heads.pop()


def _engine(url: str) -> AsyncEngine:
    return make_engine(url, poolclass=sa.NullPool)


def _read_revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade_on(connection: sa.Connection) -> None:
    from alembic import command

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
    database = sa.engine.make_url(url).database if is_sqlite(url) else None
    if not database or database == ":memory:":
        await _upgrade_once(url, head)
        return
    # processes sharing a SQLite file take turns through a lock file beside it, from the
    # first connection on (setting WAL mode on a new file needs the database to itself)
    with open(f"{database}.migrate-lock", "a") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            await _upgrade_once(url, head)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def _upgrade_once(url: str, head: str) -> None:
    engine = _engine(url)
    try:
        async with engine.connect() as connection:
            if await connection.run_sync(_read_revision) == head:
                return
            await connection.rollback()
            async with _local_lock():
                if is_sqlite(url):
                    await _upgrade(connection)
                else:
                    await _upgrade_locked(connection)
    finally:
        await engine.dispose()


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
