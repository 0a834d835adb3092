"""Local statuses at their ids: notes (or boosts' Announces), their activities, their replies,
their web pages, and hashtag pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.collection import AS_CONTEXT
from fediverse.routes.common import activity_response, error, state, wants_activity_json
from fediverse.routes.pages import gone_page, status_page, tag_page
from fediverse.routes.served import activity_of, note_of, tombstone_of, with_context
from fediverse.routes.signed_get import Viewer, refusal, viewer_of
from models.audience import may_see
from models.collections import local_status, media_of, public_replies_page, public_tagged
from models.tables import Account, Status

PAGE_SIZE = 20
ID_MAX = 2**63 - 1  # larger ids name nothing (and a database refuses them as parameters)
_VARY = {"Vary": "Accept"}


async def _visible(request: Request, *, ap: bool) -> tuple[Status, Account] | Response:
    """The status named by the path and its author, if this requester may see it."""
    fv = state(request)
    viewer = await viewer_of(request) if ap else Viewer()
    if request.path_params["id"] > ID_MAX:
        return error(404, "not found")
    async with fv.sessions() as session:
        found = await local_status(session, request.path_params["username"], request.path_params["id"])
        if found is None:
            return error(404, "not found")
        status, author = found
        if ap and (refused := await refusal(request, viewer, author)) is not None:
            return refused
        if not await may_see(session, status, viewer.account):
            return error(404, "not found")  # a status one may not see does not exist
    if status.deleted_at is not None:
        if ap:
            return activity_response(tombstone_of(status.uri), status=410)
        return HTMLResponse(gone_page(), status_code=410, headers=_VARY)
    return status, author


async def status(request: Request) -> Response:
    """A note (or a boost's Announce) to ActivityPub clients, its page to browsers."""
    ap = wants_activity_json(request)
    found = await _visible(request, ap=ap)
    if isinstance(found, Response):
        return found
    fv = state(request)
    item, author = found
    async with fv.sessions() as session:
        if item.reblog_of_id is not None:
            return await _boost(request, session, item, author, ap=ap)
        if ap:
            return activity_response(with_context(await note_of(session, item, author, fv.urls)))
        media = await media_of(session, item.id)
    page = status_page(item, author, media, fv.urls, fv.settings.domain)
    return HTMLResponse(page, headers=_VARY)


async def _boost(request: Request, session, boost: Status, author: Account, *, ap: bool) -> Response:  # type: ignore[no-untyped-def]
    activity = await activity_of(session, boost, author, state(request).urls)
    if activity is None:
        return error(404, "the boosted post is gone")
    if ap:
        return activity_response(with_context(activity))
    return RedirectResponse(activity["object"], status_code=302)


async def status_activity(request: Request) -> Response:
    """The `Create` of a note, or the `Announce` of a boost."""
    found = await _visible(request, ap=True)
    if isinstance(found, Response):
        return found
    fv = state(request)
    async with fv.sessions() as session:
        activity = await activity_of(session, found[0], found[1], fv.urls)
    if activity is None:
        return error(404, "the boosted post is gone")
    return activity_response(with_context(activity))


async def replies(request: Request) -> Response:
    """A `Collection` of public reply ids whose `first` page is embedded, as Mastodon serves it."""
    found = await _visible(request, ap=True)
    if isinstance(found, Response):
        return found
    try:
        min_id = int(request.query_params["min_id"]) if "min_id" in request.query_params else None
    except ValueError:
        return error(400, "min_id must be an integer")
    if min_id is not None:  # further out it pages the same
        min_id = max(min(min_id, ID_MAX), -ID_MAX - 1)
    url = found[0].uri + "/replies"
    async with state(request).sessions() as session:
        rows = await public_replies_page(session, found[0].id, limit=PAGE_SIZE, min_id=min_id)
    page = _replies_page(url, rows, min_id)
    if request.query_params.get("page") == "true":
        return activity_response({"@context": AS_CONTEXT, **page})
    return activity_response({"@context": AS_CONTEXT, "id": url, "type": "Collection", "first": page})


def _replies_page(url: str, rows: list[Status], min_id: int | None) -> dict:  # type: ignore[type-arg]
    page: dict = {"id": f"{url}?page=true" + (f"&min_id={min_id}" if min_id is not None else ""),  # type: ignore[type-arg]
                  "type": "CollectionPage", "partOf": url, "items": [r.uri for r in rows]}
    if len(rows) == PAGE_SIZE:
        page["next"] = f"{url}?page=true&min_id={rows[-1].id}"
    return page


async def status_url(request: Request) -> Response:
    """Mastodon's `url` form, /@user/ID: the page to browsers; ActivityPub clients go to the id."""
    if wants_activity_json(request):
        fv = state(request)
        target = fv.urls.status(request.path_params["username"], request.path_params["id"])
        return RedirectResponse(target, status_code=302)
    return await status(request)


async def tag(request: Request) -> Response:
    fv = state(request)
    name = request.path_params["name"]
    async with fv.sessions() as session:
        rows = await public_tagged(session, name, limit=PAGE_SIZE)
    return HTMLResponse(tag_page(name, rows, fv.urls, fv.settings.domain))


routes = [
    Route("/users/{username}/statuses/{id:int}", status),
    Route("/users/{username}/statuses/{id:int}/activity", status_activity),
    Route("/users/{username}/statuses/{id:int}/replies", replies),
    Route("/@{username}/{id:int}", status_url),
    Route("/tags/{name}", tag),
]
