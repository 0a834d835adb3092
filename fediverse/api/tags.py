"""Mastodon API: one hashtag (`/api/v1/tags/:name`), as apps read it to title a tag's page,
and the hashtags a user follows (`/api/v1/followed_tags`, `.../follow`, `.../unfollow`)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller, optional_caller
from fediverse.api.entities import tag_entity
from fediverse.api.errors import not_found
from fediverse.api.params import link_header, page_of, params
from fediverse.routes.common import json_response, state
from models.featured_tags import is_featured
from models.followed_tags import (
    follow_tag,
    followed_tags_page,
    is_following,
    tag_named,
    unfollow_tag,
)
from models.relationships import Window
from models.tag_history import tag_history

NAME_RE = re.compile(r"\w*[^\W\d]\w*")  # a hashtag's name, as posts' hashtags are read


def tag_name(request: Request) -> str:
    """The hashtag named in the path; a malformed name is a 404."""
    name = request.path_params["name"].lstrip("#")
    if len(name) > 255 or not NAME_RE.fullmatch(name):
        raise not_found()
    return name


async def show(request: Request) -> Response:
    """A hashtag this server has seen, with `following` for a signed-in caller. An unknown
    or malformed name is a 404."""
    me = await optional_caller(request)  # public, as Mastodon's; a bad token is still a 401
    name = tag_name(request)
    async with state(request).sessions() as session:
        tag = await tag_named(session, name)
        if tag is None:
            raise not_found()
        following = featuring = None
        if me is not None and me.account is not None:
            following = await is_following(session, me.account.id, tag.id)
            featuring = await is_featured(session, me.account.id, tag.id)
        history = await tag_history(session, [tag.id])
    return json_response(tag_entity(tag, state(request).urls, following=following,
                                    featuring=featuring, history=history[tag.id]))


async def follow(request: Request) -> Response:
    """Follow the hashtag, making it when no status carries it yet (as Mastodon)."""
    who = await caller(request, "write:follows")
    name = tag_name(request)
    async with state(request).writer() as session:
        tag = await follow_tag(session, who.token.account_id or 0, name)
    return json_response(tag_entity(tag, state(request).urls, following=True))


async def unfollow(request: Request) -> Response:
    who = await caller(request, "write:follows")
    name = tag_name(request)
    async with state(request).writer() as session:
        tag = await tag_named(session, name)
        if tag is None:
            raise not_found()
        await unfollow_tag(session, who.token.account_id or 0, tag)
    return json_response(tag_entity(tag, state(request).urls, following=False))


async def followed(request: Request) -> Response:
    """The hashtags the caller follows, newest follow first; pages by the follow's id."""
    who = await caller(request, "read:follows")
    page = page_of(await params(request), default=100, maximum=200)
    async with state(request).sessions() as session:
        rows = await followed_tags_page(session, who.token.account_id or 0, Window(
            page.limit, page.max_id, page.since_id, page.min_id))
    urls = state(request).urls
    return json_response([tag_entity(t, urls, following=True) for _, t in rows],
                         headers=link_header(request, [i for i, _ in rows], page))


routes: list[BaseRoute] = [
    Route("/api/v1/tags/{name}", show, methods=["GET"]),
    Route("/api/v1/tags/{name}/follow", follow, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/followed_tags", followed, methods=["GET"]),
]
