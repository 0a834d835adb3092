"""Mastodon API: what apps read as they start: preferences, read markers, and the lists this
server does not keep (answered `[]`, never 404: apps show errors on a 404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller, optional_caller
from fediverse.api.markers import (
    markers_entity,
    markers_of,
    save_markers,
    updates_from,
    wanted_timelines,
)
from fediverse.api.params import params
from fediverse.routes.common import json_response, state
from models.tables import Account


def preferences_entity(account: Account) -> dict[str, object]:
    return {
        "posting:default:visibility": account.default_privacy or "public",
        "posting:default:sensitive": account.default_sensitive,
        "posting:default:language": account.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }


async def preferences(request: Request) -> Response:
    me = await caller(request, "read:accounts")
    assert me.account is not None
    return json_response(preferences_entity(me.account))


async def get_markers(request: Request) -> Response:
    me = await caller(request, "read:statuses")
    assert me.account is not None
    timelines = wanted_timelines(await params(request))
    async with state(request).sessions() as session:
        found = await markers_of(session, me.account, timelines)
    return json_response(markers_entity(found))


async def post_markers(request: Request) -> Response:
    me = await caller(request, "write:statuses")
    assert me.account is not None
    updates = updates_from(await params(request))
    async with state(request).writer() as session:
        saved = await save_markers(session, me.account, updates)
        await session.commit()
    return json_response(markers_entity(saved))


def empty_list(scope: str | None, *, user: bool = True):  # type: ignore[no-untyped-def]
    """A route answering `[]`: to anyone when `scope` is None, else to a caller holding it."""

    async def answer(request: Request) -> Response:
        if scope is None:
            await optional_caller(request)  # a bad token is still a 401
        else:
            await caller(request, scope, user=user)
        return json_response([])

    return answer


_PUBLIC = ("/api/v1/custom_emojis", "/api/v1/trends", "/api/v1/trends/tags",
           "/api/v1/trends/statuses", "/api/v1/trends/links")
_SIGNED_IN = {
    "/api/v1/announcements": "read",
}

routes: list[BaseRoute] = [
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/markers", get_markers, methods=["GET"]),
    Route("/api/v1/markers", post_markers, methods=["POST"]),
    *(Route(path, empty_list(None), methods=["GET"]) for path in _PUBLIC),
    *(Route(path, empty_list(scope), methods=["GET"]) for path, scope in _SIGNED_IN.items()),
]
