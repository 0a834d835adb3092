"""Applying a received activity: one transaction, idempotent, origin-checked.

The front door (`inbox.receive`) has verified the signature and that the signer owns the
actor. Here each activity is routed by type; anything that fails an origin rule, names
nothing of ours, or was applied already changes nothing. Transient failures (a remote that
does not answer) raise, so the job is retried; a job that can never apply is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import BlockedAddress, DocumentError, Gone
from activitypub.vocab import (
    actor_id,
    first,
    host_of,
    id_of,
    normalize_activity,
    object_id,
    same_origin,
    type_of,
)
from inbox.actors import ACTOR_TYPES
from inbox.handlers import actors, follows, interactions, posts
from inbox.handlers.common import Handler
from inbox.notes import POST_TYPES
from inbox.resolve import ResolveError, is_local, resolve_actor
from models.instance_blocks import server_blocks
from models.queue import PermanentJobError, write_session
from models.remote import get_account_by_uri
from models.tables import Account
from outbox.context import Context
from outbox.forward import forward_reply

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 5  # quick retries of an apply that clashed with another writer

HANDLERS: dict[str, Handler] = {
    "Follow": follows.on_follow,
    "Accept": follows.on_accept,
    "Reject": follows.on_reject,
    "Block": follows.on_block,
    "Create": posts.on_create,
    "Announce": posts.on_announce,
    "Like": interactions.on_like,
    "EmojiReact": interactions.on_like,  # Misskey/Pleroma reactions count as likes
    "Flag": interactions.on_flag,
    "Move": actors.on_move,
}
UNDOERS = (follows.undo_follow, interactions.undo_like, posts.undo_announce, follows.undo_block)


async def on_undo(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                  actor: Account) -> None:
    """Undo of a follow, like, boost or block made by the same actor (found by uri or shape)."""
    inner = first(activity.get("object"))
    if isinstance(inner, dict) and actor_id(inner) not in (None, actor.uri):
        return
    for undo in UNDOERS:
        if await undo(ctx, session, inner, actor):
            return


async def on_update(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    obj = first(activity.get("object"))
    if not isinstance(obj, dict):
        return
    if type_of(obj) & ACTOR_TYPES:
        await actors.update_actor(ctx, session, obj, actor)
    elif type_of(obj) & POST_TYPES:
        await posts.update_post(ctx, session, obj, actor)


async def on_delete(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    uri = object_id(activity)
    if uri == actor.uri:
        await actors.delete_actor(session, actor)
    elif uri and actor.uri and same_origin(uri, actor.uri):
        await posts.delete_post(ctx, session, uri, actor)


HANDLERS |= {"Undo": on_undo, "Update": on_update, "Delete": on_delete}


async def _actor_for(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                     uri: str) -> Account | None:
    """The sending actor; a Delete of itself is never fetched (it would answer 410)."""
    if "Delete" in type_of(activity) and object_id(activity) == uri:
        return await get_account_by_uri(session, uri)
    try:
        return await resolve_actor(ctx, session, uri)
    except Gone:
        return None  # removed meanwhile
    except (BlockedAddress, DocumentError, ResolveError) as exc:
        log.info("activity from %s dropped: %s", uri, exc)
        return None


async def apply_activity(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                         *, signer: str | None = None) -> bool:
    """Apply one activity in `session` (the caller commits); False when it was ignored."""
    raw, activity = activity, normalize_activity(activity)
    uri = actor_id(activity)
    handler = next((HANDLERS[t] for t in sorted(type_of(activity)) if t in HANDLERS), None)
    if handler is None or not uri or is_local(ctx, uri):
        return False
    if signer and not same_origin(signer, uri):
        return False
    activity_id = id_of(activity.get("id"))
    if activity_id and not same_origin(activity_id, uri):
        return False
    if await _refused(ctx, uri, activity):
        return False
    actor = await _actor_for(ctx, session, activity, uri)
    if actor is None or actor.kind != "remote" or actor.suspended_at is not None:
        return False
    await handler(ctx, session, activity, actor)
    if "signature" in raw:  # an LD-signed reply to one of ours goes on to our followers
        await session.flush()
        await forward_reply(ctx, session, raw, activity, actor)
    await session.flush()
    return True


async def _refused(ctx: Context, uri: str, activity: dict[str, Any]) -> bool:
    """Its server is suspended here (blocked after it was queued), or it is a `Flag` from a
    server whose reports we reject."""
    policy = await server_blocks(ctx.sessions).policy(host_of(uri))
    if policy is None:
        return False
    return policy.suspended or (policy.reject_reports and "Flag" in type_of(activity))


def make_inbox_handler(ctx: Context):  # type: ignore[no-untyped-def]
    """The job handler for queue "inbox": payload {"activity", "recipient", "signer"}."""

    async def handle(payload: dict[str, Any], job: Any) -> None:
        await apply_payload(ctx, payload)

    return handle


async def apply_payload(ctx: Context, payload: dict[str, Any], *,
                        then: Callable[[AsyncSession], Awaitable[Any]] | None = None) -> None:
    """Apply one job's activity in a transaction of its own, retried at once when it clashes
    with another writer; `then(session)` runs in the same transaction, before it commits.

    The first attempt takes no write lock until it writes, so that what it fetches holds
    up no other writer; on SQLite it fails when another wrote after it began reading, which
    under a busy inbox is nearly always. The retries take the write lock from the start."""
    activity = payload.get("activity")
    if not isinstance(activity, dict):
        raise PermanentJobError("the job carries no activity")
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            async with ctx.sessions() if attempt == 0 else write_session(ctx.sessions) as session:
                await apply_activity(ctx, session, activity, signer=payload.get("signer"))
                if then is not None:
                    await then(session)
                await session.commit()
            return
        except (OperationalError, IntegrityError) as exc:
            if attempt == CONFLICT_RETRIES or not _conflict(exc):
                raise
        await asyncio.sleep(0.02 * 2 ** attempt + random.uniform(0, 0.02))


def _conflict(exc: Exception) -> bool:
    """A clash with a concurrent writer (SQLite's lock, a row made meanwhile): worth a retry
    now rather than after the queue's minute-long backoff."""
    return isinstance(exc, IntegrityError) or "database is locked" in str(exc)
