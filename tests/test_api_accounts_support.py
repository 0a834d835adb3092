"""A running instance seen through the client API: accounts with tokens, Mastodon.py
clients (called in a thread: the server runs on this event loop), raw HTTP, and database
reads for checking what was (or was not) stored. No tests here; the API tests import it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from mastodon import Mastodon
from sqlmodel import SQLModel, col, select

from models.accounts import create_account
from models.db import session_factory
from models.tables import Account
from models.tokens import create_token
from tests.instances import Instance, running_instance

T = TypeVar("T")
MASTODON_VERSION = "4.3.0"  # what the instance reports; given so no request is made for it


@dataclass
class Api:
    inst: Instance

    @property
    def base(self) -> str:
        return self.inst.base_url

    async def user(self, username: str, scopes: str = "read write follow push",
                   **options: Any) -> tuple[Account, str]:
        """A new local account and a bearer token of its."""
        async with session_factory(self.inst.state.engine, immediate=True)() as session:
            account = await create_account(session, username, **options)
            token = await create_token(session, account, scopes)
            await session.commit()
        return account, token

    def mastodon(self, token: str) -> Mastodon:
        return Mastodon(access_token=token, api_base_url=self.base,
                        mastodon_version=MASTODON_VERSION)

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A Mastodon.py call, in a thread."""
        return await asyncio.to_thread(functools.partial(method, *args, **kwargs))

    async def http(self, method: str, path: str, token: str | None = None,
                   **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.inst.client() as client:
            return await client.request(method, path, headers=headers, **kwargs)

    async def rows(self, table: type[SQLModel], *where: Any) -> list[Any]:
        async with self.inst.state.sessions() as session:
            query = select(table).where(*where).order_by(col(table.id))  # type: ignore[attr-defined]
            return list((await session.exec(query)).all())

    async def get(self, table: type[SQLModel], row_id: int) -> Any:
        async with self.inst.state.sessions() as session:
            return await session.get(table, row_id)

    async def act(self, action: Callable[..., Any], *rows: Any, **options: Any) -> Any:
        """Run `outbox.actions` style `action(ctx, session, *rows)` with the rows reloaded."""
        async with session_factory(self.inst.state.engine, immediate=True)() as session:
            fresh = [await session.get(type(row), row.id) for row in rows]
            return await action(self.inst.state.federation, session, *fresh, **options)


@pytest.fixture
async def api(tmp_path, database_url) -> AsyncIterator[Api]:
    async with running_instance(tmp_path / "a", database_url) as inst:
        yield Api(inst)
