"""Create, Update, Delete and Announce of posts, and the undoing of boosts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import BadResponse, BlockedAddress, DocumentError, Gone, TooLarge
from activitypub.vocab import as_list, first, id_of, ids_of, same_origin, type_of
from inbox.handlers.common import authored, followed_locally
from inbox.notes import POST_TYPES, parse_time, visibility_of
from inbox.resolve import ResolveError, get_status, is_local, local_account, resolve_status
from inbox.statuses import edit_status, status_id_for, store_status, tombstone
from inbox.votes import on_vote
from models.conversation_mutes import muting_accounts, status_thread
from models.generation_jobs import cancel_renders_for
from models.statuses import insert_status
from models.tables import Account, Notification, Status
from outbox.context import Context

# what an origin can answer that will never become a post we may store
_UNUSABLE = (BadResponse, BlockedAddress, DocumentError, Gone, TooLarge, ResolveError)
_WRAPPERS = frozenset({"Create", "Update"})  # Lemmy's communities announce whole activities


def is_vote(obj: dict[str, Any]) -> bool:
    """A poll vote: a Note with a `name`, no content, replying to the poll."""
    return "Note" in type_of(obj) and bool(obj.get("name")) and not obj.get("content") \
        and bool(obj.get("inReplyTo"))


async def _addresses_local(ctx: Context, session: AsyncSession, obj: dict[str, Any]) -> bool:
    mentioned = [h for t in as_list(obj.get("tag")) if isinstance(t, dict)
                 and "Mention" in type_of(t) and (h := id_of(t.get("href")))]
    addressed = ids_of(obj.get("to")) + ids_of(obj.get("cc"))
    for uri in mentioned + addressed:
        if is_local(ctx, uri) and await local_account(ctx, session, uri) is not None:
            return True
    return False


async def wanted(ctx: Context, session: AsyncSession, obj: dict[str, Any], author: Account) -> bool:
    """Mastodon's rule: kept when someone here follows the author, or it mentions, addresses
    or replies to someone here, or replies to someone followed here."""
    if await followed_locally(session, author.id):
        return True
    if await _addresses_local(ctx, session, obj):
        return True
    parent_uri = id_of(first(obj.get("inReplyTo")))
    parent = await get_status(session, parent_uri) if parent_uri else None
    return parent is not None and (parent.local or await followed_locally(session, parent.account_id))


async def _fetched(ctx: Context, uri: str, actor: Account) -> dict[str, Any] | None:
    """A post named only by its id, fetched from its origin when that is the actor's."""
    if actor.uri is None or not same_origin(uri, actor.uri):
        return None
    try:
        return await ctx.fetcher.get_object(uri)
    except _UNUSABLE:
        return None


async def on_create(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                    actor: Account) -> None:
    for obj in as_list(activity.get("object")):
        if isinstance(obj, str):
            obj = await _fetched(ctx, obj, actor)
        if isinstance(obj, dict) and is_vote(obj):
            await on_vote(ctx, session, obj, actor)
            continue
        if not isinstance(obj, dict) or not type_of(obj) & POST_TYPES:
            continue
        if not authored(obj, actor) or await get_status(session, obj["id"]) is not None:
            continue
        if await wanted(ctx, session, obj, actor):
            await store_status(ctx, session, obj, actor)


async def update_post(ctx: Context, session: AsyncSession, obj: dict[str, Any],
                      actor: Account) -> None:
    """An edit of a post we have, by its author."""
    if not authored(obj, actor):
        return
    status = await get_status(session, obj["id"])
    if status is None or status.account_id != actor.id or status.deleted_at is not None:
        return
    await edit_status(ctx, session, status, obj, actor)


async def delete_post(ctx: Context, session: AsyncSession, uri: str, actor: Account) -> None:
    """A delete of a post (or a boost) we have, by its author only."""
    status = await get_status(session, uri)
    if status is None or status.account_id != actor.id or status.deleted_at is not None:
        return
    if status.reblog_of_id is not None:
        await _remove_boost(session, status, actor)
        return
    await tombstone(session, status)
    await cancel_renders_for(session, status.id)  # a generator's image it asked for


async def _announced(ctx: Context, session: AsyncSession, obj: Any,
                     actor: Account) -> Status | None:
    """The boosted post: ours, stored already, embedded by its own author, or fetched."""
    if isinstance(obj, dict) and type_of(obj) & _WRAPPERS:
        obj = first(obj.get("object"))  # a third party's activity: only its object's id counts
        obj = id_of(obj)
    uri = id_of(obj)
    if uri is None:
        return None
    found = await get_status(session, uri)
    if found is not None or is_local(ctx, uri):
        return found
    if isinstance(obj, dict) and type_of(obj) & POST_TYPES and authored(obj, actor):
        return await store_status(ctx, session, obj, actor)
    try:
        return await resolve_status(ctx, session, uri)
    except _UNUSABLE:
        return None


async def on_announce(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                      actor: Account) -> None:
    """A boost: kept when the boosted post is ours or someone here follows the booster."""
    uri = activity.get("id")
    obj = first(activity.get("object"))
    if not uri or await get_status(session, uri) is not None:
        return
    if not (is_local(ctx, id_of(obj) or "") or await followed_locally(session, actor.id)):
        return
    target = await _announced(ctx, session, obj, actor)
    if target is None or target.deleted_at is not None or target.reblog_of_id is not None:
        return
    if target.visibility not in ("public", "unlisted") and target.account_id != actor.id:
        return
    published = parse_time(activity.get("published"))
    boost = Status(
        id=status_id_for(published), uri=uri, account_id=actor.id, local=False,
        reblog_of_id=target.id, visibility=visibility_of(activity, actor.followers_url),
        created_at=min(published or datetime.now(UTC), datetime.now(UTC)),
    )
    await insert_status(session, boost)
    if target.local and target.account_id != actor.id and not await muting_accounts(
            session, [target.account_id], status_thread(target)):
        session.add(Notification(account_id=target.account_id, from_account_id=actor.id,
                                 type="reblog", status_id=target.id))


async def undo_announce(ctx: Context, session: AsyncSession, inner: Any, actor: Account) -> bool:
    uri = id_of(inner)
    if not uri:
        return False
    boost = (await session.exec(select(Status).where(
        Status.uri == uri, Status.account_id == actor.id,
        Status.reblog_of_id.is_not(None)))).first()  # type: ignore[union-attr]
    if boost is None:
        return False
    await _remove_boost(session, boost, actor)
    return True


async def _remove_boost(session: AsyncSession, boost: Status, actor: Account) -> None:
    """A boost goes (undone, or deleted by its id), with the notification it made."""
    await session.exec(sa.delete(Status).where(col(Status.id) == boost.id))
    await session.exec(sa.delete(Notification).where(
        col(Notification.type) == "reblog", col(Notification.from_account_id) == actor.id,
        col(Notification.status_id) == boost.reblog_of_id))
    session.expunge(boost)

