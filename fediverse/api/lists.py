"""Mastodon API: lists (create, read, rename, delete), their members, and the lists an
account is in; the lists' timelines live in `fediverse.api.timelines`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import (
    account_or_404,
    accounts_json,
    parse_id,
    reader,
    window_of,
    writer,
)
from fediverse.api.auth import Caller, caller
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import Params, is_id, link_header, page_of, params
from fediverse.routes.common import json_response
from models import lists as stored
from models.tables import List

TITLE_LENGTH = 255


def list_entity(found: List) -> dict[str, Any]:
    return {"id": str(found.id), "title": found.title, "replies_policy": found.replies_policy,
            "exclusive": found.exclusive}


async def list_or_404(session: AsyncSession, owner_id: int, raw: str) -> List:
    """The caller's list by the id in a path; another account's is not found."""
    found = await stored.find_list(session, owner_id, parse_id(raw))
    if found is None:
        raise not_found()
    return found


def _settings(p: Params, *, creating: bool) -> dict[str, Any]:
    """The list's fields the request sets; 422 for a bad one."""
    found: dict[str, Any] = {}
    title = p.string("title", max_length=TITLE_LENGTH)
    if title is not None or creating:
        if not (title or "").strip():
            raise unprocessable("Validation failed: Title can't be blank")
        found["title"] = (title or "").strip()
    policy = p.string("replies_policy")
    if policy is not None:
        if policy not in stored.REPLIES_POLICIES:
            raise unprocessable("Validation failed: Replies policy is not included in the list")
        found["replies_policy"] = policy
    exclusive = p.boolean("exclusive")
    if exclusive is not None:
        found["exclusive"] = exclusive
    return found


def _owner(who: Caller) -> int:
    assert who.account is not None  # `caller` lets only a user's token through
    return who.account.id


async def index(request: Request) -> Response:
    who = await caller(request, "read:lists")
    async with reader(request) as session:
        found = await stored.lists_of(session, _owner(who))
    return json_response([list_entity(f) for f in found])


async def show(request: Request) -> Response:
    who = await caller(request, "read:lists")
    async with reader(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
    return json_response(list_entity(found))


async def create(request: Request) -> Response:
    who = await caller(request, "write:lists")
    settings = _settings(await params(request), creating=True)
    async with writer(request) as session:
        if await stored.count_lists(session, _owner(who)) >= stored.MAX_LISTS:
            raise unprocessable(f"Validation failed: at most {stored.MAX_LISTS} lists")
        found = List(account_id=_owner(who), **settings)
        session.add(found)
        await session.commit()
        return json_response(list_entity(found))


async def update(request: Request) -> Response:
    who = await caller(request, "write:lists")
    p = await params(request)
    async with writer(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
        settings = _settings(p, creating=False)  # after the list: another's is a 404
        for name, value in settings.items():
            setattr(found, name, value)
        session.add(found)
        await session.commit()
        return json_response(list_entity(found))


async def delete(request: Request) -> Response:
    who = await caller(request, "write:lists")
    async with writer(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
        await session.delete(found)
        await session.commit()
    return json_response({})


async def members(request: Request) -> Response:
    """The list's accounts, newest member first; `limit=0`: all of them, unpaged."""
    who = await caller(request, "read:lists")
    p = await params(request)
    every = p.integer("limit", 40, minimum=0) == 0
    page = page_of(p, default=40, maximum=80)
    async with reader(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
        rows = await stored.members(session, found.id, None if every else window_of(page))
        body = await accounts_json(request, session, [a for _, a in rows])
    headers = {} if every else link_header(request, [i for i, _ in rows], page)
    return json_response(body, headers=headers)


def _account_ids(p: Params) -> list[int]:
    """The `account_ids[]` asked for; 422 for none, 404 for one that names nothing."""
    raw = [str(v) for v in p.getlist("account_ids")]
    if not raw:
        raise unprocessable("Validation failed: account_ids is missing")
    if not all(is_id(v) for v in raw):
        raise not_found()
    return [int(v) for v in raw]


async def add_members(request: Request) -> Response:
    who = await caller(request, "write:lists")
    p = await params(request)
    async with writer(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
        ids = _account_ids(p)
        try:
            await stored.add_members(session, found, ids)
            await session.commit()
        except stored.MembershipError as refused:
            raise (not_found() if refused.missing else unprocessable(refused.reason)) from None
        except IntegrityError:  # the same account added at once by another request
            raise unprocessable("Validation failed: Account has already been taken") from None
    return json_response({})


async def remove_members(request: Request) -> Response:
    who = await caller(request, "write:lists")
    p = await params(request)
    async with writer(request) as session:
        found = await list_or_404(session, _owner(who), request.path_params["id"])
        await stored.remove_members(session, found, _account_ids(p))
        await session.commit()
    return json_response({})


async def holding(request: Request) -> Response:
    """`GET /api/v1/accounts/:id/lists`: the caller's lists that hold the account."""
    who = await caller(request, "read:lists")
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        found = await stored.lists_holding(session, _owner(who), account.id)
    return json_response([list_entity(f) for f in found])


routes: list[BaseRoute] = [
    Route("/api/v1/lists", index, methods=["GET"]),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=["GET"]),
    Route("/api/v1/lists/{id}", update, methods=["PUT"]),
    Route("/api/v1/lists/{id}", delete, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", members, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_members, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_members, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", holding, methods=["GET"]),
]
