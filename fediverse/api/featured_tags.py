"""Mastodon API: the hashtags an account features on its profile (`/api/v1/featured_tags`,
`/api/v1/accounts/:id/featured_tags`, and 4.4's `/api/v1/tags/:name/feature`); they
federate as the actor's `featuredTags` collection (`fediverse.routes.collections`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import account_or_404, reader, writer
from fediverse.api.auth import caller, optional_caller
from fediverse.api.entities import tag_entity
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import params
from fediverse.api.tags import NAME_RE, tag_name
from fediverse.routes.common import json_response, state
from models.featured_tags import (
    Featured,
    FeatureError,
    feature,
    featured,
    suggestions,
    unfeature,
)
from models.followed_tags import tag_named
from outbox.urls import Urls


def _entity(tag: Featured, username: str, urls: Urls) -> dict[str, Any]:
    """Mastodon's FeaturedTag (its count is a string, its last use a date)."""
    return {"id": str(tag.id), "name": tag.name,
            "url": f"{urls.profile(username)}/tagged/{tag.name.lower()}",
            "statuses_count": str(tag.statuses_count),
            "last_status_at": tag.last_status_at.date().isoformat() if tag.last_status_at else None}


async def mine(request: Request) -> Response:
    who = await caller(request, "read:accounts")
    assert who.account is not None
    async with reader(request) as session:
        tags = await featured(session, who.account.id)
    return json_response([_entity(t, who.account.username, state(request).urls) for t in tags])


async def create(request: Request) -> Response:
    who = await caller(request, "write:accounts")
    assert who.account is not None
    name = ((await params(request)).string("name", max_length=256) or "").strip().lstrip("#")
    if not NAME_RE.fullmatch(name) or len(name) > 255:
        raise unprocessable("Validation failed: Tag is invalid")
    async with writer(request) as session:
        try:
            made = await feature(session, who.account.id, name)
        except FeatureError as exc:
            raise unprocessable(str(exc)) from exc
        tags = await featured(session, who.account.id)
    [tag] = [t for t in tags if t.id == made]
    return json_response(_entity(tag, who.account.username, state(request).urls))


async def delete(request: Request) -> Response:
    who = await caller(request, "write:accounts")
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 19:
        raise not_found()
    async with writer(request) as session:
        if not await unfeature(session, who.token.account_id or 0, int(raw)):
            raise not_found()
    return json_response({})


async def feature_tag(request: Request) -> Response:
    """Feature the hashtag on the caller's profile (already featured: unchanged), as a Tag
    with `featuring`; masto.js (Elk, Phanpy) calls it."""
    who = await caller(request, "write:accounts")
    assert who.account is not None
    name = tag_name(request)
    async with writer(request) as session:
        if not any(t.name.lower() == name.lower() for t in await featured(session, who.account.id)):
            try:
                await feature(session, who.account.id, name)
            except FeatureError as exc:
                raise unprocessable(str(exc)) from exc
        tag = await tag_named(session, name)
    assert tag is not None
    return json_response(tag_entity(tag, state(request).urls, featuring=True))


async def unfeature_tag(request: Request) -> Response:
    """Stop featuring the hashtag (not featured: unchanged); an unknown hashtag is a 404."""
    who = await caller(request, "write:accounts")
    assert who.account is not None
    name = tag_name(request)
    async with writer(request) as session:
        tag = await tag_named(session, name)
        if tag is None:
            raise not_found()
        for t in await featured(session, who.account.id):
            if t.name.lower() == name.lower():
                await unfeature(session, who.account.id, t.id)
    return json_response(tag_entity(tag, state(request).urls, featuring=False))


async def suggested(request: Request) -> Response:
    """The caller's most used hashtags, not featured yet (Tag entities)."""
    who = await caller(request, "read:accounts")
    async with reader(request) as session:
        tags = await suggestions(session, who.token.account_id or 0)
    return json_response([tag_entity(t, state(request).urls) for t in tags])


async def of_account(request: Request) -> Response:
    """An account's featured hashtags, as its profile shows them (no token needed; remote
    accounts' are not read, so none)."""
    await optional_caller(request)  # a bad token is still a 401
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        tags = await featured(session, account.id) if account.domain == "" else []
    return json_response([_entity(t, account.username, state(request).urls) for t in tags])


routes: list[BaseRoute] = [
    Route("/api/v1/featured_tags", mine, methods=["GET"]),
    Route("/api/v1/featured_tags", create, methods=["POST"]),
    Route("/api/v1/featured_tags/suggestions", suggested, methods=["GET"]),
    Route("/api/v1/featured_tags/{id}", delete, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/featured_tags", of_account, methods=["GET"]),
    Route("/api/v1/tags/{name}/feature", feature_tag, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfeature", unfeature_tag, methods=["POST"]),
]
