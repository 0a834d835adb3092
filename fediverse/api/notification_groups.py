"""Mastodon API v2: grouped notifications (`/api/v2/notifications`, one group, its accounts,
dismissing it, the unread count). Likes and boosts of one post, and follows, made within a
few hours of each other are one group; the page carries the accounts and statuses once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import reader, window_of, writer
from fediverse.api.auth import caller
from fediverse.api.entities import Entity, account_entities, iso, status_entities
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.filtering import apply_filters, session_filters
from fediverse.api.params import Params, link_header, page_of, params
from fediverse.api.report_entities import report_entities
from fediverse.api.unread import count_shown_groups, hides
from fediverse.routes.common import json_response, state
from models import notifications as stored
from models.notifications import GROUPED_TYPES, Group, NotificationFilter
from models.reports import reports_by_id
from models.tables import Account, Status

_EXPAND = ("full", "partial_avatars")
_PARTIAL = ("id", "acct", "url", "avatar", "avatar_static", "locked", "bot")


def _filter(p: Params) -> NotificationFilter:
    account_id = p.get("account_id")
    if account_id is not None and not str(account_id).isdigit():
        raise unprocessable("Validation failed: account_id must be an id")
    return NotificationFilter(
        types=[str(t) for t in p.getlist("types")],
        exclude_types=[str(t) for t in p.getlist("exclude_types")],
        from_account_id=int(account_id) if account_id is not None else None)


def _grouped(p: Params) -> tuple[str, ...]:
    """`grouped_types[]`: which types may group (default: all that do)."""
    if "grouped_types" not in p:
        return GROUPED_TYPES
    return tuple(str(t) for t in p.getlist("grouped_types") if str(t) in GROUPED_TYPES)


def group_entity(group: Group, *, paged: bool) -> Entity:
    entity: Entity = {
        "group_key": group.key, "notifications_count": group.count, "type": group.latest.type,
        "most_recent_notification_id": str(group.most_recent_id),
        "sample_account_ids": [str(i) for i in group.sample_account_ids],
        "status_id": str(group.latest.status_id) if group.latest.status_id else None,
    }
    if paged:
        entity |= {"page_min_id": str(group.page_min_id), "page_max_id": str(group.page_max_id),
                   "latest_page_notification_at": iso(group.latest.created_at)}
    return entity


async def _accounts(session: AsyncSession, request: Request, ids: Sequence[int]) -> list[Entity]:
    if not ids:
        return []
    rows = (await session.exec(select(Account).where(col(Account.id).in_(sorted(set(ids)))))).all()
    by_id = {a.id: a for a in rows}
    found = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    return await account_entities(session, state(request).urls, found)


async def _reports(session: AsyncSession, request: Request, groups: list[Group]
                   ) -> dict[int, Entity]:
    """The `Report`s of `admin.report` groups, by report id."""
    ids = {g.latest.report_id for g in groups if g.latest.report_id}
    if not ids:
        return {}
    found = await reports_by_id(session, ids)
    return await report_entities(session, state(request).urls, list(found.values()))


async def _results(session: AsyncSession, request: Request, groups: list[Group], viewer: int,
                   *, expand: str = "full", paged: bool = True) -> Entity:
    """The `GroupedNotificationsResults` of some groups: each account and status once."""
    status_ids = sorted({g.latest.status_id for g in groups if g.latest.status_id})
    statuses = list((await session.exec(select(Status).where(col(Status.id).in_(
        status_ids)))).all()) if status_ids else []
    shown = await status_entities(session, state(request).urls, statuses, viewer)
    shown = apply_filters(shown, await session_filters(session, viewer), "notifications", viewer)
    live = {int(s["id"]) for s in shown}
    groups = [g for g in groups if not g.latest.status_id or g.latest.status_id in live]
    reports = await _reports(session, request, groups)
    groups = [g for g in groups if not g.latest.report_id or g.latest.report_id in reports]
    answer: Entity = {"notification_groups": [group_entity(g, paged=paged) for g in groups],
                      "statuses": shown}
    for entity, g in zip(answer["notification_groups"], groups, strict=True):
        if g.latest.report_id:
            entity["report"] = reports[g.latest.report_id]
    everyone = [i for g in groups for i in g.sample_account_ids]
    if expand == "partial_avatars":
        leaders = [g.sample_account_ids[0] for g in groups if g.sample_account_ids]
        answer["accounts"] = await _accounts(session, request, leaders)
        rest = [i for i in everyone if i not in set(leaders)]
        answer["partial_accounts"] = [{k: a[k] for k in _PARTIAL}
                                      for a in await _accounts(session, request, rest)]
    else:
        answer["accounts"] = await _accounts(session, request, everyone)
    return answer


async def index(request: Request) -> Response:
    who = await caller(request, "read:notifications")
    p = await params(request)
    expand = p.string("expand_accounts") or "full"
    if expand not in _EXPAND:
        raise unprocessable("Validation failed: expand_accounts must be full or partial_avatars")
    wanted, page = _filter(p), page_of(p, default=40, maximum=80)
    me = who.token.account_id or 0
    async with reader(request) as session:
        groups = await stored.notification_groups(session, me, wanted, window_of(page),
                                                  _grouped(p))
        answer = await _results(session, request, groups, me, expand=expand)
    # the next page starts below every notification this one looked at, so no group repeats
    bounds = [i for g in groups for i in (g.page_min_id, g.page_max_id)]
    return json_response(answer, headers=link_header(request, bounds, page))


def _key(request: Request) -> str:
    return str(request.path_params["group_key"])


async def show(request: Request) -> Response:
    who = await caller(request, "read:notifications")
    me = who.token.account_id or 0
    async with reader(request) as session:
        group = await stored.one_group(session, me, _key(request))
        answer = await _results(session, request, [group], me, paged=False) if group else None
    if answer is None or not answer["notification_groups"]:
        raise not_found()
    return json_response(answer)


async def accounts(request: Request) -> Response:
    who = await caller(request, "read:notifications")
    me = who.token.account_id or 0
    async with reader(request) as session:
        ids = await stored.group_account_ids(session, me, _key(request))
        found = await _accounts(session, request, ids)
    if not found:
        raise not_found()
    return json_response(found)


async def dismiss(request: Request) -> Response:
    who = await caller(request, "write:notifications")
    async with writer(request) as session:
        if not await stored.dismiss_group(session, who.token.account_id or 0, _key(request)):
            raise not_found()
    return json_response({})


async def unread_count(request: Request) -> Response:
    """How many groups came after the `notifications` marker, up to `limit` (at most 1000)."""
    who = await caller(request, "read:notifications")
    p = await params(request)
    limit = min(p.integer("limit", 100, minimum=1) or 100, 1000)
    me = who.token.account_id or 0
    async with reader(request) as session:
        since_id, filters = await stored.read_up_to(session, me), await session_filters(session, me)
        if hides(filters):  # as the list: not the groups those filters leave out
            count = await count_shown_groups(session, state(request).urls, me, _filter(p),
                                             since_id=since_id, limit=limit,
                                             grouped=_grouped(p), filters=filters)
        else:
            count = await stored.count_groups(session, me, _filter(p), limit=limit,
                                              since_id=since_id, grouped=_grouped(p))
    return json_response({"count": count})


routes: list[BaseRoute] = [
    Route("/api/v2/notifications", index, methods=["GET"]),
    Route("/api/v2/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}", show, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/accounts", accounts, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/dismiss", dismiss, methods=["POST"]),
]
