"""Mastodon API: timelines (home, public, tag, list) and the bookmarks and favourites lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller, token_account
from fediverse.api.entities import page_json, status_entities
from fediverse.api.filtering import filtered_page_json, viewer_filters
from fediverse.api.lists import list_or_404
from fediverse.api.params import Page, Params, link_header, page_of, params
from fediverse.api.statuses import reader
from fediverse.routes.common import json_response, state
from models import timelines
from models.instance_blocks import server_blocks, silenced_domains
from models.reads import read
from models.related import Related, load_raw_page
from models.status_queries import Window
from models.tables import Status


def window_of(page: Page) -> Window:
    return Window(page.limit, page.max_id, page.since_id, page.min_id)


async def filter_of(request: Request, p: Params) -> timelines.PublicFilter:
    silenced = silenced_domains(await server_blocks(state(request).sessions).policies())
    return timelines.PublicFilter(local=bool(p.boolean("local")), remote=bool(p.boolean("remote")),
                                  only_media=bool(p.boolean("only_media")), silenced=silenced)


async def _answer(request: Request, statuses: list[Status], ids: list[int], page: Page,
                  viewer_id: int | None) -> Response:
    async with state(request).sessions() as session:
        entities = await status_entities(session, state(request).urls, statuses, viewer_id)
    return json_response(entities, headers=link_header(request, ids, page))


Rows = Callable[[sa.Connection], list[Any]]
Loaded = Callable[[sa.Connection], tuple[list[Any], Related]]


def _with_related(rows: Rows, viewer_id: int | None) -> Loaded:
    """The rows of `rows` and all they show (`load_raw_page`)."""
    def loaded(conn: sa.Connection) -> tuple[list[Any], Related]:
        found = rows(conn)
        return found, load_raw_page(conn, found, viewer_id)
    return loaded


async def _timeline(request: Request, loaded: Loaded, page: Page, viewer_id: int | None,
                    context: str = "public", generic_plans: bool = False) -> Response:
    """The page's statuses and all they show, read in one go (`models.reads`), as entities,
    with the viewer's filters of `context` applied (`fediverse.api.filtering`)."""
    def work(conn: sa.Connection) -> tuple[list[Any], Related, tuple[Any, ...]]:
        return *loaded(conn), viewer_filters(conn, viewer_id)

    st = state(request)
    statuses, related, filters = await read(st.engine, work, generic_plans=generic_plans)
    body = None
    if filters:  # rendered afresh from processed rows (the rows may be the driver's raw ones)
        fresh = related.processed()
        body = filtered_page_json([fresh.statuses.get(s.id, s) for s in statuses], fresh,
                                  st.urls, filters, context, viewer_id)
    return Response(body or page_json(statuses, related, st.urls), media_type="application/json",
                    headers=link_header(request, [s.id for s in statuses], page))


async def home(request: Request) -> Response:
    viewer = await token_account(request, "read:statuses")
    page = page_of(await params(request))
    return await _timeline(request, lambda conn: timelines.home_page(
        conn, viewer, window_of(page)), page, viewer, "home", generic_plans=True)


async def public(request: Request) -> Response:
    viewer = await reader(request)
    p = await params(request)
    page, viewer_id, where = page_of(p), (viewer.id if viewer else None), await filter_of(request, p)
    return await _timeline(request, _with_related(lambda conn: timelines.public_rows(
        conn, viewer_id, where, window_of(page)), viewer_id), page, viewer_id)


async def tag(request: Request) -> Response:
    viewer = await reader(request)
    p = await params(request)
    page, viewer_id, where = page_of(p), (viewer.id if viewer else None), await filter_of(request, p)
    name = request.path_params["hashtag"].lstrip("#")
    return await _timeline(request, _with_related(lambda conn: timelines.tagged_rows(
        conn, name, viewer_id, where, window_of(page)), viewer_id), page, viewer_id)


async def list_timeline(request: Request) -> Response:
    """A list's timeline (its owner's only), filtered as the home timeline is."""
    viewer = await token_account(request, "read:lists")
    page = page_of(await params(request))
    async with state(request).sessions() as session:
        found = await list_or_404(session, viewer, request.path_params["list_id"])
    return await _timeline(request, _with_related(lambda conn: timelines.list_rows(
        conn, found, window_of(page)), viewer), page, viewer, "home")


Listing = Callable[..., Awaitable[list[tuple[int, Status]]]]


def _saved(scope: str, listing: Listing) -> Callable[[Request], Awaitable[Response]]:
    """Bookmarks or favourites: paginated by the bookmark's or favourite's own id."""
    async def route(request: Request) -> Response:
        who = await caller(request, scope)
        assert who.account is not None
        page = page_of(await params(request))
        async with state(request).sessions() as session:
            rows = await listing(session, who.account.id, window_of(page))
        return await _answer(request, [s for _, s in rows], [i for i, _ in rows], page,
                             who.account.id)
    return route


routes: list[BaseRoute] = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", tag, methods=["GET"]),
    Route("/api/v1/timelines/list/{list_id}", list_timeline, methods=["GET"]),
    Route("/api/v1/bookmarks", _saved("read:bookmarks", timelines.bookmarks), methods=["GET"]),
    Route("/api/v1/favourites", _saved("read:favourites", timelines.favourites), methods=["GET"]),
]
