"""Mastodon API: direct conversations (list, mark read, remove); see `models.conversations`."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import parse_id, window_of, writer
from fediverse.api.auth import caller
from fediverse.api.entities import account_entity, page_entities
from fediverse.api.errors import not_found
from fediverse.api.params import link_header, page_of, params
from fediverse.routes.common import json_response, state
from models import conversations as stored
from models.conversations import Conversation
from models.reads import read, read_in
from models.related import load_page
from models.tables import Status
from outbox.urls import Urls


def entities(conn: sa.Connection, urls: Urls, me: int, found: list[Conversation]
             ) -> list[dict[str, Any]]:
    """Conversation entities: the others taking part in the last status (its author and
    whom it mentions), and that status; a few queries for the whole page."""
    if not found:
        return []
    statuses = Status.__table__  # type: ignore[attr-defined]
    rows = conn.execute(sa.select(statuses).where(
        statuses.c.id.in_([c.last_status_id for c in found]))).all()
    by_id = {row.id: row for row in rows}
    shown = [by_id[c.last_status_id] for c in found]
    related = load_page(conn, shown, me)
    rendered = page_entities(shown, related, urls)
    result = []
    for c, status, entity in zip(found, shown, rendered, strict=True):
        others: dict[int, Any] = {}
        author = related.accounts.get(status.account_id)
        for account in ([author] if author is not None else []) + list(
                related.mentions.get(status.id, [])):
            if account.id != me:
                others.setdefault(account.id, account)
        result.append({"id": str(c.id), "unread": c.unread,
                       "accounts": [account_entity(a, urls) for a in others.values()],
                       "last_status": entity})
    return result


async def stream_payload(session: AsyncSession, urls: Urls, me: int, status_id: int
                         ) -> str | None:
    """The `conversation` event of the `direct` stream for a new or edited status: the
    conversation's entity when the status is one of `me`'s shown conversations."""
    found = await stored.conversation_of_status(session, me, status_id)
    if found is None:
        return None
    body = await read_in(session, lambda conn: entities(conn, urls, me, [found]))
    return orjson.dumps(body[0]).decode()


async def index(request: Request) -> Response:
    who = await caller(request, "read:statuses")
    page = page_of(await params(request))
    me = who.token.account_id or 0
    st = state(request)

    def work(conn: sa.Connection) -> tuple[list[Conversation], list[dict[str, Any]]]:
        found = stored.page(conn, me, window_of(page))
        return found, entities(conn, st.urls, me, found)

    found, body = await read(st.engine, work)
    return json_response(body, headers=link_header(
        request, [c.last_status_id for c in found], page))


async def _mark(request: Request, *, hide: bool) -> tuple[int, Conversation]:
    who = await caller(request, "write:conversations")
    me = who.token.account_id or 0
    conversation_id = parse_id(request.path_params["id"])
    async with writer(request) as session:
        found = await stored.conversation(session, me, conversation_id)
        if found is None:
            raise not_found()
        await stored.mark(session, me, found, hide=hide)
        await session.commit()
    return me, found


async def mark_read(request: Request) -> Response:
    me, found = await _mark(request, hide=False)
    read_now = Conversation(found.id, found.key, found.last_status_id, unread=False)
    st = state(request)
    body = await read(st.engine, lambda conn: entities(conn, st.urls, me, [read_now]))
    return json_response(body[0])


async def remove(request: Request) -> Response:
    await _mark(request, hide=True)
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/conversations", index, methods=["GET"]),
    Route("/api/v1/conversations/{id}/read", mark_read, methods=["POST"]),
    Route("/api/v1/conversations/{id}", remove, methods=["DELETE"]),
]
