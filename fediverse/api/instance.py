"""Mastodon API: the instance (v1 and v2, with and without a trailing slash), peers, activity,
rules; its thumbnail and icon; and the small endpoints apps call at start-up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api import instance_assets, instance_texts, startup
from fediverse.api.auth import optional_caller
from fediverse.api.instance_entities import instance_v1, instance_v2
from fediverse.api.instance_facts import instance_facts, peers, weekly_activity
from fediverse.push.keys import instance_vapid_keys
from fediverse.routes.common import json_response, state

_PUBLIC = {"Access-Control-Allow-Origin": "*"}


async def instance_v2_route(request: Request) -> Response:
    await optional_caller(request)  # a bad token is still a 401
    fv = state(request)
    async with fv.sessions() as session:
        facts = await instance_facts(session, fv.urls)
    keys = await instance_vapid_keys(fv.sessions)
    return json_response(instance_v2(fv.settings, facts, keys.public_key), headers=_PUBLIC)


async def instance_v1_route(request: Request) -> Response:
    await optional_caller(request)
    fv = state(request)
    async with fv.sessions() as session:
        facts = await instance_facts(session, fv.urls)
    return json_response(instance_v1(fv.settings, facts), headers=_PUBLIC)


async def peers_route(request: Request) -> Response:
    await optional_caller(request)
    async with state(request).sessions() as session:
        return json_response(await peers(session), headers=_PUBLIC)


async def activity_route(request: Request) -> Response:
    await optional_caller(request)
    async with state(request).sessions() as session:
        return json_response(await weekly_activity(session), headers=_PUBLIC)


async def rules_route(request: Request) -> Response:
    await optional_caller(request)
    return json_response([], headers=_PUBLIC)


async def translation_languages_route(request: Request) -> Response:
    """No translation service: `{}`, as Mastodon answers when translation is off."""
    await optional_caller(request)
    return json_response({}, headers=_PUBLIC)


routes: list[BaseRoute] = [
    *(Route(path, instance_v1_route, methods=["GET"])
      for path in ("/api/v1/instance", "/api/v1/instance/")),
    *(Route(path, instance_v2_route, methods=["GET"])
      for path in ("/api/v2/instance", "/api/v2/instance/")),
    Route("/api/v1/instance/peers", peers_route, methods=["GET"]),
    Route("/api/v1/instance/activity", activity_route, methods=["GET"]),
    Route("/api/v1/instance/rules", rules_route, methods=["GET"]),
    Route("/api/v1/instance/translation_languages", translation_languages_route, methods=["GET"]),
    *instance_assets.routes,
    *instance_texts.routes,
    *startup.routes,
]
