"""Queries on cached remote actors."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from models.tables import RemoteActor


async def get_remote_actor_by_key(session, key_id: str) -> RemoteActor | None:  # type: ignore[no-untyped-def]
    result = await session.exec(select(RemoteActor).where(RemoteActor.key_id == key_id).limit(1))
    return result.first()


async def get_remote_actor(session, uri: str) -> RemoteActor | None:  # type: ignore[no-untyped-def]
    result = await session.exec(select(RemoteActor).where(RemoteActor.uri == uri).limit(1))
    return result.first()


async def upsert_remote_actor(session, fields: dict[str, Any]) -> RemoteActor:  # type: ignore[no-untyped-def]
    """Insert the actor, or overwrite the cached copy with the same uri."""
    row = await get_remote_actor(session, fields["uri"])
    if row is None:
        row = RemoteActor(**fields)
        session.add(row)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
    await session.flush()
    return row
