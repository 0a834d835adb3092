"""What federation work needs from the running process, handed in rather than looked up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.fetch import Fetcher
from outbox.urls import Urls


@dataclass
class Context:
    sessions: async_sessionmaker[AsyncSession]
    urls: Urls
    domain: str  # our host[:port], as in acct:user@domain
    fetcher: Fetcher  # signs its GETs as the instance actor
    user_agent: str
    allow_private: bool = False  # outgoing requests may reach private addresses (tests)
    allow_http: bool = False  # http:// ids and inboxes are accepted (tests)
    authorized_fetch: bool = False  # every GET of ours must be signed
    # set after enqueueing, so a worker in this process starts at once instead of polling
    wake: asyncio.Event = field(default_factory=asyncio.Event)
