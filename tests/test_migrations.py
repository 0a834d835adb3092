"""Migrations: upgrade makes the schema the tables describe, twice is a no-op, races are safe."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import warnings
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables)
from models.db import make_engine
from models.migrate import current_revision, head_revision, upgrade


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; checked by hand below
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return list(compare_metadata(context, SQLModel.metadata))


async def test_fresh_database_has_no_revision(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None


async def test_schema_equals_metadata(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            if connection.dialect.name == "sqlite":  # the expression index, which compare skips
                rows = await connection.execute(sa.text(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_accounts_username_lower'"))
                assert "lower(username)" in rows.scalar_one()
            else:
                names = await connection.run_sync(
                    lambda c: {i["name"] for i in sa.inspect(c).get_indexes("accounts")})
                assert "ix_accounts_username_lower" in names
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_a_quick_no_op(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    started = time.perf_counter()
    await upgrade(empty_database_url)
    elapsed = time.perf_counter() - started
    assert await current_revision(empty_database_url) == head_revision()
    assert elapsed < 0.3, f"an up-to-date upgrade took {elapsed:.3f} s"


async def test_concurrent_upgrades_do_not_break(empty_database_url: str) -> None:
    await asyncio.gather(*(upgrade(empty_database_url) for _ in range(4)))
    assert await current_revision(empty_database_url) == head_revision()
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_processes_starting_at_once_all_succeed(empty_database_url: str) -> None:
    """Several servers starting together on one empty database: each one's upgrade works."""
    root = Path(__file__).resolve().parent.parent
    code = ("import asyncio, sys; from models.migrate import upgrade; "
            "asyncio.run(upgrade(sys.argv[1]))")
    env = {**os.environ, "PYTHONPATH": str(root)}
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", code, empty_database_url, env=env,
                                             cwd=root, stderr=asyncio.subprocess.PIPE)
        for _ in range(3)
    ]
    results = [await child.communicate() for child in children]
    for child, (_, stderr) in zip(children, results, strict=False):
        assert child.returncode == 0, stderr.decode()
    assert await current_revision(empty_database_url) == head_revision()


def test_head_revision_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
