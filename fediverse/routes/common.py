"""Small helpers shared by the routes."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from fediverse.state import AppState

ACTIVITY_JSON = "application/activity+json; charset=utf-8"
_AP_TYPES = ("application/activity+json", "application/ld+json")


def state(request: Request) -> AppState:
    return request.app.state.fv  # type: ignore[no-any-return]


def json_response(data: object, *, status: int = 200, media_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=media_type, headers=headers)


def activity_response(data: object, *, status: int = 200) -> Response:
    return json_response(data, status=status, media_type=ACTIVITY_JSON, headers={"Vary": "Accept"})


def error(status: int, reason: str) -> Response:
    """Mastodon's error body: {"error": "..."}."""
    return json_response({"error": reason}, status=status)


def wants_activity_json(request: Request) -> bool:
    """True when the client asks for ActivityStreams rather than a web page."""
    accept = request.headers.get("accept", "").lower()
    return any(t in accept for t in _AP_TYPES)
