"""The instance's VAPID key pair: made on first use, kept in the database, cached here."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from fediverse.push.webpush import VapidKeys, generate_vapid_keys
from models import push
from models.queue import write_session

_CACHE: weakref.WeakKeyDictionary[Any, VapidKeys] = weakref.WeakKeyDictionary()


async def instance_vapid_keys(sessions: async_sessionmaker[Any]) -> VapidKeys:
    """The key pair of the instance whose database `sessions` reach."""
    engine = sessions.kw["bind"].sync_engine
    found = _CACHE.get(engine)
    if found is not None:
        return found
    async with sessions() as session:
        row = await push.vapid_key(session)
    if row is None:
        made = generate_vapid_keys()
        async with write_session(sessions) as session:
            row = await push.store_vapid_key(session, made.private_key_pem, made.public_key)
    found = _CACHE[engine] = VapidKeys(row.private_key_pem, row.public_key)
    return found
