"""Finding actors and statuses by URI or handle: ours from the database, others' fetched
from their origin through the safe fetcher and cached."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import ActivityPubError, FetchError, Gone
from activitypub.vocab import attributed_to_id, host_of, same_origin, type_of
from activitypub.webfinger import lookup, parse_handle
from inbox.actors import ACTOR_TYPES, remove_remote_actor, save_remote_actor
from models.accounts import get_account
from models.remote import get_account_by_uri
from models.tables import Account, Status
from outbox.context import Context

STALE_AFTER = timedelta(days=1)


class ResolveError(ActivityPubError):
    """What was asked for is not an actor or a post we can have; the message says why."""


def local_username(ctx: Context, uri: str) -> str | None:
    """The username in one of our actor or profile URLs, or None."""
    base = re.escape(ctx.urls.base)
    found = re.fullmatch(rf"{base}/(?:users/|@)([A-Za-z0-9_.-]+)/?", uri)
    return found.group(1) if found else None


def is_local(ctx: Context, uri: str) -> bool:
    return same_origin(uri, ctx.urls.base)


async def local_account(ctx: Context, session: AsyncSession, uri: str) -> Account | None:
    name = local_username(ctx, uri)
    return await get_account(session, name) if name else None


def fresh(account: Account) -> bool:
    fetched = account.fetched_at
    if fetched is None:
        return False
    fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
    return datetime.now(UTC) - fetched <= STALE_AFTER


async def resolve_actor(
    ctx: Context, session: AsyncSession, uri: str, *, refresh: bool = False
) -> Account:
    """The account at `uri`: ours, the cached copy, or fetched (when missing, stale or asked).

    A stale copy is kept when its origin cannot be reached; a `410 Gone` removes it.
    """
    if is_local(ctx, uri):
        account = await local_account(ctx, session, uri)
        if account is None:
            raise ResolveError(f"no local account at {uri}")
        return account
    cached = await get_account_by_uri(session, uri)
    if cached is not None and not refresh and fresh(cached):
        return cached
    try:
        doc = await ctx.fetcher.get_object(uri)
    except Gone:
        if cached is not None and cached.kind == "remote":
            await remove_remote_actor(session, cached)
        raise
    except FetchError:
        if cached is not None and not refresh:
            return cached
        raise
    if not type_of(doc) & ACTOR_TYPES:
        raise ResolveError(f"{uri} is not an actor")
    return await save_remote_actor(session, doc)


async def _cached_by_handle(session: AsyncSession, username: str, host: str) -> Account | None:
    query = select(Account).where(
        sa.func.lower(Account.username) == username.lower(),
        Account.domain == host, Account.kind == "remote",
    )
    return (await session.exec(query)).first()


async def resolve_handle(ctx: Context, session: AsyncSession, handle: str) -> Account:
    """The account of `@user@host`: ours, cached, or found through WebFinger."""
    username, host = parse_handle(handle)
    if host == ctx.domain.lower():
        account = await get_account(session, username)
        if account is None:
            raise ResolveError(f"no local account {username}")
        return account
    cached = await _cached_by_handle(session, username, host)
    if cached is not None and fresh(cached):
        return cached
    return await resolve_actor(ctx, session, await _webfinger(ctx, handle), refresh=True)


async def _webfinger(ctx: Context, handle: str) -> str:
    """The actor URL of `handle`: over https, then over http where http is allowed (tests)."""
    try:
        return await lookup(handle, ctx.fetcher)
    except FetchError:
        if not ctx.allow_http:
            raise
    return await lookup(handle, ctx.fetcher, scheme="http")


async def get_status(session: AsyncSession, uri: str) -> Status | None:
    return (await session.exec(select(Status).where(Status.uri == uri).limit(1))).first()


async def resolve_status(ctx: Context, session: AsyncSession, uri: str) -> Status | None:
    """The status at `uri`: stored already, or fetched from its origin and stored.

    None for ours that we do not have, and for anything that is not a post by an actor of
    the same origin.
    """
    found = await get_status(session, uri)
    if found is not None or is_local(ctx, uri):
        return found
    return await _status_from(ctx, session, uri, await ctx.fetcher.get_object(uri))


async def _status_from(ctx: Context, session: AsyncSession, uri: str, doc: dict) -> Status:
    """The post `doc` fetched from `uri`, stored when it is a post by an actor of its origin."""
    from inbox.statuses import store_status  # the store resolves authors through here

    author_uri = attributed_to_id(doc)
    if not author_uri or not same_origin(doc["id"], author_uri):
        raise ResolveError(f"{uri} is not attributed to an actor of {host_of(uri)}")
    found = await get_status(session, doc["id"])
    if found is not None:
        return found
    author = await resolve_actor(ctx, session, author_uri)
    return await store_status(ctx, session, doc, author)


async def resolve_url(ctx: Context, session: AsyncSession, uri: str) -> Account | Status | None:
    """The post or the actor at `uri` (a search for a URL): what is stored here, else the
    document fetched once from its origin and kept by its type."""
    found = await get_status(session, uri)
    if found is not None:
        return found
    if is_local(ctx, uri):
        return await local_account(ctx, session, uri)
    cached = await get_account_by_uri(session, uri)
    if cached is not None:
        return await resolve_actor(ctx, session, uri)  # refreshed when stale
    doc = await ctx.fetcher.get_object(uri)
    if type_of(doc) & ACTOR_TYPES:
        return await save_remote_actor(session, doc)
    return await _status_from(ctx, session, uri, doc)
