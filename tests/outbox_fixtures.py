"""Fixtures for the outbox tests: a migrated database, a federation Context, accounts.

Import what a test module uses: `from tests.outbox_fixtures import ctx, local, remote_on`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.fetch import Fetcher
from models.accounts import create_account
from models.db import make_engine, session_factory
from models.migrate import upgrade
from models.tables import Account, Follow
from outbox.context import Context
from outbox.urls import Urls
from tests.sinks import Sink

BASE = "https://local.example"


@pytest.fixture
async def ctx(database_url: str) -> AsyncIterator[Context]:
    """A federation context for https://local.example on a freshly migrated database."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    fetcher = Fetcher(user_agent="fediverse-test/1", allow_private=True, allow_http=True)
    yield Context(sessions=session_factory(engine), urls=Urls(BASE), domain="local.example",
                  fetcher=fetcher, user_agent="fediverse-test/1", allow_private=True,
                  allow_http=True)
    await engine.dispose()


async def local(ctx: Context, username: str, **options: object) -> Account:
    async with ctx.sessions() as session:
        account = await create_account(session, username, **options)  # type: ignore[arg-type]
        await session.commit()
    return account


def remote_account(sink: Sink, username: str, *, shared: bool = True) -> Account:
    """A cached remote actor living on `sink` (shared inbox at /inbox when `shared`)."""
    uri = f"{sink.base}/users/{username}"
    return Account(kind="remote", username=username, domain=sink.domain, uri=uri,
                   url=f"{sink.base}/@{username}", inbox=uri + "/inbox",
                   shared_inbox=f"{sink.base}/inbox" if shared else None,
                   key_id=uri + "#main-key")


async def remote_on(ctx: Context, sink: Sink, username: str, *, shared: bool = True) -> Account:
    async with ctx.sessions() as session:
        account = remote_account(sink, username, shared=shared)
        session.add(account)
        await session.commit()
    return account


async def add_followers(session: AsyncSession, target: Account, followers: list[Account]) -> None:
    for follower in followers:
        session.add(Follow(account_id=follower.id, target_account_id=target.id, state="accepted"))
    await session.flush()


async def remote_follower(ctx: Context, sink: Sink, target: Account, username: str = "bob"
                          ) -> Account:
    """A remote actor on `sink` whose follow of `target` is accepted."""
    async with ctx.sessions() as session:
        follower = remote_account(sink, username)
        session.add(follower)
        await session.flush()
        await add_followers(session, target, [follower])
        await session.commit()
    return follower


def trust(sinks: list[Sink], ctx: Context, account: Account) -> None:
    """Let the sinks verify `account`'s signatures."""
    for sink in sinks:
        sink.trust(ctx.urls.key_id(account.username), ctx.urls.actor(account.username),
                   account.public_key_pem or "")
