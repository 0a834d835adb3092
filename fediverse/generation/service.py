"""The generation service the client API calls: requests queued in their own transaction,
and `/imagine` statuses posted pending, published by the worker once their image exists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fediverse.generation.requests import PUBLISH, Ask, request_generation, resolved
from fediverse.state import AppState
from models.tables import MediaAttachment, Status


async def start_generation(st: AppState, account_id: int, ask: Ask) -> MediaAttachment:
    """Queue an image for `account_id`; raises InvalidRequest, storing nothing."""
    ask = resolved(ask, st.settings.image_model)
    async with st.writer() as session:
        media = await request_generation(session, st.settings.image_model, account_id, ask)
        await session.commit()
    st.wake.set()
    return media


async def imagine(st: AppState, account_id: int, ask: Ask,
                  post: Callable[[], Awaitable[Status]]) -> Status:
    """Check the request, `post` the status pending, then queue its image, which publishes
    it. Raises InvalidRequest before anything is stored."""
    ask = resolved(ask, st.settings.image_model)
    status = await post()
    async with st.writer() as session:
        media = await request_generation(session, st.settings.image_model, account_id, ask,
                                         {"do": PUBLISH, "status_id": status.id})
        media.status_id = status.id  # shown on the status, processing, until it is ready
        session.add(media)
        await session.commit()
    st.wake.set()
    return status
