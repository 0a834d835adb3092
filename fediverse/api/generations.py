"""Mastodon API extension: `POST /api/v1/generations`, an image rendered from a prompt with
Mastodon's asynchronous media semantics (202, `url` null until `GET /api/v1/media/:id` says
200); its id then goes into `media_ids` like an upload's. Over a generation limit: 429."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller
from fediverse.api.entities import media_entity
from fediverse.api.errors import ApiError, unprocessable
from fediverse.api.params import Params, params
from fediverse.generation.limits import LimitReached
from fediverse.generation.requests import Ask
from fediverse.generation.service import start_generation
from fediverse.imaging import InvalidRequest
from fediverse.routes.common import json_response, state

SCOPE = "write:media"
TEXT_LIMIT = 5000  # longer than any valid prompt: the pipeline's checks say what is wrong


def ask_from_params(p: Params) -> Ask:
    """The request's prompt and settings; 422 for what is not text or a number."""
    return Ask(prompt=p.string("prompt", "", max_length=TEXT_LIMIT) or "",
               negative_prompt=p.string("negative_prompt", max_length=TEXT_LIMIT) or None,
               seed=p.integer("seed"), steps=p.integer("steps"), width=p.integer("width"),
               height=p.integer("height"))


def refusal(exc: InvalidRequest) -> ApiError:
    """429 for a request over a generation limit (with `Retry-After` and the limit in
    Mastodon's `X-RateLimit-*` headers), 422 for one the model cannot make."""
    if isinstance(exc, LimitReached):
        reset = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
        return ApiError(429, f"Too many requests: {exc.reason}", headers={
            "Retry-After": str(exc.retry_after), "X-RateLimit-Limit": str(exc.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")})
    return unprocessable(f"Validation failed: {exc.reason}")


async def create(request: Request) -> Response:
    who = await caller(request, SCOPE)
    assert who.account is not None
    ask = ask_from_params(await params(request))
    try:
        media = await start_generation(state(request), who.account.id, ask)
    except InvalidRequest as exc:
        raise refusal(exc) from exc
    return json_response(media_entity(media, state(request).urls), status=202)


routes: list[BaseRoute] = [
    Route("/api/v1/generations", create, methods=["POST"]),
]
