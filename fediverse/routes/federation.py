"""Actors, their collections and inboxes, as other servers and browsers see them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.actor import build_actor, build_actor_html
from activitypub.collection import ordered_collection, ordered_collection_page
from fediverse.routes.common import activity_response, error, state, wants_activity_json
from inbox.receive import MAX_BODY, read_capped, receive
from models.accounts import get_account, get_or_create_instance_actor
from models.statuses import count_public_statuses, public_statuses_page
from outbox.actors import account_to_actor, instance_actor_fields
from outbox.notes import status_to_create

PAGE_SIZE = 20


async def _account_or_404(request: Request):  # type: ignore[no-untyped-def]
    fv = state(request)
    async with fv.sessions() as session:
        return await get_account(session, request.path_params["username"])


async def actor(request: Request) -> Response:
    account = await _account_or_404(request)
    if account is None:
        return error(404, "no such account")
    fv = state(request)
    fields = account_to_actor(account, fv.urls)
    if wants_activity_json(request):
        return activity_response(build_actor(fields))
    return HTMLResponse(build_actor_html(fields, domain=fv.settings.domain), headers={"Vary": "Accept"})


async def profile(request: Request) -> Response:
    """The profile page at /@username; ActivityPub clients are sent to the actor id."""
    account = await _account_or_404(request)
    if account is None:
        return error(404, "no such account")
    fv = state(request)
    if wants_activity_json(request):
        return RedirectResponse(fv.urls.actor(account.username), status_code=302)
    fields = account_to_actor(account, fv.urls)
    return HTMLResponse(build_actor_html(fields, domain=fv.settings.domain), headers={"Vary": "Accept"})


async def instance_actor(request: Request) -> Response:
    fv = state(request)
    async with fv.sessions() as session:
        account = await get_or_create_instance_actor(session)
        await session.commit()
    return activity_response(build_actor(instance_actor_fields(account, fv.urls)))


async def outbox(request: Request) -> Response:
    account = await _account_or_404(request)
    if account is None:
        return error(404, "no such account")
    fv = state(request)
    url = fv.urls.outbox(account.username)
    async with fv.sessions() as session:
        if request.query_params.get("page") != "true":
            total = await count_public_statuses(session, account.id)
            return activity_response(
                ordered_collection(url, total, first=f"{url}?page=true", last=f"{url}?min_id=0&page=true")
            )
        try:
            max_id = int(request.query_params.get("max_id", "0")) or None
        except ValueError:
            return error(400, "max_id must be an integer")
        statuses = await public_statuses_page(session, account.id, max_id=max_id, limit=PAGE_SIZE)
    items = [status_to_create(s, account, fv.urls) for s in statuses]
    page_id = f"{url}?page=true" + (f"&max_id={max_id}" if max_id else "")
    next_page = f"{url}?max_id={statuses[-1].id}&page=true" if len(statuses) == PAGE_SIZE else None
    return activity_response(ordered_collection_page(page_id, url, items, next=next_page))


def _empty_collection(name: str):  # type: ignore[no-untyped-def]
    """A collection that holds nothing yet (follows and pins arrive with federation)."""

    async def route(request: Request) -> Response:
        account = await _account_or_404(request)
        if account is None:
            return error(404, "no such account")
        url = getattr(state(request).urls, name)(account.username)
        if request.query_params.get("page") == "true":
            return activity_response(ordered_collection_page(f"{url}?page=true", url, []))
        first = None if name == "featured" else f"{url}?page=true"
        return activity_response(ordered_collection(url, 0, first=first))

    return route


async def inbox(request: Request) -> Response:
    fv = state(request)
    username = request.path_params.get("username")
    if username is not None and await _account_or_404(request) is None:
        return error(404, "no such account")
    body = await read_capped(request.stream(), request.headers.get("content-length"), MAX_BODY)
    if body is None:
        return error(413, f"body is larger than {MAX_BODY} bytes")
    outcome = await receive(
        method=request.method,
        url=str(request.url.replace(scheme=fv.settings.scheme, netloc=fv.settings.domain)),
        headers=request.headers.items(),
        body=body,
        key_lookup=fv.keys.lookup,
        sessions=fv.sessions,
        recipient=username,
    )
    if outcome.queued:
        fv.wake.set()
    if outcome.status >= 400:
        return error(outcome.status, outcome.reason)
    return Response(status_code=outcome.status)


routes = [
    Route("/actor", instance_actor),
    Route("/users/{username}", actor),
    Route("/@{username}", profile),
    Route("/users/{username}/outbox", outbox),
    Route("/users/{username}/followers", _empty_collection("followers")),
    Route("/users/{username}/following", _empty_collection("following")),
    Route("/users/{username}/collections/featured", _empty_collection("featured")),
    Route("/users/{username}/collections/tags", _empty_collection("featured_tags")),
    Route("/users/{username}/inbox", inbox, methods=["POST"]),
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actor/inbox", inbox, methods=["POST"]),
]
