"""What the home timeline keeps between requests is never stale: the token cache
(`fediverse.api.auth.token_account`), the rendered statuses (`fediverse.api.entities.page_json`)
and PostgreSQL's read connections (`models.reads`)."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from fediverse.api import auth
from models.db import session_factory
from models.tables import Account, MediaAttachment
from models.tokens import revoke_token, token_digest
from models.types import utcnow
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

HOME = "/api/v1/timelines/home"


async def _home(api: Api, token: str) -> list[dict]:  # noqa: F811
    answer = await api.http("GET", HOME, token)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _outside(database_url: str, sql: str, *args: object) -> None:
    """Run `sql` on a connection of the database's own driver, as another process would:
    no SQLAlchemy engine of this process sees it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database or "") as conn:
            conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)
        return
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_a_revoked_token_stops_working_at_once(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    await _home(api, token)  # now cached
    engine = api.inst.state.engine
    async with session_factory(engine)() as session:
        assert await revoke_token(session, token)
        await session.commit()
    answer = await api.http("GET", HOME, token)
    assert answer.status_code == 401


async def test_a_suspended_account_is_refused_at_once(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    await _home(api, token)
    async with session_factory(api.inst.state.engine)() as session:
        row = await session.get(Account, alice.id)
        assert row is not None
        row.suspended_at = utcnow()
        session.add(row)
        await session.commit()
    answer = await api.http("GET", HOME, token)
    assert answer.status_code == 401
    assert answer.json() == {"error": "Your login is currently disabled"}


async def test_a_token_revoked_by_another_process_dies_within_the_ttl(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    await _home(api, token)
    await _outside(api.inst.settings.effective_database_url,
                   "UPDATE oauth_tokens SET revoked_at = created_at WHERE token_sha256 = $1",
                   token_digest(token))
    await asyncio.sleep(auth.TOKEN_TTL + 0.2)
    answer = await api.http("GET", HOME, token)
    assert answer.status_code == 401


async def test_the_cache_keeps_scopes(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice", scopes="read:statuses")
    _, narrow = await api.user("bob", scopes="read:accounts")
    assert (await api.http("GET", HOME, token)).status_code == 200
    assert (await api.http("GET", HOME, token)).status_code == 200
    for _ in range(2):
        assert (await api.http("GET", HOME, narrow)).status_code == 403
    assert (await api.http("GET", HOME, "not-a-token")).status_code == 401


async def test_home_shows_edits_counts_profiles_and_deletions_at_once(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    _, bob_token = await api.user("bob")
    posted = (await api.http("POST", "/api/v1/statuses", token,
                             data={"status": "first words"})).json()
    first = (await _home(api, token))[0]
    assert first["id"] == posted["id"] and "first words" in first["content"]
    assert first["favourites_count"] == 0 and first["favourited"] is False
    assert (await _home(api, token))[0] == first  # from the cache: the same

    edited = await api.http("PUT", f"/api/v1/statuses/{posted['id']}", token,
                            data={"status": "second words"})
    assert edited.status_code == 200, edited.text
    now = (await _home(api, token))[0]
    assert "second words" in now["content"] and now["edited_at"] is not None

    faved = await api.http("POST", f"/api/v1/statuses/{posted['id']}/favourite", bob_token)
    assert faved.status_code == 200
    assert (await _home(api, token))[0]["favourites_count"] == 1
    await api.http("POST", f"/api/v1/statuses/{posted['id']}/favourite", token)
    mine = (await _home(api, token))[0]
    assert mine["favourites_count"] == 2 and mine["favourited"] is True
    bookmarked = await api.http("POST", f"/api/v1/statuses/{posted['id']}/bookmark", token)
    assert bookmarked.status_code == 200
    assert (await _home(api, token))[0]["bookmarked"] is True

    renamed = await api.http("PATCH", "/api/v1/accounts/update_credentials", token,
                             data={"display_name": "Alice Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert (await _home(api, token))[0]["account"]["display_name"] == "Alice Renamed"

    deleted = await api.http("DELETE", f"/api/v1/statuses/{posted['id']}", token)
    assert deleted.status_code == 200
    assert posted["id"] not in [s["id"] for s in await _home(api, token)]


async def test_home_shows_changes_made_by_another_process(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    posted = (await api.http("POST", "/api/v1/statuses", token,
                             data={"status": "hello"})).json()
    status_id = int(posted["id"])
    async with session_factory(api.inst.state.engine)() as session:  # media still rendering
        session.add(MediaAttachment(account_id=alice.id, status_id=status_id, type="image",
                                    state="processing", remote_url="https://x.example/a.png",
                                    width=8, height=8))
        await session.commit()
    before = (await _home(api, token))[0]
    assert before["media_attachments"][0]["url"] is None
    url = api.inst.settings.effective_database_url
    await _outside(url, "UPDATE media_attachments SET state = 'ready' WHERE status_id = $1",
                   status_id)
    await _outside(url, "UPDATE statuses SET reblogs_count = 5 WHERE id = $1", status_id)
    await _outside(url, "UPDATE accounts SET display_name = 'Elsewhere' WHERE id = $1",
                   alice.id)
    after = (await _home(api, token))[0]
    assert after["media_attachments"][0]["url"] == "https://x.example/a.png"
    assert after["reblogs_count"] == 5
    assert after["account"]["display_name"] == "Elsewhere"


async def test_reads_recover_from_dropped_database_connections(api: Api) -> None:  # noqa: F811
    url = api.inst.settings.effective_database_url
    if make_url(url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    _, token = await api.user("alice")
    await _home(api, token)
    await _outside(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    await asyncio.sleep(0.1)
    for _ in range(3):
        assert (await api.http("GET", HOME, token)).status_code == 200


async def _setting(engine, name: str, *, generic_plans: bool = False) -> str:  # type: ignore[no-untyped-def]
    """PostgreSQL's `name` setting on a connection of the read path (`models.reads`)."""
    from models.reads import read

    return await read(engine, lambda conn: conn.exec_driver_sql(f"SHOW {name}").scalar(),
                      generic_plans=generic_plans)


async def test_generic_plan_reads_see_the_latest_commits(api: Api) -> None:  # noqa: F811
    url = api.inst.settings.effective_database_url
    if make_url(url).get_backend_name() != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    engine = api.inst.state.engine
    assert await _setting(engine, "plan_cache_mode", generic_plans=True) == "force_generic_plan"
    assert await _setting(engine, "plan_cache_mode") == "auto"  # other reads: planned as usual
    alice, token = await api.user("alice")
    await api.http("POST", "/api/v1/statuses", token, data={"status": "first"})
    assert [s["content"] for s in await _home(api, token)] == ["<p>first</p>"]
    await _outside(url, "UPDATE statuses SET content = '<p>changed</p>' WHERE account_id = $1",
                   alice.id)
    assert [s["content"] for s in await _home(api, token)] == ["<p>changed</p>"]


async def test_postgresql_connections_compile_nothing(api: Api) -> None:  # noqa: F811
    """No JIT on any connection: a sparse home timeline's read by author has a generic plan
    estimated costly enough that PostgreSQL compiled it on each run (60 to 300 ms)."""
    url = api.inst.settings.effective_database_url
    if make_url(url).get_backend_name() != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    engine = api.inst.state.engine
    assert await _setting(engine, "jit", generic_plans=True) == "off"
    assert await _setting(engine, "jit") == "off"
    async with engine.connect() as conn:  # the app's own engine, which writes
        assert await conn.run_sync(lambda c: c.exec_driver_sql("SHOW jit").scalar()) == "off"
