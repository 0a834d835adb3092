"""Public keys of remote actors: from memory, then the database, then the actor's server."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from urllib.parse import urldefrag

from activitypub.errors import FetchError
from activitypub.fetch import Fetcher
from activitypub.keys import PublicKey
from inbox.actors import actor_key, save_remote_actor
from models.db import session_factory
from models.remote import get_remote_actor_by_key

STALE_AFTER = timedelta(days=1)
MEMORY_SIZE = 10_000


class KeyStore:
    """A `KeyLookup` for signature verification, caching what it fetches."""

    def __init__(self, sessions, fetcher: Fetcher, *, stale_after: timedelta = STALE_AFTER) -> None:  # type: ignore[no-untyped-def]
        self._sessions = sessions
        self._fetcher = fetcher
        self._stale_after = stale_after
        self._memory: OrderedDict[str, tuple[PublicKey, datetime]] = OrderedDict()
        self._fetching: dict[str, asyncio.Task[PublicKey | None]] = {}

    async def lookup(self, key_id: str, refresh: bool = False) -> PublicKey | None:
        if not refresh:
            cached = self._remembered(key_id) or await self._stored(key_id)
            if cached is not None:
                return cached
        return await self._fetch_once(key_id)

    async def _fetch_once(self, key_id: str) -> PublicKey | None:
        """Concurrent requests signed with one unknown key share a single fetch."""
        task = self._fetching.get(key_id)
        if task is None:
            task = self._fetching[key_id] = asyncio.ensure_future(self._fetch(key_id))
            task.add_done_callback(lambda _: self._fetching.pop(key_id, None))
        return await asyncio.shield(task)

    def _remembered(self, key_id: str) -> PublicKey | None:
        hit = self._memory.get(key_id)
        if hit is None:
            return None
        key, fetched_at = hit
        if datetime.now(UTC) - fetched_at > self._stale_after:
            return None
        self._memory.move_to_end(key_id)
        return key

    def _remember(self, key: PublicKey, fetched_at: datetime) -> None:
        self._memory[key.key_id] = (key, fetched_at)
        self._memory.move_to_end(key.key_id)
        while len(self._memory) > MEMORY_SIZE:
            self._memory.popitem(last=False)

    async def _stored(self, key_id: str) -> PublicKey | None:
        async with self._sessions() as session:
            row = await get_remote_actor_by_key(session, key_id)
        if row is None or row.gone_at is not None or not row.public_key_pem:
            return None
        fetched_at = row.fetched_at if row.fetched_at.tzinfo else row.fetched_at.replace(tzinfo=UTC)
        if datetime.now(UTC) - fetched_at > self._stale_after:
            return None
        key = PublicKey(key_id=key_id, owner=row.uri, pem=row.public_key_pem)
        self._remember(key, fetched_at)
        return key

    async def _fetch(self, key_id: str) -> PublicKey | None:
        """Fetch the key's document; a bare key object leads on to its owner's actor document."""
        url = urldefrag(key_id).url
        # GoToSocial's key URLs (ACTOR/main-key) answer with the actor's document: its id is
        # the actor's, on the same host, and actor_key() checks it really holds this key.
        doc = await self._fetcher.get_object(url, same_host_id=True)
        if "publicKeyPem" in doc and "inbox" not in doc:
            owner = doc.get("owner")
            if not isinstance(owner, str):
                raise FetchError(f"the key {key_id} names no owner")
            doc = await self._fetcher.get_object(owner)
        key = actor_key(doc, key_id)
        if key is None:
            return None
        async with self._writer() as session:
            await save_remote_actor(session, doc)
            await session.commit()
        self._remember(key, datetime.now(UTC))
        return key

    def _writer(self):  # type: ignore[no-untyped-def]
        """A session that reads and then writes: on SQLite it takes the write lock first, so
        two saves at once wait for each other instead of failing with "database is locked"."""
        engine = self._sessions.kw.get("bind")
        return session_factory(engine, immediate=True)() if engine is not None else self._sessions()
