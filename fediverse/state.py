"""What a running process holds: settings, the database, the fetcher, the key store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa

from fediverse.settings import Settings
from models.db import check_connection, make_engine
from outbox.urls import Urls

if TYPE_CHECKING:  # each built on first use, off the start-up path (issue 2)
    from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from activitypub.fetch import Fetcher
    from fediverse.events import Bus
    from fediverse.push.jobs import PushFanout
    from inbox.keys import KeyStore
    from outbox.context import Context
    from outbox.events import Event

VERSION = "0.1.0"
# the instance actor's key, read without the ORM (its tables are imported after start-up)
_INSTANCE_KEY = sa.text("SELECT private_key_pem FROM accounts WHERE kind = 'instance' LIMIT 1")


@dataclass
class AppState:
    """Settings, engine and instance key are ready when `start` returns; the rest (sessions,
    event bus, fetcher, key store, delivery context) is built on first use."""

    settings: Settings
    urls: Urls
    engine: AsyncEngine
    instance_private_key_pem: str
    started_with: Settings | None = None  # what the fetcher and federation are built from

    @cached_property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Reads, and writes that don't read first."""
        return self._watched_sessions(immediate=False)

    @cached_property
    def writer(self) -> async_sessionmaker[AsyncSession]:
        """Transactions that read, then write. SQLite: they take the write lock when they
        begin, so one never fails with "database is locked" because another wrote meanwhile."""
        return self._watched_sessions(immediate=True)

    def _watched_sessions(self, *, immediate: bool) -> async_sessionmaker[AsyncSession]:
        from models.db import session_factory
        from outbox.events import watch

        factory = session_factory(self.engine, immediate=immediate)
        watch(factory, self.committed, origin=self.events.origin)
        return factory

    def committed(self, found: list[Event]) -> None:
        """What a transaction of this process wrote: told to live streams, and the pushes
        of its notifications enqueued."""
        self.events.publish(found)
        if any(e.kind == "notification" for e in found):  # outbox.events.NOTIFICATION
            self.pushes.notified(found)

    @cached_property
    def pushes(self) -> PushFanout:
        from fediverse.push.jobs import PushFanout

        return PushFanout(self)

    @cached_property
    def events(self) -> Bus:
        """Committed writes, for live streams; other processes' come through the database."""
        from fediverse.events import Bus

        return Bus(self.engine)

    @property
    def wake(self) -> asyncio.Event:
        return self.federation.wake

    @property
    def user_agent(self) -> str:
        return f"fediverse/{VERSION} (+{self.urls.base}/)"

    @cached_property
    def fetcher(self) -> Fetcher:
        from activitypub.fetch import Fetcher
        from activitypub.httpsig import HTTPSignatureAuth

        settings = self.started_with or self.settings
        return Fetcher(
            user_agent=self.user_agent,
            auth=HTTPSignatureAuth(self.urls.instance_key_id, self.instance_private_key_pem),
            allow_private=settings.allow_private_networks,
            allow_http=settings.http_allowed,
            refused_host=self.refused_host,
        )

    async def refused_host(self, host: str) -> bool:
        """Whether nothing is fetched from `host`: a server suspended here."""
        from models.instance_blocks import server_blocks

        return await server_blocks(self.sessions).suspended(host)

    @cached_property
    def keys(self) -> KeyStore:
        from inbox.keys import KeyStore

        return KeyStore(self.sessions, self.fetcher)

    @cached_property
    def federation(self) -> Context:
        from outbox.context import Context

        settings = self.started_with or self.settings
        return Context(
            sessions=self.sessions, urls=self.urls, domain=settings.domain, fetcher=self.fetcher,
            user_agent=self.user_agent, allow_private=settings.allow_private_networks,
            allow_http=settings.http_allowed, authorized_fetch=settings.authorized_fetch,
        )

    def warm(self) -> None:
        """Build now what the first requests would build."""
        self.sessions, self.writer, self.keys, self.federation  # noqa: B018

    @classmethod
    async def start(cls, settings: Settings) -> AppState:
        engine = make_engine(settings.effective_database_url)
        await check_connection(engine)
        async with engine.connect() as connection:
            private_key_pem = (await connection.execute(_INSTANCE_KEY)).scalar()
        state = cls(settings=settings, urls=Urls(settings.base_url), engine=engine,
                    instance_private_key_pem=private_key_pem or "", started_with=settings)
        if private_key_pem is None:  # the first start: make the instance actor
            from activitypub.keys import generate_rsa_keypair
            from models.accounts import get_or_create_instance_actor

            # its key first: the writer session holds SQLite's write lock from its start
            keypair = await asyncio.to_thread(generate_rsa_keypair, 2048)
            async with state.writer() as session:
                instance = await get_or_create_instance_actor(session, keypair=keypair)
                await session.commit()
            state.instance_private_key_pem = instance.private_key_pem or ""
        return state

    async def close(self) -> None:
        built = self.__dict__
        if "pushes" in built:
            await self.pushes.aclose()
        if "events" in built:
            await self.events.aclose()
        if "fetcher" in built:
            await self.fetcher.aclose()
        await self.engine.dispose()
