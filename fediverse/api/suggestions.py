"""Mastodon API: accounts to follow (`/api/v1/suggestions`, `/api/v2/suggestions`) and
dismissing one (`models.suggestions` says which and why)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import account_or_404, accounts_json, reader, writer
from fediverse.api.auth import caller
from fediverse.api.entities import Entity
from fediverse.api.params import params
from fediverse.routes.common import json_response
from models.suggestions import dismiss, suggestions

# Mastodon 4.3's deprecated `source` for each of its `sources`
_SOURCE = {"friends_of_friends": "past_interactions", "most_followed": "global"}


async def _found(request: Request) -> tuple[list[str], list[Entity]]:
    who = await caller(request, "read")
    limit = min((await params(request)).integer("limit", 40, minimum=1) or 40, 80)
    async with reader(request) as session:
        found = await suggestions(session, who.token.account_id or 0, limit)
        accounts = await accounts_json(request, session, [a for a, _ in found])
    return [why for _, why in found], accounts


async def v1(request: Request) -> Response:
    return json_response((await _found(request))[1])


async def v2(request: Request) -> Response:
    whys, accounts = await _found(request)
    return json_response([{"source": _SOURCE[why], "sources": [why], "account": account}
                          for why, account in zip(whys, accounts, strict=True)])


async def remove(request: Request) -> Response:
    who = await caller(request, "read")
    async with writer(request) as session:
        target = await account_or_404(session, request.path_params["id"])
        await dismiss(session, who.token.account_id or 0, target.id)
        await session.commit()
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/suggestions", v1, methods=["GET"]),
    Route("/api/v2/suggestions", v2, methods=["GET"]),
    Route("/api/v1/suggestions/{id}", remove, methods=["DELETE"]),
]
