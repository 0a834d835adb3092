"""Actors, their collections and inboxes, as other servers and browsers see them."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from activitypub.actor import build_actor, build_actor_html
from activitypub.vocab import host_of
from fediverse.routes.common import activity_response, error, state, wants_activity_json
from fediverse.routes.signed_get import refusal, viewer_of
from inbox.receive import MAX_BODY, UNSIGNED, is_signed, read_capped, receive
from models.accounts import get_account, get_or_create_instance_actor
from models.tables import Account
from outbox.actors import account_to_actor, instance_actor_fields, load_actor_fields
from outbox.hosts import DeliveryPolicy, HostHealth

log = logging.getLogger(__name__)

# what an unsigned GET of an actor still gets in authorized-fetch mode (Mastodon does the same)
_KEY_STUB = ("@context", "id", "type", "preferredUsername", "publicKey", "inbox", "endpoints")
_SHARED_INBOXES = frozenset({"/inbox", "/actor/inbox"})


async def _account_or_404(request: Request):  # type: ignore[no-untyped-def]
    fv = state(request)
    async with fv.sessions() as session:
        return await get_account(session, request.path_params["username"])


async def actor(request: Request) -> Response:
    account = await _account_or_404(request)
    if account is None:
        return error(404, "no such account")
    fv = state(request)
    async with fv.sessions() as session:
        fields = await load_actor_fields(session, account, fv.urls)
    if wants_activity_json(request):
        return await _actor_document(request, account, build_actor(fields))
    return HTMLResponse(build_actor_html(fields, domain=fv.settings.domain), headers={"Vary": "Accept"})


async def _actor_document(request: Request, account: Account, doc: dict[str, Any]) -> Response:
    """The whole actor, or in authorized-fetch mode only what verifies a key to unsigned GETs."""
    viewer = await viewer_of(request)
    refused = await refusal(request, viewer, account, require_signature=False)
    if refused is not None:
        return refused
    if state(request).settings.authorized_fetch and not viewer.verified:
        doc = {key: value for key, value in doc.items() if key in _KEY_STUB}
    return activity_response(doc)


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


class Inbox:
    """POST to an inbox, as a plain ASGI app: the hottest route federation has, it skips
    what a starlette endpoint costs per request (a Request, its URL parsed and rebuilt,
    the exception wrapper; the app's middleware still runs). Answers as an endpoint would."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _inbox(scope, Request(scope, receive))
        await response(scope, receive, send)


async def _inbox(scope: Scope, request: Request) -> Response:
    fv = scope["app"].state.fv
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    if not is_signed(headers):  # refused unread
        return error(401, UNSIGNED)
    username = scope["path_params"].get("username")
    if username is not None and await _account_or_404(request) is None:
        return error(404, "no such account")
    length = next((v for k, v in headers if k == "content-length"), None)
    body = await read_capped(request.stream(), length, MAX_BODY)
    if body is None:
        return error(413, f"body is larger than {MAX_BODY} bytes")
    outcome = await receive(
        method=scope["method"],
        url=_url_as_received(scope, request, fv.settings),
        headers=headers,
        body=body,
        key_lookup=fv.keys.lookup,
        sessions=fv.sessions,
        recipient=username,
    )
    if outcome.queued:
        fv.wake.set()
    if outcome.status >= 400:
        return error(outcome.status, outcome.reason)
    await _heard_from(request, outcome.sender)
    return Response(status_code=outcome.status)


def _url_as_received(scope: Scope, request: Request, settings: Any) -> str:
    """The URL the request was sent to, on our public scheme and domain; the shared inboxes
    without a query string (nearly every delivery) without parsing anything."""
    if scope["path"] in _SHARED_INBOXES and not scope.get("query_string"):
        return f"{settings.scheme}://{settings.domain}{scope['path']}"
    return str(request.url.replace(scheme=settings.scheme, netloc=settings.domain))


async def _heard_from(request: Request, sender: str) -> None:
    """A host that sent us a verified activity is up: deliveries to it resume (as Mastodon
    does). Costs a lookup in a snapshot of the failing hosts, re-read every few seconds."""
    health = getattr(request.app.state, "inbound_host_health", None)
    if health is None:
        health = HostHealth(state(request).sessions, DeliveryPolicy())
        request.app.state.inbound_host_health = health
    host = host_of(sender)
    if not host:
        return
    try:
        await health.succeeded(host)
    except SQLAlchemyError as exc:  # the activity is stored: never fail its answer for this
        log.warning("could not mark %s available: %s", host, exc)


routes = [
    Route("/actor", instance_actor),
    Route("/users/{username}", actor),
    Route("/@{username}", profile),
    Route("/users/{username}/inbox", Inbox(), methods=["POST"], name="inbox"),
    Route("/inbox", Inbox(), methods=["POST"], name="inbox"),
    Route("/actor/inbox", Inbox(), methods=["POST"], name="inbox"),
]
