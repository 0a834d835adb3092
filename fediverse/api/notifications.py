"""Mastodon API: notifications (list with type filters, one, dismiss, clear, unread count);
the grouped ones of API v2 live in `notification_groups`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api import notification_groups
from fediverse.api.account_lookup import parse_id, reader, window_of, writer
from fediverse.api.auth import caller
from fediverse.api.entities import notification_entities
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.filtering import filter_notifications, session_filters
from fediverse.api.params import Params, link_header, page_of, params
from fediverse.api.unread import count_shown, hides
from fediverse.routes.common import json_response, state
from models import notifications as stored
from models.notifications import NotificationFilter


def _filter(p: Params) -> NotificationFilter:
    """`types[]`, `exclude_types[]` and `account_id` (types we never make match nothing)."""
    account_id = p.get("account_id")
    if account_id is not None and not str(account_id).isdigit():
        raise unprocessable("Validation failed: account_id must be an id")
    return NotificationFilter(
        types=[str(t) for t in p.getlist("types")],
        exclude_types=[str(t) for t in p.getlist("exclude_types")],
        from_account_id=int(account_id) if account_id is not None else None)


async def index(request: Request) -> Response:
    who = await caller(request, "read:notifications")
    p = await params(request)
    wanted, page = _filter(p), page_of(p, default=40, maximum=80)
    me = who.token.account_id or 0
    async with reader(request) as session:
        rows = await stored.notifications_page(session, me, wanted, window_of(page))
        found = await notification_entities(session, state(request).urls, rows, me)
        found = filter_notifications(found, await session_filters(session, me), me)
    return json_response(found, headers=link_header(request, [n.id for n in rows], page))


async def show(request: Request) -> Response:
    who = await caller(request, "read:notifications")
    me = who.token.account_id or 0
    async with reader(request) as session:
        row = await stored.get_notification(session, me, parse_id(request.path_params["id"]))
        found = await notification_entities(session, state(request).urls, [row], me) if row else []
        found = filter_notifications(found, await session_filters(session, me), me)
    if not found:
        raise not_found()
    return json_response(found[0])


async def _dismiss(request: Request, raw_id: str | None) -> Response:
    who = await caller(request, "write:notifications")
    notification_id = parse_id(raw_id or "")
    async with writer(request) as session:
        if not await stored.dismiss(session, who.token.account_id or 0, notification_id):
            raise not_found()
    return json_response({})


async def dismiss(request: Request) -> Response:
    return await _dismiss(request, request.path_params["id"])


async def dismiss_legacy(request: Request) -> Response:
    """`POST /api/v1/notifications/dismiss` with `id`, as clients of Mastodon < 3.0 call it."""
    p = await params(request)
    return await _dismiss(request, p.string("id"))


async def clear(request: Request) -> Response:
    who = await caller(request, "write:notifications")
    async with writer(request) as session:
        await stored.clear(session, who.token.account_id or 0)
    return json_response({})


async def unread_count(request: Request) -> Response:
    """How many notifications came after the `notifications` marker, up to `limit`: those
    the list shows (not those a `hide` filter of the notifications context leaves out)."""
    who = await caller(request, "read:notifications")
    p = await params(request)
    limit = min(p.integer("limit", 100, minimum=1) or 100, 1000)
    wanted = _filter(p)
    async with reader(request) as session:
        me = who.token.account_id or 0
        since_id = await stored.read_up_to(session, me)
        filters = await session_filters(session, me)
        if not hides(filters):
            count = await stored.count_notifications(session, me, wanted, limit=limit,
                                                     since_id=since_id)
        else:
            count = await count_shown(session, state(request).urls, me, wanted,
                                      since_id=since_id, limit=limit, filters=filters)
    return json_response({"count": count})


_NOTHING_PENDING = {"pending_requests_count": 0, "pending_notifications_count": 0}


async def policy(request: Request) -> Response:
    """Mastodon 4.3's notification policy: this server filters no notifications into
    requests, so every kind is accepted and nothing is pending."""
    await caller(request, "read:notifications")
    if request.url.path.startswith("/api/v1/"):
        return json_response({"filter_not_following": False, "filter_not_followers": False,
                              "filter_new_accounts": False, "filter_private_mentions": False,
                              "summary": _NOTHING_PENDING})
    return json_response({"for_not_following": "accept", "for_not_followers": "accept",
                          "for_new_accounts": "accept", "for_private_mentions": "accept",
                          "for_limited_accounts": "accept", "summary": _NOTHING_PENDING})


async def requests(request: Request) -> Response:
    """Notification requests: none, since no notification is ever held back as one."""
    await caller(request, "read:notifications")
    return json_response([])


routes: list[BaseRoute] = [
    # before the routes that take an id or a group key there
    Route("/api/v1/notifications/policy", policy, methods=["GET"]),
    Route("/api/v2/notifications/policy", policy, methods=["GET"]),
    Route("/api/v1/notifications/requests", requests, methods=["GET"]),
    *notification_groups.routes,  # v2: grouped
    Route("/api/v1/notifications", index, methods=["GET"]),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/dismiss", dismiss_legacy, methods=["POST"]),
    Route("/api/v1/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v1/notifications/{id}", show, methods=["GET"]),
    Route("/api/v1/notifications/{id}/dismiss", dismiss, methods=["POST"]),
]
