"""What a running process holds: settings, the database, the fetcher, the key store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.fetch import Fetcher
from activitypub.httpsig import HTTPSignatureAuth
from fediverse.events import Bus
from fediverse.settings import Settings
from inbox.keys import KeyStore
from models.accounts import get_or_create_instance_actor
from models.db import check_connection, make_engine, session_factory
from outbox.context import Context
from outbox.events import watch
from outbox.urls import Urls

VERSION = "0.1.0"


@dataclass
class AppState:
    settings: Settings
    urls: Urls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]  # reads, and writes that don't read first
    writer: async_sessionmaker[AsyncSession]  # transactions that read, then write
    fetcher: Fetcher
    keys: KeyStore
    instance_private_key_pem: str
    federation: Context
    events: Bus = field(default_factory=Bus)  # committed writes, for live streams

    @property
    def wake(self) -> asyncio.Event:
        return self.federation.wake

    @classmethod
    async def start(cls, settings: Settings) -> AppState:
        engine = make_engine(settings.effective_database_url)
        await check_connection(engine)
        sessions = session_factory(engine)
        # SQLite: these take the write lock when they begin, so a transaction that reads and
        # then writes never fails with "database is locked" because another wrote meanwhile
        writer = session_factory(engine, immediate=True)
        events = Bus()
        watch(sessions, events.publish)
        watch(writer, events.publish)
        async with writer() as session:
            instance = await get_or_create_instance_actor(session)
            await session.commit()
        urls = Urls(settings.base_url)
        user_agent = f"fediverse/{VERSION} (+{settings.base_url}/)"
        fetcher = Fetcher(
            user_agent=user_agent,
            auth=HTTPSignatureAuth(urls.instance_key_id, instance.private_key_pem),
            allow_private=settings.allow_private_networks,
            allow_http=settings.http_allowed,
        )
        return cls(
            settings=settings,
            urls=urls,
            engine=engine,
            sessions=sessions,
            writer=writer,
            fetcher=fetcher,
            keys=KeyStore(sessions, fetcher),
            instance_private_key_pem=instance.private_key_pem or "",
            federation=Context(
                sessions=sessions, urls=urls, domain=settings.domain, fetcher=fetcher,
                user_agent=user_agent, allow_private=settings.allow_private_networks,
                allow_http=settings.http_allowed, authorized_fetch=settings.authorized_fetch,
            ),
            events=events,
        )

    async def close(self) -> None:
        self.events.close()
        await self.fetcher.aclose()
        await self.engine.dispose()
