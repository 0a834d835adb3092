"""Accounts (creation, names, passwords, keys, the instance actor) and OAuth tokens."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from models_fixtures import engine, sessions  # noqa: F401
from sqlmodel import select

from models.accounts import (
    INSTANCE_ACTOR_USERNAME,
    AccountError,
    count_local_accounts,
    create_account,
    get_account,
    get_or_create_instance_actor,
    list_accounts,
    verify_password,
)
from models.db import make_engine, session_factory
from models.tables import Account, OAuthApp, OAuthToken
from models.tokens import (
    create_token,
    parse_scopes,
    resolve_token,
    revoke_token,
    scope_allows,
    token_digest,
)


async def test_create_and_get_account(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        made = await create_account(session, "Alice", password="correct horse",
                                    email="Alice@Example.com", display_name="Alice A.")
        await session.commit()
    async with sessions() as session:
        found = await get_account(session, "aLiCe")
        assert found is not None and found.id == made.id
        assert found.username == "Alice"  # the case it was created with is kept
        assert found.email == "alice@example.com"
        assert found.kind == "person" and not found.is_admin
        assert found.created_at.tzinfo is not None
        assert await get_account(session, "bob") is None


async def test_username_taken_in_any_case(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        await create_account(session, "alice")
        await session.commit()
    async with sessions() as session:
        with pytest.raises(AccountError, match="taken"):
            await create_account(session, "ALICE")


async def test_unique_index_is_case_insensitive_below_the_check(sessions) -> None:  # noqa: F811
    """Even a row written past create_account's check cannot reuse a name in another case."""
    async with sessions() as session:
        first = await create_account(session, "carol")
        await session.commit()
        twin = Account(username="CAROL", private_key_pem=first.private_key_pem,
                       public_key_pem=first.public_key_pem)
        session.add(twin)
        with pytest.raises(sa.exc.IntegrityError):
            await session.commit()


async def test_email_taken(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        await create_account(session, "alice", email="a@example.com")
        with pytest.raises(AccountError, match="email"):
            await create_account(session, "alice2", email="A@EXAMPLE.COM")


@pytest.mark.parametrize("name", [
    "", "a" * 31, "has space", "dot.", ".dot", "-dash", "dash-", "émile", "a@b", "x/y",
    INSTANCE_ACTOR_USERNAME, "Admin",
])
async def test_bad_usernames_are_refused(sessions, name: str) -> None:  # noqa: F811
    async with sessions() as session:
        with pytest.raises(AccountError):
            await create_account(session, name)


@pytest.mark.parametrize("name", ["a", "a_b", "a.b", "a-b", "A1_x.y-z", "_", "a" * 30])
def test_good_usernames_pass_the_check(name: str) -> None:
    from models.accounts import username_problem

    assert username_problem(name) is None


async def test_short_password_is_refused(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        with pytest.raises(AccountError, match="shorter"):
            await create_account(session, "alice", password="1234567")


async def test_password_verification(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "alice", password="correct horse")
        assert account.password_hash is not None
        assert account.password_hash.startswith("$argon2id$")
        assert "correct horse" not in account.password_hash
        assert verify_password(account, "correct horse").ok
        wrong = verify_password(account, "wrong horse")
        assert not wrong and wrong.reason == "wrong password"
        nopass = await create_account(session, "bob")
        assert verify_password(nopass, "anything").reason == "account has no password"


async def test_outdated_hash_is_upgraded_on_success(sessions) -> None:  # noqa: F811
    from argon2 import PasswordHasher

    async with sessions() as session:
        account = await create_account(session, "alice")
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
        account.password_hash = weak
        assert verify_password(account, "correct horse").ok
        assert account.password_hash != weak
        assert verify_password(account, "correct horse").ok


async def test_keys_are_rsa_2048(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "alice")
    private = serialization.load_pem_private_key(account.private_key_pem.encode(), None)
    public = serialization.load_pem_public_key(account.public_key_pem.encode())
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == private.public_key().public_numbers()


async def test_flags_are_stored(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        await create_account(session, "painter", generator=True, admin=True, locked=True)
        await session.commit()
    async with sessions() as session:
        account = await get_account(session, "painter")
        assert account is not None
        assert account.generator and account.bot and account.is_admin and account.locked
        assert account.fields == [] and account.also_known_as == []


async def test_instance_actor_is_idempotent_and_hidden(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        first = await get_or_create_instance_actor(session)
        await session.commit()
    async with sessions() as session:
        again = await get_or_create_instance_actor(session)
        assert again.id == first.id and again.kind == "instance"
        assert again.private_key_pem == first.private_key_pem
        await create_account(session, "alice")
        await session.commit()
    async with sessions() as session:
        assert await get_account(session, INSTANCE_ACTOR_USERNAME) is None
        assert [a.username for a in await list_accounts(session)] == ["alice"]
        assert await count_local_accounts(session) == 1


async def test_instance_actor_race_between_processes(database_url, engine) -> None:  # noqa: F811
    """Two engines (as two processes would) create the instance actor at once: one row."""
    engines = [make_engine(database_url) for _ in range(3)]
    try:
        async def start(e) -> int:
            async with session_factory(e, immediate=True)() as session:
                actor = await get_or_create_instance_actor(session)
                await session.commit()
                return actor.id

        ids = await asyncio.gather(*(start(e) for e in engines))
    finally:
        for e in engines:
            await e.dispose()
    assert len(set(ids)) == 1
    async with session_factory(engine)() as session:
        count = await session.exec(
            select(sa.func.count()).select_from(Account).where(Account.kind == "instance"))
        assert count.one() == 1


# tokens

async def test_token_create_and_resolve(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "alice")
        app = OAuthApp(name="toot", client_id="cid", client_secret="secret")
        session.add(app)
        await session.flush()
        token = await create_token(session, account, "read write:statuses", app=app)
        await session.commit()
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    async with sessions() as session:
        row = await resolve_token(session, token)
        assert row is not None
        assert row.account_id == account.id and row.app_id == app.id
        assert row.scopes == "read write:statuses"
        stored = (await session.exec(select(OAuthToken.token_sha256))).all()
        assert stored == [token_digest(token)]  # the token itself is never stored
        assert await resolve_token(session, token + "x") is None


async def test_revoked_token_does_not_resolve(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "alice")
        token = await create_token(session, account)
        other = await create_token(session, account)
        assert token != other
        assert await revoke_token(session, token)
        assert not await revoke_token(session, token)
        await session.commit()
    async with sessions() as session:
        assert await resolve_token(session, token) is None
        assert await resolve_token(session, other) is not None


async def test_bad_scope_is_refused(sessions) -> None:  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "alice")
        with pytest.raises(ValueError, match="'write:everything'"):
            await create_token(session, account, "read write:everything")


def test_scope_vocabulary() -> None:
    assert parse_scopes("read read write  admin:read:accounts profile") == [
        "read", "write", "admin:read:accounts", "profile"]
    for bad in ("", "reed", "read:statuse", "admin", "admin:read:everything"):
        with pytest.raises(ValueError):
            parse_scopes(bad)
    assert scope_allows("read write", "read:statuses")
    assert scope_allows("write:statuses", "write:statuses")
    assert not scope_allows("read", "write:statuses")
    assert not scope_allows("write:media", "write:statuses")
    assert scope_allows("follow", "write:follows") and not scope_allows("follow", "read:statuses")
    assert scope_allows("admin:read", "admin:read:reports")
    assert not scope_allows("read", "admin:read:reports")
