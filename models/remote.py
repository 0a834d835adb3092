"""Queries on cached remote actors (accounts of kind 'remote')."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account


async def get_remote_actor_by_key(session: AsyncSession, key_id: str) -> Account | None:
    query = select(Account).where(Account.key_id == key_id, Account.kind == "remote").limit(1)
    return (await session.exec(query)).first()


async def get_account_by_uri(session: AsyncSession, uri: str) -> Account | None:
    return (await session.exec(select(Account).where(Account.uri == uri).limit(1))).first()


async def upsert_remote_actor(session: AsyncSession, fields: dict[str, Any]) -> Account:
    """Insert the actor, or overwrite the cached copy with the same uri."""
    row = await get_account_by_uri(session, fields["uri"])
    if row is None:
        row = Account(kind="remote", **fields)
        session.add(row)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
    await session.flush()
    return row
