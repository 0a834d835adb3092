"""Every SQLite connection that writes commits with `synchronous=FULL` (WAL): a commit, such
as an accepted activity or a posted status, is on disk when it returns, power loss included."""

from __future__ import annotations

from pathlib import Path

from models.db import make_engine, sqlite_sync_reader, sqlite_sync_writer

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


async def test_async_and_plain_sqlite_connections_sync_each_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            found = [(await connection.exec_driver_sql("PRAGMA synchronous")).scalar(),
                     (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()]
        for plain in (sqlite_sync_writer(engine), sqlite_sync_reader(engine)):
            assert plain is not None
            with plain[0].connect() as connection:
                found += [connection.exec_driver_sql("PRAGMA synchronous").scalar(),
                          connection.exec_driver_sql("PRAGMA journal_mode").scalar()]
    finally:
        await engine.dispose()
    assert found == [FULL, "wal"] * 3
