"""Engines, sessions, ids and column types on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from models_fixtures import engine, sessions  # noqa: F401

from models.db import DatabaseUnavailable, async_url, check_connection, make_engine
from models.ids import id_at, id_time, new_id
from models.tables import Account, Status


@pytest.mark.parametrize(("given", "expected"), [
    ("sqlite:///data/fediverse.db", "sqlite+aiosqlite:///data/fediverse.db"),
    ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
    ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
    ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
])
def test_async_url(given: str, expected: str) -> None:
    assert async_url(given) == expected


@pytest.mark.parametrize(("given", "reason"), [
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("postgresql+psycopg2://u@h/db", "not async"),
    ("fediverse.db", "no scheme"),
])
def test_async_url_refuses(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        async_url(given)


async def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            values = {}
            for pragma in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
                values[pragma] = (await connection.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
    finally:
        await engine.dispose()
    assert values == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,  # FULL
                      "busy_timeout": 5000}


async def test_check_connection(engine) -> None:  # noqa: F811
    await check_connection(engine)


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-directory/sub/x.db",
    "postgresql://nobody@127.0.0.1:1/nothing",
])
async def test_check_connection_explains_failure(url: str) -> None:
    broken = make_engine(url)
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot reach database"):
            await check_connection(broken)
    finally:
        await broken.dispose()
    # aiosqlite stops a failed connection's thread by posting back to this loop: let it
    await asyncio.sleep(0.05)


def test_ids_increase_and_sort_by_time() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(0 < value < 2**63 for value in ids)
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    back_dated = new_id(when)
    ms = int(when.timestamp() * 1000)
    assert id_at(ms) <= back_dated < id_at(ms + 1)
    assert id_time(back_dated) == when
    assert back_dated < ids[0]
    with pytest.raises(ValueError):
        new_id(datetime(2024, 5, 1))


async def test_times_come_back_aware_utc_and_json_round_trips(sessions) -> None:  # noqa: F811
    plus_two = timezone(timedelta(hours=2))
    fetched = datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=plus_two)
    raw = {"type": "Person", "tag": [{"name": "#x"}], "n": 1.5, "ok": True, "none": None}
    async with sessions() as session:
        actor = Account(kind="remote", uri="https://remote.example/users/bob", username="bob",
                            inbox="https://remote.example/inbox", domain="remote.example",
                            raw=raw, fetched_at=fetched)
        session.add(actor)
        await session.commit()
    async with sessions() as session:
        loaded = await session.get(Account, actor.id, populate_existing=True)
        assert loaded is not None
        assert loaded.fetched_at == fetched
        assert loaded.fetched_at.utcoffset() == timedelta(0)
        assert loaded.raw == raw
        since = fetched - timedelta(seconds=1)  # compared in SQL across offsets
        query = sa.select(Account.id).where(Account.fetched_at > since)
        assert (await session.exec(query)).scalars().all() == [actor.id]


async def test_naive_datetimes_are_refused(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        session.add(Account(kind="remote", uri="https://r.example/u/a", inbox="https://r.example/i",
                            username="a", domain="r.example", fetched_at=datetime(2024, 1, 1)))
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            await session.commit()


async def test_foreign_keys_are_enforced(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        session.add(Status(uri="https://local.example/s/1", account_id=new_id()))
        with pytest.raises(sa.exc.IntegrityError):
            await session.commit()


async def test_unique_uri_and_values_survive_commit(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = Account(username="alice", private_key_pem="k", public_key_pem="p")
        session.add(account)
        status = Status(uri="https://local.example/s/1", account_id=account.id, text="hi")
        session.add(status)
        await session.commit()
        assert status.text == "hi"  # expire_on_commit=False: no reload needed
        session.add(Status(uri="https://local.example/s/1", account_id=account.id))
        with pytest.raises(sa.exc.IntegrityError):
            await session.commit()
