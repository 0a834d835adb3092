"""Actors, their collections and inboxes, as other servers and browsers see them."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.actor import build_actor, build_actor_html
from activitypub.vocab import host_of
from fediverse.routes.common import activity_response, error, state, wants_activity_json
from fediverse.routes.signed_get import refusal, viewer_of
from inbox.receive import MAX_BODY, read_capped, receive
from models.accounts import get_account, get_or_create_instance_actor
from models.tables import Account
from outbox.actors import account_to_actor, instance_actor_fields, load_actor_fields
from outbox.hosts import DeliveryPolicy, HostHealth

log = logging.getLogger(__name__)

# what an unsigned GET of an actor still gets in authorized-fetch mode (Mastodon does the same)
_KEY_STUB = ("@context", "id", "type", "preferredUsername", "publicKey", "inbox", "endpoints")


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
    await _heard_from(request, outcome.sender)
    return Response(status_code=outcome.status)


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
    Route("/users/{username}/inbox", inbox, methods=["POST"]),
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actor/inbox", inbox, methods=["POST"]),
]
