"""Mastodon API: accounts (the signed-in one, profiles, their statuses and follows); the
routes between accounts live in `fediverse.api.relationships`."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api import relationships
from fediverse.api.account_lookup import (
    SHOWN_KINDS,
    account_json,
    account_or_404,
    accounts_json,
    reader,
    window_of,
    writer,
)
from fediverse.api.auth import caller, optional_caller
from fediverse.api.entities import Entity, credential_account_entity, status_entities
from fediverse.api.errors import forbidden, not_found, unprocessable
from fediverse.api.filtering import apply_filters, session_filters
from fediverse.api.params import Params, is_id, link_header, page_of, params
from fediverse.api.profile import apply_profile, profile_changes, read_images
from fediverse.api.search import find_accounts, split_acct
from fediverse.routes.common import json_response, state
from models.account_search import find_by_acct
from models.account_statuses import StatusFilter, account_statuses
from models.related import account_stats
from models.relationships import count_follow_requests, familiar, follow_accounts
from models.tables import Account


async def credential_json(request: Request, session: AsyncSession, account: Account) -> Entity:
    """The signed-in account with its `source`."""
    stats = await account_stats(session, [account.id])
    entity = credential_account_entity(
        account, state(request).urls, stats.get(account.id),
        follow_requests_count=await count_follow_requests(session, account.id))
    # the profile switches Mastodon also repeats in `source`
    entity["source"] |= {"discoverable": account.discoverable, "indexable": account.indexable,
                         "hide_collections": False}
    return entity


async def verify_credentials(request: Request) -> Response:
    me = await caller(request)
    if not (me.allows("read:accounts") or me.allows("profile")):  # Mastodon 4.3's `profile`
        raise forbidden()
    async with reader(request) as session:
        account = await account_or_404(session, me.token.account_id or 0)
        return json_response(await credential_json(request, session, account))


async def update_credentials(request: Request) -> Response:
    me = await caller(request, "write:accounts")
    p = await params(request)
    found = profile_changes(p)
    await read_images(p, found)
    fv = state(request)
    async with writer(request) as session:
        account = await account_or_404(session, me.token.account_id or 0)
        account = await apply_profile(fv.federation, session, fv.settings.media_dir, account, found)
        return json_response(await credential_json(request, session, account))


async def show(request: Request) -> Response:
    await optional_caller(request)
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        return json_response(await account_json(request, session, account))


MAX_IDS = 40


def _ids(p: Params) -> list[int]:
    """The `id[]` asked for, unknown shapes dropped, at most MAX_IDS (else 422)."""
    wanted = [str(v) for v in p.getlist("id")]
    if len(wanted) > MAX_IDS:
        raise unprocessable(f"Validation failed: at most {MAX_IDS} ids at once")
    return list(dict.fromkeys(int(v) for v in wanted if is_id(v)))


async def show_many(request: Request) -> Response:
    """Several accounts by `id[]` (Mastodon 4.3), in the order asked; unknown ones left out."""
    await optional_caller(request)
    ids = _ids(await params(request))
    async with reader(request) as session:
        found = [await session.get(Account, i) for i in ids]
        shown = [a for a in found
                 if a is not None and a.kind in SHOWN_KINDS and a.suspended_at is None]
        return json_response(await accounts_json(request, session, shown))


async def familiar_followers(request: Request) -> Response:
    """For each `id[]`: the accounts the caller follows that follow it."""
    me = await caller(request, "read:follows")
    assert me.account is not None
    ids = _ids(await params(request))
    async with reader(request) as session:
        found = await familiar(session, me.account.id, ids)
        answer = [{"id": str(i), "accounts": await accounts_json(request, session, found[i])}
                  for i in ids]
    return json_response(answer)


async def lookup(request: Request) -> Response:
    """An account by `acct` (`user` or `user@domain`), from what this server knows."""
    await optional_caller(request)
    p = await params(request)
    acct = p.string("acct")
    if not acct:
        raise unprocessable("Validation failed: acct is missing")
    username, domain = split_acct(acct, state(request).settings.domain)
    async with reader(request) as session:
        account = await find_by_acct(session, username, domain)
        if account is None:
            raise not_found()
        return json_response(await account_json(request, session, account))


async def search(request: Request) -> Response:
    me = await caller(request, "read:accounts")
    p = await params(request)
    q = p.string("q")
    if q is None:
        raise unprocessable("Validation failed: q is missing")
    limit = p.integer("limit", 40, minimum=1)
    offset = p.integer("offset", 0, minimum=0)
    resolve, following = p.boolean("resolve", False), p.boolean("following", False)
    accounts = await find_accounts(request, me.account, q.strip(), limit=min(limit or 40, 80),
                                   offset=offset or 0, resolve=bool(resolve),
                                   following=bool(following))
    async with reader(request) as session:
        return json_response(await accounts_json(request, session, accounts))


def _status_filter(p: Params) -> StatusFilter:
    return StatusFilter(
        only_media=bool(p.boolean("only_media", False)),
        exclude_replies=bool(p.boolean("exclude_replies", False)),
        exclude_reblogs=bool(p.boolean("exclude_reblogs", False)),
        pinned=bool(p.boolean("pinned", False)), tagged=p.string("tagged") or None)


async def statuses(request: Request) -> Response:
    me = await optional_caller(request)
    viewer_id = me.account.id if me is not None and me.account is not None else None
    p = await params(request)
    wanted, page = _status_filter(p), page_of(p)
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        rows = await account_statuses(session, account.id, viewer_id, wanted, window_of(page))
        found = await status_entities(session, state(request).urls, rows, viewer_id)
        found = apply_filters(found, await session_filters(session, viewer_id), "account",
                              viewer_id)
    return json_response(found, headers=link_header(request, [s.id for s in rows], page))


async def _follows(request: Request, direction: str) -> Response:
    await optional_caller(request)
    page = page_of(await params(request), default=40, maximum=80)
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        rows = await follow_accounts(session, account.id, direction=direction, state="accepted",
                                     window=window_of(page))
        found = await accounts_json(request, session, [a for _, a in rows])
    return json_response(found, headers=link_header(request, [i for i, _ in rows], page))


async def followers(request: Request) -> Response:
    return await _follows(request, "followers")


async def following(request: Request) -> Response:
    return await _follows(request, "following")


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH", "PUT"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
    Route("/api/v1/accounts", show_many, methods=["GET"]),
    Route("/api/v1/accounts/familiar_followers", familiar_followers, methods=["GET"]),
    *relationships.routes,
    Route("/api/v1/accounts/{id}", show, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", statuses, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", followers, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", following, methods=["GET"]),
]
