"""Mastodon API: polls (`/api/v1/polls/:id`, its votes). A poll's id is its status's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller
from fediverse.api.entities import poll_entity
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import Params, params
from fediverse.api.posting import writer
from fediverse.api.statuses import reader, status_id
from fediverse.routes.common import json_response, state
from models import polls
from models.reads import read
from models.related import load_page
from models.status_queries import visible_status
from models.tables import Account, Status
from outbox import polls as poll_jobs


async def _answer(request: Request, status: Status, viewer_id: int | None) -> Response:
    """The poll as it is now committed, as `viewer_id` sees it."""
    related = await read(state(request).engine, lambda conn: load_page(conn, [status], viewer_id))
    return json_response(poll_entity(related.statuses.get(status.id, status), related.viewer))


async def show(request: Request) -> Response:
    viewer = await reader(request)
    async with state(request).sessions() as session:
        status = await visible_status(session, status_id(request), viewer)
    if status is None or not status.poll:
        raise not_found()
    return await _answer(request, status, viewer.id if viewer else None)


def _choices(p: Params, poll: polls.Poll) -> list[int]:
    raw = [str(v).strip() for v in p.getlist("choices")]
    if not raw or not all(v.isdigit() for v in raw):
        raise unprocessable("Validation failed: Choices must be option indexes")
    choices = sorted({int(v) for v in raw})
    if any(c >= len(poll.get("options") or []) for c in choices):
        raise unprocessable("Validation failed: Choices contains an option that does not exist")
    if len(choices) > 1 and not poll.get("multiple"):
        raise unprocessable("Validation failed: Only one choice is allowed in this poll")
    return choices


async def vote(request: Request) -> Response:
    who = await caller(request, "write:statuses")
    assert who.account is not None
    sid = status_id(request)
    p = await params(request)
    st = state(request)
    async with writer(st) as session:
        account = await session.get(Account, who.account.id)
        status = await visible_status(session, sid, account)
        if account is None or status is None or not status.poll:
            raise not_found()
        if polls.expired(status.poll):
            raise unprocessable("Validation failed: The poll has already ended")
        if status.account_id == account.id:
            raise unprocessable("Validation failed: You cannot vote in your own poll")
        await polls.lock(session, status.id)
        if await polls.votes_of(session, status.id, account.id):
            raise unprocessable("Validation failed: You have already voted on this poll")
        await poll_jobs.vote(st.federation, session, account, status, _choices(p, status.poll))
    return await _answer(request, status, who.account.id)


routes: list[BaseRoute] = [
    Route("/api/v1/polls/{id}", show, methods=["GET"]),
    Route("/api/v1/polls/{id}/votes", vote, methods=["POST"]),
]
