"""Errors the client API answers with: Mastodon's `{"error": "..."}` and a status code."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from fediverse.routes.common import json_response


class ApiError(Exception):
    """An answer other than success; `message` is safe to show to the client."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def unauthorized(message: str = "The access token is invalid") -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def forbidden(message: str = "This action is outside the authorized scopes") -> ApiError:
    return ApiError(403, message)


def not_found(message: str = "Record not found") -> ApiError:
    return ApiError(404, message)


def unprocessable(message: str) -> ApiError:
    return ApiError(422, message)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response({"error": exc.message}, status=exc.status, headers=exc.headers)
