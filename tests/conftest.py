"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL too when
FEDIVERSE_TEST_DATABASE_URL is set (each test gets a database of its own there)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

VECTORS = Path(__file__).parent / "vectors"

_BACKENDS = ["sqlite", "postgresql"]


def _pg_admin_url() -> str | None:
    return os.environ.get("FEDIVERSE_TEST_DATABASE_URL") or None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _pg_exec(admin_url: str, sql: str) -> None:
    import asyncpg

    parts = urlsplit(admin_url)
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=_BACKENDS)
async def new_database_url(request, tmp_path):
    """A factory of SQLAlchemy URLs of empty databases (not yet migrated), one backend per run."""
    if request.param == "postgresql" and not _pg_admin_url():
        pytest.skip("FEDIVERSE_TEST_DATABASE_URL not set")
    made: list[str] = []

    async def make() -> str:
        name = "fv_" + uuid.uuid4().hex[:16]
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        admin = _pg_admin_url()
        assert admin
        await _pg_exec(admin, f'CREATE DATABASE "{name}"')
        made.append(name)
        return _with_database(admin, name)

    try:
        yield make
    finally:
        for name in made:
            await _pg_exec(_pg_admin_url() or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(new_database_url):
    """A SQLAlchemy URL of an empty database (not yet migrated)."""
    return await new_database_url()
