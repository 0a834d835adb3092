"""What the handlers share: the handler shape, authorship and "does anyone here care" checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import attributed_to_id, same_origin
from models.tables import Account, Block, Follow
from outbox.context import Context

Handler = Callable[[Context, AsyncSession, dict[str, Any], Account], Awaitable[None]]


def authored(obj: dict[str, Any], actor: Account) -> bool:
    """Whether `obj` lives on the actor's host and names the actor as its author."""
    obj_id = obj.get("id")
    return (isinstance(obj_id, str) and actor.uri is not None
            and same_origin(obj_id, actor.uri) and attributed_to_id(obj) == actor.uri)


async def followed_locally(session: AsyncSession, account_id: int) -> bool:
    """Whether any local account follows `account_id` (accepted)."""
    query = (select(Follow.id).join(Account, Account.id == Follow.account_id)
             .where(Follow.target_account_id == account_id, Follow.state == "accepted",
                    Account.domain == "").limit(1))
    return (await session.exec(query)).first() is not None


async def follow_between(session: AsyncSession, account_id: int, target_id: int) -> Follow | None:
    query = select(Follow).where(Follow.account_id == account_id,
                                 Follow.target_account_id == target_id)
    return (await session.exec(query)).first()


async def block_between(session: AsyncSession, account_id: int, target_id: int) -> Block | None:
    query = select(Block).where(Block.account_id == account_id,
                                Block.target_account_id == target_id)
    return (await session.exec(query)).first()


async def by_uri(session: AsyncSession, table: Any, uri: str | None, account_id: int) -> Any:
    """The row of `table` with this uri made by `account_id`, or None."""
    if not uri:
        return None
    query = select(table).where(table.uri == uri, table.account_id == account_id)
    return (await session.exec(query)).first()
