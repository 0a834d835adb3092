"""Alembic environment: runs on a connection handed over by `models.migrate`, or opens one.

`models.migrate` passes its own (already locked) connection in `config.attributes`; the
`alembic` command line, given `-x url=...` or `sqlalchemy.url`, gets an async engine here.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from models.db import make_engine
from models.tables import SQLModel

target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass -x url=... or set sqlalchemy.url")
    asyncio.run(run_with_engine(url))


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
main()
