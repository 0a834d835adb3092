"""What receiving makes us send: Accept or Reject of a follow, and the follows a Move carries.

The only place `inbox/` calls into `outbox/`: activities built by `outbox.activities`, queued
by `outbox.deliver.publish` in the caller's transaction (a rolled-back apply sends nothing).
Ids are derived from what they answer, so a second sending carries the same id.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Follow
from outbox import activities
from outbox.context import Context
from outbox.deliver import publish


def _digest(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:16]


async def send_accept(
    ctx: Context, session: AsyncSession, local: Account, remote: Account, follow: dict[str, Any]
) -> None:
    actor = ctx.urls.actor(local.username)
    activity = activities.accept(f"{actor}#accepts/follows/{_digest(str(follow.get('id')))}",
                                 actor, follow)
    await publish(ctx, session, activity, sender=local, followers=False, recipients=[remote])


async def send_reject(
    ctx: Context, session: AsyncSession, local: Account, remote: Account, follow: dict[str, Any]
) -> None:
    actor = ctx.urls.actor(local.username)
    activity = activities.reject(f"{actor}#rejects/follows/{_digest(str(follow.get('id')))}",
                                 actor, follow)
    await publish(ctx, session, activity, sender=local, followers=False, recipients=[remote])


def _follow_uri(ctx: Context, local: Account, follow: Follow) -> str:
    return follow.uri or f"{ctx.urls.actor(local.username)}#follows/{follow.id}"


async def send_follow(
    ctx: Context, session: AsyncSession, local: Account, target: Account, follow: Follow
) -> None:
    """Send the Follow of a row being stored; its uri becomes the activity's id."""
    follow.uri = _follow_uri(ctx, local, follow)
    activity = activities.follow(follow.uri, ctx.urls.actor(local.username), str(target.uri))
    await publish(ctx, session, activity, sender=local, followers=False, recipients=[target])


async def send_unfollow(
    ctx: Context, session: AsyncSession, local: Account, target: Account, follow: Follow
) -> None:
    actor = ctx.urls.actor(local.username)
    uri = _follow_uri(ctx, local, follow)
    inner = activities.follow_object(uri, actor, str(target.uri))
    activity = activities.undo(f"{uri}/undo", actor, inner)
    await publish(ctx, session, activity, sender=local, followers=False, recipients=[target])
