"""Update and Delete of actors, and Move."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import FetchError
from activitypub.vocab import id_of, object_id, same_origin
from inbox.actors import remove_remote_actor, save_remote_actor
from inbox.handlers.common import block_between, follow_between
from inbox.replies import send_follow, send_unfollow
from inbox.resolve import ResolveError, resolve_actor
from models.tables import Account, Follow
from outbox.context import Context


async def update_actor(ctx: Context, session: AsyncSession, doc: dict[str, Any],
                       actor: Account) -> None:
    """A new profile or key, sent by the actor itself."""
    if doc.get("id") != actor.uri or actor.kind != "remote":
        return
    await save_remote_actor(session, doc)


async def delete_actor(session: AsyncSession, actor: Account) -> None:
    if actor.kind == "remote":
        await remove_remote_actor(session, actor)


async def _local_followers(session: AsyncSession, account_id: int) -> list[tuple[Follow, Account]]:
    query = (select(Follow, Account).join(Account, Account.id == Follow.account_id)
             .where(Follow.target_account_id == account_id, Account.domain == ""))
    return [(f, a) for f, a in await session.exec(query)]


async def on_move(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                  actor: Account) -> None:
    """Followers here move to the new account, when it names the old one in `alsoKnownAs`."""
    target_uri = id_of(activity.get("target"))
    if object_id(activity) != actor.uri or not target_uri or target_uri == actor.uri:
        return
    try:  # fetched afresh: its alsoKnownAs must be what it says now
        target = await resolve_actor(ctx, session, target_uri, refresh=not _local(ctx, target_uri))
    except (FetchError, ResolveError):
        return
    if actor.uri not in (target.also_known_as or []):
        return
    actor.moved_to_account_id = target.id
    session.add(actor)
    for follow, follower in await _local_followers(session, actor.id):
        await session.delete(follow)
        await send_unfollow(ctx, session, follower, actor, follow)
        await _follow_instead(ctx, session, follower, target)


def _local(ctx: Context, uri: str) -> bool:
    return same_origin(uri, ctx.urls.base)


async def _follow_instead(ctx: Context, session: AsyncSession, follower: Account,
                          target: Account) -> None:
    if follower.id == target.id or await follow_between(session, follower.id, target.id):
        return
    if await block_between(session, follower.id, target.id):
        return
    if target.local:
        state = "pending" if target.locked else "accepted"
        session.add(Follow(account_id=follower.id, target_account_id=target.id, state=state))
        return
    follow = Follow(account_id=follower.id, target_account_id=target.id, state="pending")
    session.add(follow)
    await send_follow(ctx, session, follower, target, follow)
    await session.flush()
