"""Who may see what: follows, mentions and blocks as they decide access to a local status."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Block, Follow, Host, Mention, Status

OPEN_VISIBILITIES = ("public", "unlisted")


async def is_accepted_follower(session: AsyncSession, follower_id: int, target_id: int) -> bool:
    query = select(Follow.id).where(
        Follow.account_id == follower_id, Follow.target_account_id == target_id,
        Follow.state == "accepted",
    )
    return (await session.exec(query.limit(1))).first() is not None


async def is_mentioned(session: AsyncSession, status_id: int, account_id: int) -> bool:
    query = select(Mention.id).where(Mention.status_id == status_id, Mention.account_id == account_id)
    return (await session.exec(query.limit(1))).first() is not None


async def blocks(session: AsyncSession, account_id: int, target_id: int) -> bool:
    """Whether `account_id` blocks `target_id`."""
    query = select(Block.id).where(Block.account_id == account_id, Block.target_account_id == target_id)
    return (await session.exec(query.limit(1))).first() is not None


async def domain_blocked(session: AsyncSession, domain: str) -> bool:
    query = select(Host.id).where(Host.domain == domain.lower(), Host.blocked.is_(True))  # type: ignore[attr-defined]
    return (await session.exec(query.limit(1))).first() is not None


async def may_see(session: AsyncSession, status: Status, viewer: Account | None) -> bool:
    """Whether `viewer` (None: anonymous) may read `status`, as Mastodon decides it."""
    if status.pending:  # waiting for its generated image: its author's alone
        return viewer is not None and viewer.id == status.account_id
    if status.visibility in OPEN_VISIBILITIES:
        return True
    if viewer is None:
        return False
    if viewer.id == status.account_id:
        return True
    if status.visibility == "private" and await is_accepted_follower(session, viewer.id, status.account_id):
        return True
    return await is_mentioned(session, status.id, viewer.id)  # direct, or a mention in private
