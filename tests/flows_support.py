"""Two (or three) real instances on loopback, with their workers, for the federation flows.

A `Side` wraps one running instance: it makes local accounts, resolves the other side's
accounts over WebFinger, runs `outbox.actions` in a fresh session, and polls its own
database until an effect shows (`eventually`).

Import the fixtures a test module uses: `from tests.flows_support import pair, trio`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mastodon import Mastodon
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.resolve import resolve_handle
from models.accounts import create_account
from models.tables import Account, Status
from models.tokens import create_token
from outbox.context import Context
from tests.instances import Instance, running_instance

T = TypeVar("T")
WAIT = 10.0  # seconds an effect may take to show on the other side


@dataclass
class Side:
    inst: Instance

    @property
    def ctx(self) -> Context:
        return self.inst.state.federation

    @property
    def base(self) -> str:
        return self.inst.base_url

    def handle(self, username: str) -> str:
        return f"@{username}@{self.inst.domain}"

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def session(self) -> AsyncSession:
        return self.inst.state.sessions()

    def writer(self) -> AsyncSession:
        """A session that takes SQLite's write lock when it begins, as a request handler's
        must: a deferred transaction that reads, then writes, fails when a worker wrote
        meanwhile ("database is locked")."""
        return self.inst.state.writer()

    async def account(self, username: str, **options: Any) -> Account:
        """A new local account here."""
        async with self.writer() as session:
            account = await create_account(session, username, **options)
            await session.commit()
        return account

    async def mastodon(self, account: Account, scopes: str = "read write follow") -> Mastodon:
        """A Mastodon.py client of this side, signed in as `account` (a new token)."""
        from tests.test_api_accounts_support import MASTODON_VERSION

        async with self.writer() as session:
            token = await create_token(session, await _reload(session, account), scopes)
            await session.commit()
        return Mastodon(access_token=token, api_base_url=self.base,
                        mastodon_version=MASTODON_VERSION)

    async def resolve(self, handle: str) -> Account:
        """The account of `handle` (another side's) as this side caches it."""
        async with self.writer() as session:
            account = await resolve_handle(self.ctx, session, handle)
            await session.commit()
        return account

    async def act(self, action: Callable[..., Awaitable[T]], *rows: Any, **options: Any) -> T:
        """Run `action(ctx, session, *rows, **options)` with the rows reloaded in a writer."""
        async with self.writer() as session:
            fresh = [await _reload(session, row) for row in rows]
            return await action(self.ctx, session, *fresh, **options)

    async def rows(self, model: type[T], *where: Any) -> list[T]:
        async with self.session() as session:
            query = select(model).where(*where) if where else select(model)
            return list((await session.exec(query)).all())  # type: ignore[call-overload]

    async def one(self, model: type[T], *where: Any) -> T | None:
        found = await self.rows(model, *where)
        return found[0] if found else None

    async def by_uri(self, uri: str) -> Account | None:
        return await self.one(Account, Account.uri == uri)

    async def status(self, uri: str) -> Status | None:
        return await self.one(Status, Status.uri == uri)

    async def eventually(self, probe: Callable[[], Awaitable[T]], *, what: str = "effect",
                         timeout: float = WAIT) -> T:
        """The first truthy answer of `probe`, polled until `timeout` (then the test fails)."""
        deadline = time.monotonic() + timeout
        while True:
            found = await probe()
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not show on {self.base} within {timeout} s")
            await asyncio.sleep(0.05)

    async def never(self, probe: Callable[[], Awaitable[Any]], *, what: str = "effect",
                    wait: float = 1.0) -> None:
        """Fail if `probe` turns truthy within `wait` seconds (for what must not arrive)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if await probe():
                pytest.fail(f"{what} showed on {self.base}, and should not have")
            await asyncio.sleep(0.05)

    async def settled(self, timeout: float = WAIT) -> None:
        """Wait until no inbox or delivery job is left to run here."""
        from models.tables import Job

        async def idle() -> bool:
            waiting = await self.rows(Job, Job.state.in_(("queued", "running")))  # type: ignore[attr-defined]
            return not waiting

        await self.eventually(idle, what="an empty job queue", timeout=timeout)


async def _reload(session: AsyncSession, row: Any) -> Any:
    if isinstance(row, SQLModel) and getattr(row, "id", None) is not None:
        return await session.get(type(row), row.id)
    return row


@contextlib.asynccontextmanager
async def sides(tmp_path: Path, new_database_url: Callable[[], Awaitable[str]],
                names: tuple[str, ...]) -> AsyncIterator[list[Side]]:
    async with contextlib.AsyncExitStack() as stack:
        found = []
        for name in names:
            inst = await stack.enter_async_context(
                running_instance(tmp_path / name, await new_database_url(), run_workers=True))
            found.append(Side(inst))
        yield found


@pytest.fixture
async def pair(tmp_path, new_database_url) -> AsyncIterator[tuple[Side, Side]]:
    """Instances A and B, workers running, talking HTTP to each other."""
    async with sides(tmp_path, new_database_url, ("a", "b")) as (a, b):
        yield a, b


@pytest.fixture
async def trio(tmp_path, new_database_url) -> AsyncIterator[tuple[Side, Side, Side]]:
    async with sides(tmp_path, new_database_url, ("a", "b", "c")) as (a, b, c):
        yield a, b, c


async def following(follower_side: Side, follower: Account, target_side: Side,
                    target: Account) -> Account:
    """Make `follower` follow `target` (unlocked) and wait until both sides show it accepted;
    the target as the follower's side caches it."""
    from models.tables import Follow
    from outbox import actions

    remote_target = await follower_side.resolve(target_side.handle(target.username))
    await follower_side.act(actions.follow, follower, remote_target)

    async def accepted() -> bool:
        row = await follower_side.one(Follow, Follow.account_id == follower.id,
                                      Follow.target_account_id == remote_target.id)
        return row is not None and row.state == "accepted"

    await follower_side.eventually(accepted, what="an accepted follow")
    return remote_target
