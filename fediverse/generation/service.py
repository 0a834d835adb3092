"""The generation service the client API calls: requests queued in their own transaction,
and `/imagine` statuses posted pending, published by the worker once their image exists.
Everything that can refuse a request (its values, a remix without an image, the limits)
does before anything is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from fediverse.generation.limits import Asker, check_limits
from fediverse.generation.remix import image_to_remix, load_image
from fediverse.generation.requests import PUBLISH, Ask, request_generation, resolved
from fediverse.state import AppState
from models.status_queries import visible_status
from models.tables import Account, MediaAttachment, Status
from models.types import utcnow


async def start_generation(st: AppState, account_id: int, ask: Ask) -> MediaAttachment:
    """Queue an image for `account_id`; raises InvalidRequest (LimitReached over a limit),
    storing nothing."""
    ask = resolved(ask, st.settings.image_model)
    async with st.writer() as session:
        media = await request_generation(session, st.settings, account_id, ask)
        await session.commit()
    st.wake.set()
    return media


async def imagine(st: AppState, account_id: int, ask: Ask,
                  post: Callable[[], Awaitable[Status]], *,
                  in_reply_to_id: int | None = None) -> Status:
    """Check the request, `post` the status pending, then queue its image, which publishes
    it. A reply to a post the account can see remixes that post's image (read first).
    Raises InvalidRequest (LimitReached over a limit) before anything is stored."""
    if in_reply_to_id is not None:
        ask = dataclasses.replace(ask, source_media_id=await _remixed(st, account_id,
                                                                      in_reply_to_id))
    ask = resolved(ask, st.settings.image_model)
    async with st.writer() as session:  # refuse before posting; checked again below
        await check_limits(session, st.settings, Asker(account_id))
        await session.rollback()
    if ask.source_media_id is not None:  # an image that cannot be had is refused now
        await load_image(st, ask.source_media_id)
    status = await post()
    async with st.writer() as session:
        try:
            media = await request_generation(session, st.settings, account_id, ask,
                                             {"do": PUBLISH, "status_id": status.id},
                                             for_status=status.id)
        except Exception:  # another request took the last place meanwhile
            await session.rollback()
            await _withdraw(st, status.id)
            raise
        media.status_id = status.id  # shown on the status, processing, until it is ready
        session.add(media)
        await session.commit()
    st.wake.set()
    return status


async def _remixed(st: AppState, account_id: int, parent_id: int) -> int | None:
    """The image a `/imagine` reply remixes: the parent's first image (InvalidRequest if it
    has none); None when the parent is not one the account may see (posting says 404)."""
    async with st.sessions() as session:
        account = await session.get(Account, account_id)
        parent = await visible_status(session, parent_id, account)
        if parent is None:
            return None
        return await image_to_remix(session, parent)


async def _withdraw(st: AppState, status_id: int) -> None:
    """A pending status whose image was refused: gone, as if never posted (it never left)."""
    async with st.writer() as session:
        status = await session.get(Status, status_id)
        if status is not None and status.pending:
            status.deleted_at = utcnow()
            session.add(status)
            await session.commit()
