"""Mastodon API: reporting an account (and some of its posts) to the moderators, forwarded
to its server on request; the moderators' side lives in `admin_reports`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activitypub.errors import ActivityPubError
from activitypub.vocab import host_of
from fediverse.api import admin_reports
from fediverse.api.account_lookup import account_or_404, reader, writer
from fediverse.api.auth import caller
from fediverse.api.entities import account_entities
from fediverse.api.errors import unprocessable
from fediverse.api.params import Params, is_id, params
from fediverse.api.report_entities import report_entity
from fediverse.routes.common import json_response, state
from inbox.resolve import resolve_status
from models.reports import CATEGORIES, add_report
from models.status_queries import visible_status
from models.tables import Account, Report, Status
from outbox.reports import forward_report

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
MAX_STATUSES = 100
RULES: tuple[int, ...] = ()  # the instance's rules' ids: none (`/api/v1/instance/rules`)


@dataclass(frozen=True)
class ReportForm:
    account_id: int
    status_ids: list[int]
    comment: str
    category: str
    rule_ids: list[int]
    forward: bool
    forward_to_domains: list[str]


def _ids(p: Params, name: str, limit: int) -> list[int]:
    raw = [str(v).strip() for v in p.getlist(name) if str(v).strip()]
    if len(raw) > limit or not all(is_id(v) for v in raw):
        raise unprocessable(f"Validation failed: {name} must be at most {limit} ids")
    return list(dict.fromkeys(int(v) for v in raw))


def report_form(p: Params) -> ReportForm:
    """The parameters of `POST /api/v1/reports`, checked on their own (422)."""
    account_id = p.string("account_id")
    if not account_id:
        raise unprocessable("Validation failed: account_id is missing")
    if not is_id(account_id):
        raise unprocessable("Validation failed: account_id must be an id")
    rule_ids = _ids(p, "rule_ids", 100)
    category = p.string("category") or ("violation" if rule_ids else "other")
    if category not in CATEGORIES:
        raise unprocessable(f"Validation failed: category must be one of {', '.join(CATEGORIES)}")
    if any(r not in RULES for r in rule_ids):
        raise unprocessable("Validation failed: rule_ids must be rules of this instance")
    if category == "violation" and not rule_ids:
        raise unprocessable("Validation failed: a violation report names the rules it breaks")
    domains = [str(d).strip().lower() for d in p.getlist("forward_to_domains") if str(d).strip()]
    return ReportForm(
        account_id=int(account_id), status_ids=_ids(p, "status_ids", MAX_STATUSES),
        comment=p.string("comment", "", max_length=MAX_COMMENT) or "", category=category,
        rule_ids=rule_ids if category == "violation" else [],
        forward=bool(p.boolean("forward", False)), forward_to_domains=domains)


async def _statuses(session: AsyncSession, me: Account, target: Account, ids: list[int]
                    ) -> list[Status]:
    """The target's posts that the reporter can see, or 422."""
    found = []
    for status_id in ids:
        status = await visible_status(session, status_id, me)
        if status is None or status.account_id != target.id:
            raise unprocessable("Validation failed: status_ids must be posts of the reported "
                                "account that you can see")
        found.append(status)
    return found


async def _fetch_parents(request: Request, form: ReportForm) -> None:
    """Fetch and store the posts that reported posts reply to on the servers named in
    `forward_to_domains`, when not stored yet: their authors' inboxes get the report."""
    ctx = state(request).federation
    async with reader(request) as session:
        query = select(Status.in_reply_to_uri).where(
            col(Status.id).in_(form.status_ids), Status.account_id == form.account_id,
            col(Status.in_reply_to_id).is_(None),
            col(Status.in_reply_to_uri).is_not(None))
        parents = [u for u in (await session.exec(query)).all()
                   if u and host_of(u).lower() in form.forward_to_domains]
    for uri in parents:
        try:
            async with writer(request) as session:
                await resolve_status(ctx, session, uri)
                await session.commit()
        except ActivityPubError as exc:
            log.info("report: could not fetch %s: %s", uri, exc)


async def create(request: Request) -> Response:
    who = await caller(request, "write:reports")
    form = report_form(await params(request))
    ctx = state(request).federation
    if form.forward and form.forward_to_domains and form.status_ids:
        await _fetch_parents(request, form)
    async with writer(request) as session:
        me = who.account
        assert me is not None
        target = await account_or_404(session, form.account_id)
        if target.id == me.id:
            raise unprocessable("Validation failed: you cannot report yourself")
        statuses = await _statuses(session, me, target, form.status_ids)
        report = await add_report(session, Report(
            account_id=me.id, target_account_id=target.id, status_ids=[s.id for s in statuses],
            comment=form.comment, category=form.category, rule_ids=form.rule_ids or None,
            forwarded=form.forward and not target.local))
        if report.forwarded:
            await forward_report(ctx, session, report, target, statuses, form.forward_to_domains)
        shown = (await account_entities(session, state(request).urls, [target]))[0]
        await session.commit()
    ctx.wake.set()
    return json_response(report_entity(report, shown))


routes: list[BaseRoute] = [
    *(Route(path, create, methods=["POST"])  # Mastodon.py posts to the second
      for path in ("/api/v1/reports", "/api/v1/reports/")),
    *admin_reports.routes,
]
