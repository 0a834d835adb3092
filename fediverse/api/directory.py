"""Mastodon API: the profile directory (`GET /api/v1/directory`), open to all as Mastodon's is;
a token, when given, hides whom its account blocks or mutes."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import optional_caller
from fediverse.api.entities import account_entities
from fediverse.api.errors import unprocessable
from fediverse.api.params import params
from fediverse.routes.common import json_response, state
from models.directory import ORDERS, directory_page

DEFAULT_LIMIT, MAX_LIMIT = 40, 80
MAX_OFFSET = 2**31 - 1


def _next_link(request: Request, offset: int, limit: int) -> dict[str, str]:
    """`Link` to the next page, by offset (as Mastodon.py follows it)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    url = request.url
    query = urlencode([*kept, ("offset", str(offset + limit)), ("limit", str(limit))])
    return {"Link": f'<{url.scheme}://{url.netloc}{url.path}?{query}>; rel="next"'}


async def directory(request: Request) -> Response:
    found = await optional_caller(request)  # a bad token is still a 401
    viewer = found.account if found is not None else None
    p = await params(request)
    offset = p.integer("offset", 0, minimum=0, maximum=MAX_OFFSET) or 0
    limit = max(1, min(p.integer("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT))
    order = p.string("order", "active", max_length=16) or "active"
    if order not in ORDERS:
        raise unprocessable("Validation failed: order must be active or new")
    local = bool(p.boolean("local", False))
    st = state(request)
    async with st.sessions() as session:
        accounts = await directory_page(session, offset=offset, limit=limit, order=order,
                                        local=local, viewer_id=viewer.id if viewer else None)
        entities = await account_entities(session, st.urls, accounts)
    headers = _next_link(request, offset, limit) if len(accounts) == limit else {}
    return json_response(entities, headers=headers)


routes: list[BaseRoute] = [Route("/api/v1/directory", directory, methods=["GET"])]
