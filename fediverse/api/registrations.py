"""`POST /api/v1/accounts`: signing up from an app, where the instance's registrations are
open (`FEDIVERSE_OPEN_REGISTRATIONS`), as Mastodon's: an app's token asks, the answer is a
token for the new account, with the asking token's scopes. This server sends no email: the
account may post at once. Each IP may try a few times in five minutes (`ratelimit`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller
from fediverse.api.errors import ApiError
from fediverse.api.oauth_grants import issue_token
from fediverse.api.params import params
from fediverse.routes.common import json_response, state
from models.accounts import AccountError, create_account
from models.tokens import create_token

_FIELDS = ("username", "email", "password")
PASSWORD_MAX = 128  # characters; longer is refused before it is hashed


class _Invalid(ApiError):
    """422 with Mastodon's `details`: for each field, what is wrong with it."""

    def __init__(self, field: str, code: str, description: str) -> None:
        super().__init__(422, f"Validation failed: {field.capitalize()} {description}")
        self.details = {field: [{"error": code, "description": description}]}


async def register(request: Request) -> Response:
    who = await caller(request, "write:accounts", user=False)
    st = state(request)
    if not st.settings.open_registrations:
        raise ApiError(403, "This action is not allowed")
    p = await params(request)
    values: dict[str, Any] = {}
    for field in _FIELDS:
        value = p.string(field)
        if not value or not value.strip():
            return _refused(_Invalid(field, "ERR_BLANK", "can't be blank"))
        values[field] = value.strip() if field != "password" else value
    if len(values["password"]) > PASSWORD_MAX:
        return _refused(_Invalid("password", "ERR_TOO_LONG", "is too long"))
    if len(values["email"]) > 320:
        return _refused(_Invalid("email", "ERR_INVALID", "is invalid"))
    if not p.boolean("agreement"):
        return _refused(_Invalid("agreement", "ERR_ACCEPTED", "must be accepted"))
    async with st.writer() as session:
        try:
            account = await create_account(session, values["username"],
                                           password=values["password"], email=values["email"])
        except AccountError as exc:
            return _refused(_invalid(str(exc)))
        if who.app is not None:
            answer = (await issue_token(session, who.app, account, who.token.scopes)).response()
        else:  # a token made on the command line: no app to issue through
            token = await create_token(session, account, who.token.scopes)
            answer = {"access_token": token, "token_type": "Bearer",
                      "scope": who.token.scopes, "created_at": int(account.created_at.timestamp())}
        await session.commit()
    return json_response(answer)


def _invalid(problem: str) -> _Invalid:
    """What `models.accounts.create_account` refused, as the field it is about."""
    if problem.startswith("password"):
        return _Invalid("password", "ERR_TOO_SHORT", "is too short")
    if "email" in problem:
        code = "ERR_TAKEN" if "in use" in problem or "taken" in problem else "ERR_INVALID"
        return _Invalid("email", code, "is taken" if code == "ERR_TAKEN" else "is invalid")
    if "taken" in problem:
        return _Invalid("username", "ERR_TAKEN", "is taken")
    if "reserved" in problem:
        return _Invalid("username", "ERR_RESERVED", "is reserved")
    if "longer" in problem:
        return _Invalid("username", "ERR_TOO_LONG", "is too long")
    return _Invalid("username", "ERR_INVALID", "is invalid")


def _refused(error: _Invalid) -> Response:
    return json_response({"error": error.message, "details": error.details}, status=422)


routes: list[BaseRoute] = [Route("/api/v1/accounts", register, methods=["POST"])]
