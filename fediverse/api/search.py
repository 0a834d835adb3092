"""Mastodon API: search (`/api/v2/search`), and the account finding that
`/api/v1/accounts/search` shares; `resolve=true` looks remote accounts up over WebFinger and
posts (or actors) by URL over ActivityPub."""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activitypub.errors import ActivityPubError
from fediverse.api.account_lookup import accounts_json, reader, writer
from fediverse.api.auth import optional_caller
from fediverse.api.entities import status_entities, tag_entity
from fediverse.api.errors import ApiError, forbidden, unauthorized, unprocessable
from fediverse.api.params import params
from fediverse.routes.common import json_response, state
from inbox.resolve import resolve_handle, resolve_url
from models.account_search import find_by_acct, search_accounts, search_statuses, search_tags
from models.audience import may_see
from models.followed_tags import followed_among
from models.tables import Account, Status
from models.tag_history import tag_history

log = logging.getLogger(__name__)

TYPES = ("accounts", "statuses", "hashtags")
HANDLE_RE = re.compile(r"@?[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+(:\d+)?")
URL_RE = re.compile(r"https?://\S+")


def split_acct(acct: str, our_domain: str) -> tuple[str, str]:
    """(username, domain) of `user`, `@user` or `user@domain`; our own domain is ''."""
    username, _, domain = acct.strip().removeprefix("@").partition("@")
    domain = domain.lower()
    return username, "" if domain in (our_domain.lower(), "") else domain


async def _resolve_handle(request: Request, handle: str) -> Account | None:
    """The account of `@user@host`, looked up over WebFinger when not known here."""
    try:
        async with writer(request) as session:
            account = await resolve_handle(state(request).federation, session, handle)
            await session.commit()
            return account
    except ActivityPubError as exc:
        log.info("search could not resolve %s: %s", handle, exc)
        return None


async def _resolve_url(request: Request, url: str) -> Account | Status | None:
    """The post or actor at `url`, fetched and stored when not known here."""
    async with writer(request) as session:
        try:
            found = await resolve_url(state(request).federation, session, url)
            await session.commit()
            return found
        except ActivityPubError as exc:
            await session.rollback()
            log.info("search could not resolve %s: %s", url, exc)
    return None


async def find_accounts(request: Request, viewer: Account | None, q: str, *, limit: int,
                        offset: int = 0, resolve: bool = False, following: bool = False
                        ) -> list[Account]:
    """Accounts matching `q`: an exact `user@domain` (resolved remotely when asked), then
    those whose names match."""
    if HANDLE_RE.fullmatch(q):
        username, domain = split_acct(q, state(request).settings.domain)
        async with reader(request) as session:
            exact = await find_by_acct(session, username, domain)
        if exact is None and resolve and domain:
            exact = await _resolve_handle(request, q)
        return [exact] if exact is not None and offset == 0 else []
    followed_by = viewer.id if following and viewer is not None else None
    async with reader(request) as session:
        return await search_accounts(session, q.lstrip("@"), limit=limit, offset=offset,
                                     followed_by=followed_by)


async def _find_statuses(request: Request, viewer: Account, q: str, *, limit: int, offset: int,
                         account_id: int | None) -> list[Status]:
    async with reader(request) as session:
        rows = await search_statuses(session, q, viewer.id, limit=limit, offset=offset,
                                     account_id=account_id)
    return rows


def _search_options(request_params, authenticated: bool) -> dict:  # type: ignore[no-untyped-def]
    p = request_params
    q = p.string("q")
    if q is None or not q.strip():
        raise ApiError(400, "Missing parameter: q")
    kind = p.string("type")
    if kind not in (None, "", *TYPES):
        raise unprocessable("Validation failed: type must be accounts, statuses or hashtags")
    options = {
        "q": q.strip(), "type": kind or None,
        "resolve": bool(p.boolean("resolve", False)),
        "limit": min(p.integer("limit", 20, minimum=1) or 20, 40),
        "offset": p.integer("offset", 0, minimum=0) or 0,
        "following": bool(p.boolean("following", False)),
        "account_id": p.integer("account_id"),
    }
    if not authenticated and options["resolve"]:
        raise unauthorized("Search queries that resolve remote resources are not supported "
                           "without authentication")
    if not authenticated and options["offset"]:
        raise unauthorized("Search queries pagination is not supported without authentication")
    return options


async def search_v2(request: Request) -> Response:
    me = await optional_caller(request)
    if me is not None and not me.allows("read:search"):
        raise forbidden()
    viewer = me.account if me is not None else None
    o = _search_options(await params(request), viewer is not None)
    accounts: list[Account] = []
    statuses: list[Status] = []
    if o["resolve"] and URL_RE.fullmatch(o["q"]) and o["offset"] == 0:
        found = await _resolve_url(request, o["q"])
        if isinstance(found, Account):
            accounts = [found]
        elif isinstance(found, Status):
            statuses = [found]
    elif o["type"] in (None, "accounts"):
        accounts = await find_accounts(request, viewer, o["q"], limit=o["limit"],
                                       offset=o["offset"], resolve=o["resolve"],
                                       following=o["following"])
    if o["type"] in (None, "statuses") and viewer is not None and not statuses \
            and not URL_RE.fullmatch(o["q"]):
        statuses = await _find_statuses(request, viewer, o["q"], limit=o["limit"],
                                        offset=o["offset"], account_id=o["account_id"])
    return json_response(await _answer(request, viewer, o, accounts, statuses))


async def _answer(request: Request, viewer: Account | None, o: dict, accounts: list[Account],
                  statuses: list[Status]) -> dict:
    """The Search entity: `accounts`, `statuses` and `hashtags`, always all three."""
    urls = state(request).urls
    async with reader(request) as session:
        visible = [s for s in statuses if await may_see(session, s, viewer)]
        tags = []
        if o["type"] in (None, "hashtags") and not URL_RE.fullmatch(o["q"]):
            tags = await search_tags(session, o["q"], limit=o["limit"], offset=o["offset"])
        followed = (await followed_among(session, viewer.id, [t.id for t in tags])
                    if viewer is not None else set())
        history = await tag_history(session, [t.id for t in tags])
        return {
            "accounts": await accounts_json(request, session, accounts),
            "statuses": await status_entities(session, urls, visible,
                                              viewer.id if viewer else None),
            "hashtags": [tag_entity(t, urls, following=(t.id in followed) if viewer else None,
                                    history=history[t.id]) for t in tags],
        }


routes: list[BaseRoute] = [Route("/api/v2/search", search_v2, methods=["GET"])]
