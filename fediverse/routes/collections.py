"""An account's collections: outbox, followers, following, featured and featured tags.

Followers and following page by number (`?page=1`, as Mastodon links them) or by keyset
(`?page=true&max_id=ID`); the outbox pages by keyset (`max_id`, `min_id`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.collection import AS_CONTEXT, ordered_collection, ordered_collection_page, page_url
from fediverse.routes.common import activity_response, error, state
from fediverse.routes.served import activities_of, note_of
from fediverse.routes.signed_get import admitted
from models.accounts import get_account
from models.collections import (
    Direction,
    count_follows,
    count_outbox,
    follows_page,
    outbox_page,
    pinned_statuses,
)
from models.featured_tags import featured as featured_hashtags
from models.tables import Account, Status
from outbox.actors import actor_id

PAGE_SIZE = 20


class BadQuery(ValueError):
    """A query parameter that cannot be read; the message is safe to show."""


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadQuery(f"{name} must be a non-negative integer")
    return int(raw)


async def _owner(request: Request) -> Account | Response:
    """The local account named in the path, if this requester may read its collections."""
    async with state(request).sessions() as session:
        account = await get_account(session, request.path_params["username"])
    if account is None:
        return error(404, "no such account")
    viewer = await admitted(request, account)
    return viewer if isinstance(viewer, Response) else account


def _follows_route(direction: Direction):  # type: ignore[no-untyped-def]
    async def route(request: Request) -> Response:
        account = await _owner(request)
        if isinstance(account, Response):
            return account
        try:
            return await _follows(request, account, direction)
        except BadQuery as exc:
            return error(400, str(exc))

    return route


async def _follows(request: Request, account: Account, direction: Direction) -> Response:
    fv = state(request)
    url = getattr(fv.urls, direction)(account.username)
    page, max_id = request.query_params.get("page"), _int(request, "max_id")
    async with fv.sessions() as session:
        total = await count_follows(session, account.id, direction)
        if page is None and max_id is None:
            return activity_response(ordered_collection(url, total, first=page_url(url, page=1)))
        number = _int(request, "page") if page not in (None, "true") else None
        offset = (number - 1) * PAGE_SIZE if number else 0
        rows = await follows_page(session, account.id, direction, limit=PAGE_SIZE,
                                  max_id=max_id, offset=offset)
    items = [actor_id(other, fv.urls) for _, other in rows]
    if number:
        this = page_url(url, page=number)
        more = offset + len(rows) < total
        next_page = page_url(url, page=number + 1) if more else None
        prev_page = page_url(url, page=number - 1) if number > 1 else None
    else:
        this = page_url(url, page=True, max_id=max_id)
        next_page = page_url(url, page=True, max_id=rows[-1][0].id) if len(rows) == PAGE_SIZE else None
        prev_page = None
    doc = ordered_collection_page(this, url, items, next=next_page, prev=prev_page)
    return activity_response(doc | {"totalItems": total})


async def outbox(request: Request) -> Response:
    account = await _owner(request)
    if isinstance(account, Response):
        return account
    fv = state(request)
    url = fv.urls.outbox(account.username)
    try:
        max_id, min_id = _int(request, "max_id"), _int(request, "min_id")
    except BadQuery as exc:
        return error(400, str(exc))
    async with fv.sessions() as session:
        if request.query_params.get("page") != "true":
            total = await count_outbox(session, account.id)
            first, last = page_url(url, page=True), page_url(url, min_id=0, page=True)
            return activity_response(ordered_collection(url, total, first=first, last=last))
        statuses = await outbox_page(session, account.id, limit=PAGE_SIZE, max_id=max_id, min_id=min_id)
        items = await activities_of(session, statuses, account, fv.urls)
    this, next_page, prev_page = _outbox_links(url, statuses, max_id, min_id)
    return activity_response(ordered_collection_page(this, url, items, next=next_page, prev=prev_page))


def _outbox_links(url: str, statuses: list[Status], max_id: int | None,
                  min_id: int | None) -> tuple[str, str | None, str | None]:
    """This page's id, and the next (older) and previous (newer) pages when there are any."""
    this = page_url(url, page=True, max_id=max_id, min_id=min_id)
    if not statuses:
        return this, None, None
    older = len(statuses) == PAGE_SIZE or min_id is not None
    next_page = page_url(url, max_id=statuses[-1].id, page=True) if older else None
    return this, next_page, page_url(url, min_id=statuses[0].id, page=True)


async def featured(request: Request) -> Response:
    """Pinned statuses, inline, as Mastodon serves them (no pages)."""
    account = await _owner(request)
    if isinstance(account, Response):
        return account
    fv = state(request)
    async with fv.sessions() as session:
        pinned = await pinned_statuses(session, account.id)
        notes = [await note_of(session, s, account, fv.urls) for s in pinned]
    return activity_response({"@context": AS_CONTEXT, "id": fv.urls.featured(account.username),
                              "type": "OrderedCollection", "totalItems": len(notes),
                              "orderedItems": notes})


async def featured_tags(request: Request) -> Response:
    """Featured hashtags, as Mastodon serves them: Hashtag objects, inline."""
    account = await _owner(request)
    if isinstance(account, Response):
        return account
    urls = state(request).urls
    async with state(request).sessions() as session:
        tags = await featured_hashtags(session, account.id)
    items = [{"type": "Hashtag", "href": urls.tag(t.name.lower()), "name": f"#{t.name}"}
             for t in tags]
    return activity_response({"@context": AS_CONTEXT, "id": urls.featured_tags(account.username),
                              "type": "Collection", "totalItems": len(items), "items": items})


routes = [
    Route("/users/{username}/outbox", outbox),
    Route("/users/{username}/followers", _follows_route("followers")),
    Route("/users/{username}/following", _follows_route("following")),
    Route("/users/{username}/collections/featured", featured),
    Route("/users/{username}/collections/tags", featured_tags),
]
