"""Mastodon admin API: reports for the moderators (list, one, resolve, reopen). Only admin
accounts, with the `admin:read:reports` / `admin:write:reports` scopes."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import parse_id, reader, window_of, writer
from fediverse.api.auth import admin
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import Params, is_id, link_header, page_of, params
from fediverse.api.report_entities import admin_report_entities
from fediverse.routes.common import json_response, state
from models import reports as stored
from models.reports import ReportFilter
from models.tables import Report


def _account(p: Params, name: str) -> int | None:
    value = p.string(name)
    if value is None:
        return None
    if not is_id(value):
        raise unprocessable(f"Validation failed: {name} must be an id")
    return int(value)


async def index(request: Request) -> Response:
    who = await admin(request, "admin:read:reports")
    p = await params(request)
    resolved = bool(p.boolean("resolved", False))
    both = resolved and bool(p.boolean("unresolved", False))  # as Mastodon.py asks for all
    wanted = ReportFilter(resolved=None if both else resolved,
                          account_id=_account(p, "account_id"),
                          target_account_id=_account(p, "target_account_id"))
    page = page_of(p, default=100, maximum=200)
    async with reader(request) as session:
        rows = await stored.reports_page(session, wanted, window_of(page))
        found = await admin_report_entities(session, state(request).urls, rows,
                                            who.token.account_id or 0)
    return json_response(found, headers=link_header(request, [r.id for r in rows], page))


async def _one(request: Request, session: AsyncSession) -> Report:
    report = await session.get(Report, parse_id(request.path_params["id"]))
    if report is None:
        raise not_found()
    return report


async def show(request: Request) -> Response:
    who = await admin(request, "admin:read:reports")
    async with reader(request) as session:
        report = await _one(request, session)
        found = await admin_report_entities(session, state(request).urls, [report],
                                            who.token.account_id or 0)
    if not found:
        raise not_found()
    return json_response(found[0])


async def _change(request: Request, resolve: bool) -> Response:
    who = await admin(request, "admin:write:reports")
    assert who.account is not None
    async with writer(request) as session:
        report = await _one(request, session)
        if resolve:
            stored.resolve(report, who.account)
        else:
            stored.reopen(report)
        session.add(report)
        await session.commit()
        found = await admin_report_entities(session, state(request).urls, [report],
                                            who.account.id)
    if not found:
        raise not_found()
    return json_response(found[0])


async def resolve(request: Request) -> Response:
    return await _change(request, True)


async def reopen(request: Request) -> Response:
    return await _change(request, False)


routes: list[BaseRoute] = [
    Route("/api/v1/admin/reports", index, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", show, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}/resolve", resolve, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/reopen", reopen, methods=["POST"]),
]
