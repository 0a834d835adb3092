"""Mastodon API: statuses (`/api/v1/statuses`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api import interactions
from fediverse.api.auth import Caller, caller, optional_caller
from fediverse.api.entities import (
    Entity,
    account_entities,
    context_entity,
    media_entity,
    page_entities,
    status_edit_entity,
    status_entities,
    status_source_entity,
    status_with_source,
)
from fediverse.api.errors import forbidden, not_found, unprocessable
from fediverse.api.filtering import apply_filters, session_filters, viewer_filters
from fediverse.api.params import is_id, link_header, page_of, params
from fediverse.api.posting import create_status, editable, status_form, update_status
from fediverse.api.scheduled_statuses import schedule_status, scheduled_time
from fediverse.routes.common import json_response, state
from models.reads import read
from models.related import load_page, load_related
from models.status_queries import (
    Window,
    edits_of,
    favourited_by,
    media_by_id,
    own_status,
    reblogged_by,
    thread_of,
    visible_status,
)
from models.tables import Account, Status, StatusEdit


def status_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 20:
        raise not_found()
    return int(raw)


async def reader(request: Request, scope: str = "read:statuses") -> Account | None:
    """The signed-in viewer, if any (a token must carry `scope`)."""
    found = await optional_caller(request)
    if found is None:
        return None
    if not found.allows(scope):
        raise forbidden()
    return found.account


async def rendered(request: Request, statuses: Sequence[Status], viewer_id: int | None
                   ) -> list[Entity]:
    """Committed statuses as entities, read afresh in one go (`models.reads`), marked by the
    viewer's filters of the `thread` context (none left out: they were asked for)."""
    st = state(request)
    related, filters = await read(st.engine, lambda conn: (
        load_page(conn, statuses, viewer_id), viewer_filters(conn, viewer_id)))
    entities = page_entities(statuses, related, st.urls)
    return apply_filters(entities, filters, "thread", viewer_id, hide=False)


async def one(request: Request, status: Status, viewer_id: int | None) -> Response:
    return json_response((await rendered(request, [status], viewer_id))[0])


async def post_status(request: Request) -> Response:
    who = await caller(request, "write:statuses")
    p = await params(request)
    form = status_form(p)
    at = scheduled_time(p)
    if at is not None:
        return await schedule_status(request, who, form, at)
    key = request.headers.get("idempotency-key", "").strip()[:255] or None
    assert who.account is not None
    status, related = await create_status(state(request), who.account, form, key,
                                          application_id=who.app.id if who.app else None)
    if related is None:
        return await one(request, status, who.account.id)
    return json_response(page_entities([status], related, state(request).urls)[0])


MAX_IDS = 20


async def get_statuses(request: Request) -> Response:
    """Several statuses by `id[]` (Mastodon 4.3), in the order asked; the unknown and the
    invisible ones left out."""
    viewer = await reader(request)
    wanted = [str(v) for v in (await params(request)).getlist("id")]
    if len(wanted) > MAX_IDS:
        raise unprocessable(f"Validation failed: at most {MAX_IDS} ids at once")
    ids = list(dict.fromkeys(int(v) for v in wanted if is_id(v)))
    async with state(request).sessions() as session:
        found = [await visible_status(session, i, viewer) for i in ids]
    statuses = [s for s in found if s is not None]
    return json_response(await rendered(request, statuses, viewer.id if viewer else None))


async def get_status(request: Request) -> Response:
    viewer = await reader(request)
    async with state(request).sessions() as session:
        status = await visible_status(session, status_id(request), viewer)
    if status is None:
        raise not_found()
    return await one(request, status, viewer.id if viewer else None)


async def put_status(request: Request) -> Response:
    who = await caller(request, "write:statuses")
    assert who.account is not None
    sid = status_id(request)
    async with state(request).sessions() as session:  # 404 before the form's 422, as Mastodon
        if not editable(await session.get(Status, sid), who.account.id):
            raise not_found()
    form = status_form(await params(request))
    status = await update_status(state(request), who.account.id, sid, form)
    return await one(request, status, who.account.id)


async def delete_status(request: Request) -> Response:
    who = await caller(request, "write:statuses")
    assert who.account is not None
    status = await interactions.delete(state(request), who.account.id, status_id(request))
    async with state(request).sessions() as session:
        related = await load_related(session, [status], who.account.id)
    return json_response(status_with_source(status, related, state(request).urls))


async def _own(request: Request, scope: str) -> tuple[Caller, Status]:
    who = await caller(request, scope)
    assert who.account is not None
    async with state(request).sessions() as session:
        status = await own_status(session, status_id(request), who.account)
    if status is None:
        raise not_found()
    return who, status


async def source(request: Request) -> Response:
    _, status = await _own(request, "read:statuses")
    return json_response(status_source_entity(status))


async def history(request: Request) -> Response:
    """Every version of a status, oldest first, the current one last."""
    viewer = await reader(request)
    st = state(request)
    async with st.sessions() as session:
        status = await visible_status(session, status_id(request), viewer)
        if status is None:
            raise not_found()
        edits = await edits_of(session, status.id)
        related = await load_related(session, [status], None)
        media_rows = await media_by_id(session, [int(m["id"]) for e in edits for m in e.media
                                                 if m.get("id")])  # older remote edits kept none
        author = (await account_entities(session, st.urls, [related.accounts[status.account_id]]))[0]
    current = StatusEdit(status_id=status.id, content=status.content,
                         spoiler_text=status.spoiler_text, sensitive=status.sensitive)
    versions = [*edits, current]
    times = [status.created_at, *(e.created_at for e in edits)]
    entities = []
    for version, created in zip(versions, times, strict=True):
        version.created_at = created
        media = ([media_entity(m, st.urls) for m in related.media.get(status.id, [])]
                 if version is current else _past_media(version, media_rows, st.urls))
        entities.append(status_edit_entity(version, author, media))
    return json_response(entities)


def _past_media(edit: StatusEdit, rows: dict, urls: object) -> list[Entity]:  # type: ignore[type-arg]
    found = []
    for item in edit.media:
        row = rows.get(int(item["id"])) if item.get("id") else None
        if row is not None:
            entity = media_entity(row, urls)  # type: ignore[arg-type]
            entity["description"] = item.get("description") or None
            found.append(entity)
    return found


async def context(request: Request) -> Response:
    viewer = await reader(request)
    viewer_id = viewer.id if viewer else None
    async with state(request).sessions() as session:
        status = await visible_status(session, status_id(request), viewer)
        if status is None:
            raise not_found()
        ancestors, descendants = await thread_of(session, status, viewer_id)
        entities = await status_entities(session, state(request).urls,
                                         [*ancestors, *descendants], viewer_id)
        filters = await session_filters(session, viewer_id)
    return json_response(context_entity(
        apply_filters(entities[:len(ancestors)], filters, "thread", viewer_id),
        apply_filters(entities[len(ancestors):], filters, "thread", viewer_id)))


Action = Callable[..., Awaitable[Status]]


def _acting(scope: str, action: Action, **options: object) -> Callable[[Request], Awaitable[Response]]:
    """A route that runs `action(state, account id, status id, **options)` and answers the
    status it returns, as the caller now sees it."""
    async def route(request: Request) -> Response:
        who = await caller(request, scope)
        assert who.account is not None
        status = await action(state(request), who.account.id, status_id(request), **options)
        return await one(request, status, who.account.id)
    return route


async def reblog(request: Request) -> Response:
    who = await caller(request, "write:statuses")
    assert who.account is not None
    visibility = (await params(request)).string("visibility") or None
    boost = await interactions.reblog(state(request), who.account.id, status_id(request), visibility)
    return await one(request, boost, who.account.id)


def _accounts_of(query: Callable[..., Awaitable[list[tuple[int, Account]]]]
                 ) -> Callable[[Request], Awaitable[Response]]:
    """A route listing the accounts that favourited or boosted a status, paginated."""
    async def route(request: Request) -> Response:
        viewer = await reader(request)
        page = page_of(await params(request), default=40, maximum=80)
        window = Window(page.limit, page.max_id, page.since_id, page.min_id)
        async with state(request).sessions() as session:
            status = await visible_status(session, status_id(request), viewer)
            if status is None:
                raise not_found()
            rows = await query(session, status.id, window)
            entities = await account_entities(session, state(request).urls, [a for _, a in rows])
        return json_response(entities, headers=link_header(request, [i for i, _ in rows], page))
    return route


_ID = "/api/v1/statuses/{id}"

routes: list[BaseRoute] = [
    Route("/api/v1/statuses", post_status, methods=["POST"]),
    Route("/api/v1/statuses", get_statuses, methods=["GET"]),
    Route(_ID, get_status, methods=["GET"]),
    Route(_ID, put_status, methods=["PUT"]),
    Route(_ID, delete_status, methods=["DELETE"]),
    Route(_ID + "/source", source, methods=["GET"]),
    Route(_ID + "/history", history, methods=["GET"]),
    Route(_ID + "/context", context, methods=["GET"]),
    Route(_ID + "/favourite", _acting("write:favourites", interactions.favourite), methods=["POST"]),
    Route(_ID + "/unfavourite", _acting("write:favourites", interactions.favourite, undo=True),
          methods=["POST"]),
    Route(_ID + "/reblog", reblog, methods=["POST"]),
    Route(_ID + "/unreblog", _acting("write:statuses", interactions.unreblog), methods=["POST"]),
    Route(_ID + "/bookmark", _acting("write:bookmarks", interactions.bookmark), methods=["POST"]),
    Route(_ID + "/unbookmark", _acting("write:bookmarks", interactions.bookmark, undo=True),
          methods=["POST"]),
    Route(_ID + "/pin", _acting("write:accounts", interactions.pin), methods=["POST"]),
    Route(_ID + "/mute", _acting("write:mutes", interactions.mute), methods=["POST"]),
    Route(_ID + "/unmute", _acting("write:mutes", interactions.mute, undo=True),
          methods=["POST"]),
    Route(_ID + "/unpin", _acting("write:accounts", interactions.pin, undo=True), methods=["POST"]),
    Route(_ID + "/favourited_by", _accounts_of(favourited_by), methods=["GET"]),
    Route(_ID + "/reblogged_by", _accounts_of(reblogged_by), methods=["GET"]),
]
