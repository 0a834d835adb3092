"""Mastodon API: one hashtag (`/api/v1/tags/:name`), as apps read it to title a tag's page."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import optional_caller
from fediverse.api.entities import tag_entity
from fediverse.api.errors import not_found
from fediverse.routes.common import json_response, state
from models.tables import Tag

_NAME_RE = re.compile(r"\w*[^\W\d]\w*")


async def show(request: Request) -> Response:
    """A hashtag this server has seen; `following` is false for a signed-in caller (followed
    tags are not kept). An unknown or malformed name is a 404."""
    me = await optional_caller(request)  # public, as Mastodon's; a bad token is still a 401
    name = request.path_params["name"].lstrip("#")
    if len(name) > 255 or not _NAME_RE.fullmatch(name):
        raise not_found()
    async with state(request).sessions() as session:
        tag = (await session.exec(
            select(Tag).where(sa.func.lower(Tag.name) == name.lower()))).first()
    if tag is None:
        raise not_found()
    return json_response(tag_entity(tag, state(request).urls,
                                    following=False if me and me.account else None))


routes: list[BaseRoute] = [Route("/api/v1/tags/{name}", show, methods=["GET"])]
