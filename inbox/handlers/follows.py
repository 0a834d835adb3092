"""Follow, Accept, Reject and Block, and their undoing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import actor_id, first, object_id, type_of
from inbox.handlers.common import block_between, by_uri, follow_between
from inbox.replies import send_accept, send_reject
from inbox.resolve import local_account
from models.domain_blocks import blocks_domain
from models.tables import Account, Block, Follow, Notification
from outbox.context import Context


async def on_follow(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    """A follow of a local account: accepted at once, or pending when it approves by hand."""
    target = await local_account(ctx, session, object_id(activity) or "")
    if target is None:
        return
    uri = activity.get("id")
    if await block_between(session, target.id, actor.id) \
            or await blocks_domain(session, target.id, actor.domain):
        await send_reject(ctx, session, target, actor, activity)
        return
    existing = await follow_between(session, actor.id, target.id)
    if existing is not None:
        if existing.uri != uri:  # following again: answer again, as Mastodon does
            existing.uri = uri
            session.add(existing)
            if existing.state == "accepted":
                await send_accept(ctx, session, target, actor, activity)
        return
    state = "pending" if target.locked else "accepted"
    session.add(Follow(account_id=actor.id, target_account_id=target.id, uri=uri, state=state))
    session.add(Notification(account_id=target.id, from_account_id=actor.id,
                             type="follow_request" if target.locked else "follow"))
    await session.flush()
    if state == "accepted":
        await send_accept(ctx, session, target, actor, activity)


async def our_follow(ctx: Context, session: AsyncSession, follow: Any,
                     actor: Account) -> Follow | None:
    """Our follow of `actor` that an Accept/Reject from `actor` names, by uri or by its parties."""
    if isinstance(follow, dict) and type_of(follow) and "Follow" not in type_of(follow):
        return None
    uri = follow.get("id") if isinstance(follow, dict) else follow
    if isinstance(uri, str):
        row = (await session.exec(select(Follow).where(
            Follow.uri == uri, Follow.target_account_id == actor.id))).first()
        if row is not None:
            return row
    if not isinstance(follow, dict) or object_id(follow) != actor.uri:
        return None
    follower = await local_account(ctx, session, actor_id(follow) or "")
    return await follow_between(session, follower.id, actor.id) if follower else None


async def on_accept(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    follow = await our_follow(ctx, session, first(activity.get("object")), actor)
    if follow is not None and follow.state != "accepted":
        follow.state = "accepted"
        session.add(follow)


async def on_reject(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    follow = await our_follow(ctx, session, first(activity.get("object")), actor)
    if follow is not None:
        await session.delete(follow)


async def on_block(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                   actor: Account) -> None:
    """A block of a local account: follows both ways end, the block is kept."""
    target = await local_account(ctx, session, object_id(activity) or "")
    if target is None:
        return
    await session.exec(sa.delete(Follow).where(sa.or_(
        sa.and_(Follow.account_id == actor.id, Follow.target_account_id == target.id),
        sa.and_(Follow.account_id == target.id, Follow.target_account_id == actor.id))))
    if await block_between(session, actor.id, target.id) is None:
        session.add(Block(account_id=actor.id, target_account_id=target.id,
                          uri=activity.get("id")))


async def undo_follow(ctx: Context, session: AsyncSession, inner: Any, actor: Account) -> bool:
    return await _undo_relation(ctx, session, inner, actor, Follow, "Follow", follow_between)


async def undo_block(ctx: Context, session: AsyncSession, inner: Any, actor: Account) -> bool:
    return await _undo_relation(ctx, session, inner, actor, Block, "Block", block_between)


async def _undo_relation(ctx: Context, session: AsyncSession, inner: Any, actor: Account,
                         model: Any, kind: str, between: Any) -> bool:
    """Remove the actor's Follow or Block named by the Undo: by its id, else by its two ends."""
    row = await by_uri(session, model, inner if isinstance(inner, str) else inner.get("id"),
                       actor.id)
    if row is None and isinstance(inner, dict) and kind in type_of(inner):
        target = await local_account(ctx, session, object_id(inner) or "")
        row = await between(session, actor.id, target.id) if target else None
    if row is None:
        return False
    await session.delete(row)
    return True
