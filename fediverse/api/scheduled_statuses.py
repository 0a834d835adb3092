"""Mastodon API: statuses posted later. `POST /api/v1/statuses` with a `scheduled_at` five
minutes or more ahead keeps the status (checked as a status posted now is) and answers a
ScheduledStatus; `/api/v1/scheduled_statuses` lists, shows, moves and cancels them. At its
time a job posts it as the client would have (`publish_scheduled`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import window_of
from fediverse.api.auth import Caller, caller
from fediverse.api.entities import media_entity
from fediverse.api.errors import ApiError, not_found, unprocessable
from fediverse.api.params import Params, link_header, page_of, params
from fediverse.api.poll_form import PollForm
from fediverse.api.posting import StatusForm, create_status, usable_media, visible_parent
from fediverse.routes.common import json_response, state
from fediverse.state import AppState
from models.queue import PermanentJobError
from models.scheduled_statuses import (
    ScheduleError,
    is_due,
    own,
    reschedule,
    schedule,
    scheduled_page,
)
from models.tables import Account, Job, MediaAttachment, ScheduledStatus
from outbox.urls import Urls


def scheduled_time(p: Params) -> datetime | None:
    """`scheduled_at` when it is ahead (one in the past posts now, as Mastodon); 422 when
    it is not a time."""
    when = p.string("scheduled_at")
    if not when:
        return None
    try:
        at = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise unprocessable("Validation failed: scheduled_at is not a valid time") from None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at if at > datetime.now(UTC) else None


def _params(form: StatusForm, visibility: str) -> dict[str, Any]:
    """The form as Mastodon's ScheduledStatus `params` show it (ids as strings)."""
    poll = None
    if form.poll is not None:
        poll = {"options": form.poll.options, "expires_in": form.poll.expires_in,
                "multiple": form.poll.multiple, "hide_totals": form.poll.hide_totals}
    return {"text": form.text, "poll": poll,
            "media_ids": [str(i) for i in form.media_ids] if form.media_ids else None,
            "sensitive": form.sensitive, "spoiler_text": form.spoiler_text,
            "visibility": visibility,
            "in_reply_to_id": str(form.in_reply_to_id) if form.in_reply_to_id else None,
            "language": form.language}


def _form(kept: dict[str, Any]) -> StatusForm:
    poll = PollForm(**kept["poll"]) if kept.get("poll") else None
    reply = kept.get("in_reply_to_id")
    return StatusForm(text=kept.get("text") or "",
                      media_ids=[int(i) for i in kept.get("media_ids") or []],
                      in_reply_to_id=int(reply) if reply else None,
                      sensitive=kept.get("sensitive"), spoiler_text=kept.get("spoiler_text"),
                      visibility=kept.get("visibility"), language=kept.get("language"),
                      poll=poll)


def _entity(row: ScheduledStatus, media: dict[int, MediaAttachment], urls: Urls
            ) -> dict[str, Any]:
    kept = row.params
    at = row.scheduled_at if row.scheduled_at.tzinfo else row.scheduled_at.replace(tzinfo=UTC)
    return {"id": str(row.id),
            "scheduled_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "params": {**kept, "application_id": row.application_id, "scheduled_at": None,
                       "idempotency": None, "with_rate_limit": False},
            "media_attachments": [media_entity(media[int(i)], urls)
                                  for i in kept.get("media_ids") or [] if int(i) in media]}


async def _media_of(st: AppState, rows: list[ScheduledStatus]) -> dict[int, MediaAttachment]:
    ids = {int(i) for row in rows for i in row.params.get("media_ids") or []}
    if not ids:
        return {}
    async with st.sessions() as session:
        found = (await session.exec(select(MediaAttachment).where(
            col(MediaAttachment.id).in_(ids)))).all()
    return {m.id: m for m in found}


async def _answer(request: Request, rows: list[ScheduledStatus]) -> list[dict[str, Any]]:
    st = state(request)
    media = await _media_of(st, rows)
    return [_entity(row, media, st.urls) for row in rows]


async def schedule_status(request: Request, who: Caller, form: StatusForm, at: datetime
                          ) -> Response:
    """Keep `form` to post at `at`, after the checks a status posted now gets."""
    st, account = state(request), who.account
    assert account is not None
    async with st.writer() as session:
        await visible_parent(session, account, form)
        await usable_media(session, account, form.media_ids or [])
        try:
            row = await schedule(session, account.id, at,
                                 _params(form, form.visibility or account.default_privacy),
                                 who.app.id if who.app else None)
        except ScheduleError as exc:
            raise unprocessable(str(exc)) from exc
        await session.commit()
    return json_response((await _answer(request, [row]))[0])


async def _mine(request: Request, scope: str) -> tuple[int, int]:
    """The caller's account id and the id in the path (404 when it is no id)."""
    who = await caller(request, scope)
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 19:
        raise not_found()
    return who.token.account_id or 0, int(raw)


async def _row(session: AsyncSession, account_id: int, scheduled_id: int) -> ScheduledStatus:
    row = await own(session, account_id, scheduled_id)
    if row is None:  # or another's
        raise not_found()
    return row


async def listed(request: Request) -> Response:
    who = await caller(request, "read:statuses")
    page = page_of(await params(request), default=20, maximum=40)
    async with state(request).sessions() as session:
        rows = await scheduled_page(session, who.token.account_id or 0, window_of(page))
    return json_response(await _answer(request, rows),
                         headers=link_header(request, [r.id for r in rows], page))


async def shown(request: Request) -> Response:
    account_id, scheduled_id = await _mine(request, "read:statuses")
    async with state(request).sessions() as session:
        row = await _row(session, account_id, scheduled_id)
    return json_response((await _answer(request, [row]))[0])


async def moved(request: Request) -> Response:
    account_id, scheduled_id = await _mine(request, "write:statuses")
    at = scheduled_time(await params(request))
    async with state(request).writer() as session:
        row = await _row(session, account_id, scheduled_id)
        try:
            if at is None:  # none, or past
                raise ScheduleError("Validation failed: Scheduled at The scheduled date must "
                                    "be in the future")
            await reschedule(session, row, at)
        except ScheduleError as exc:
            raise unprocessable(str(exc)) from exc
        await session.commit()
    return json_response((await _answer(request, [row]))[0])


async def cancelled(request: Request) -> Response:
    account_id, scheduled_id = await _mine(request, "write:statuses")
    async with state(request).writer() as session:
        await session.delete(await _row(session, account_id, scheduled_id))
        await session.commit()
    return json_response({})


async def _forget(st: AppState, scheduled_id: int) -> None:
    async with st.writer() as session:
        row = await session.get(ScheduledStatus, scheduled_id)
        if row is not None:
            await session.delete(row)
        await session.commit()


async def publish_scheduled(st: AppState, scheduled_id: int) -> None:
    """Post a scheduled status that is due, as its author would have; posting it twice
    (a retry after a crash) finds the first by its idempotency key."""
    async with st.sessions() as session:
        row = await session.get(ScheduledStatus, scheduled_id)
        account = await session.get(Account, row.account_id) if row is not None else None
    if row is None or account is None or not is_due(row):
        return  # cancelled, or moved later (that time's job posts it)
    try:
        await create_status(st, account, _form(row.params), f"scheduled:{row.id}",
                            application_id=row.application_id)
    except ApiError as exc:  # its parent or media went meanwhile: as Mastodon, it is dropped
        await _forget(st, scheduled_id)
        raise PermanentJobError(f"scheduled status {scheduled_id} not posted: {exc.message}"
                                ) from exc
    await _forget(st, scheduled_id)


def scheduled_handlers(st: AppState) -> dict[str, Any]:
    """The delivery queue's job that posts scheduled statuses (`fediverse.workers`)."""
    from models.scheduled_statuses import KIND

    async def on_publish(payload: dict[str, Any], job: Job) -> None:
        await publish_scheduled(st, int(payload["scheduled_id"]))

    return {KIND: on_publish}


routes: list[BaseRoute] = [
    Route("/api/v1/scheduled_statuses", listed, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", shown, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", moved, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{id}", cancelled, methods=["DELETE"]),
]
