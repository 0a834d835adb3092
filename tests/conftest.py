"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL too when
FEDIVERSE_TEST_DATABASE_URL is set (each test gets a database of its own there)."""

from __future__ import annotations

import os
import shutil
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


_templates: dict[str, str] = {}  # backend -> a migrated database that new ones are copied from


async def _template(backend: str, root) -> str:  # type: ignore[no-untyped-def]
    """A database at the newest migration, made once per test run and copied for each test."""
    from models.migrate import upgrade

    if backend not in _templates:
        if backend == "sqlite":
            path = root / "template.db"
            await upgrade(f"sqlite:///{path}")
            _templates[backend] = str(path)
        else:
            name = "fv_tpl_" + uuid.uuid4().hex[:12]
            admin = _pg_admin_url() or ""
            await _pg_exec(admin, f'CREATE DATABASE "{name}"')
            await upgrade(_with_database(admin, name))
            _templates[backend] = name
    return _templates[backend]


@pytest.fixture(scope="session", autouse=True)
def _drop_templates():
    yield
    import asyncio

    name = _templates.get("postgresql")
    if name:
        asyncio.run(_pg_exec(_pg_admin_url() or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=_BACKENDS)
async def new_database_url(request, tmp_path, tmp_path_factory):
    """A factory of SQLAlchemy URLs of databases, one backend per run.

    `await make()` gives a database already at the newest migration (copied from a template,
    which is far quicker than migrating each time); `await make(empty=True)` an empty one."""
    if request.param == "postgresql" and not _pg_admin_url():
        pytest.skip("FEDIVERSE_TEST_DATABASE_URL not set")
    made: list[str] = []

    async def make(*, empty: bool = False) -> str:
        name = "fv_" + uuid.uuid4().hex[:16]
        template = None if empty else await _template(
            request.param, tmp_path_factory.getbasetemp())
        if request.param == "sqlite":
            path = tmp_path / (name + ".db")
            if template:
                shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        admin = _pg_admin_url()
        assert admin
        clause = f' TEMPLATE "{template}"' if template else ""
        await _pg_exec(admin, f'CREATE DATABASE "{name}"{clause}')
        made.append(name)
        return _with_database(admin, name)

    try:
        yield make
    finally:
        for name in made:
            await _pg_exec(_pg_admin_url() or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(new_database_url):
    """A SQLAlchemy URL of a database already at the newest migration."""
    return await new_database_url()


@pytest.fixture
async def empty_database_url(new_database_url):
    """A SQLAlchemy URL of an empty database (not yet migrated)."""
    return await new_database_url(empty=True)
