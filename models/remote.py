"""Queries on cached remote actors (accounts of kind 'remote')."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.remote_media import enqueue_profile_copy
from models.tables import Account


async def get_remote_actor_by_key(session: AsyncSession, key_id: str) -> Account | None:
    query = select(Account).where(Account.key_id == key_id, Account.kind == "remote").limit(1)
    return (await session.exec(query)).first()


async def get_account_by_uri(session: AsyncSession, uri: str) -> Account | None:
    return (await session.exec(select(Account).where(Account.uri == uri).limit(1))).first()


async def upsert_remote_actor(session: AsyncSession, fields: dict[str, Any]) -> Account:
    """Insert the actor, or overwrite the cached copy with the same uri; an avatar or
    header not copied here (new, changed, or not copied yet) is queued to be."""
    row = await get_account_by_uri(session, fields["uri"])
    if row is None:
        row = Account(kind="remote", **fields)
        session.add(row)
    else:
        for kind in ("avatar", "header"):
            if getattr(row, f"{kind}_url") != fields.get(f"{kind}_url"):
                setattr(row, f"{kind}_path", None)  # a copy of the image it had
        for name, value in fields.items():
            setattr(row, name, value)
    await session.flush()
    if (row.avatar_url and not row.avatar_path) or (row.header_url and not row.header_path):
        await enqueue_profile_copy(session, row.id, row.avatar_url, row.header_url)
    return row
