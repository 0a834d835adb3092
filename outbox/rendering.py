"""A stored status with what hangs off it (mentions, tags, media, parent) as its `Note`."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, MediaAttachment, Mention, Status, StatusTag, Tag
from outbox.notes import status_to_note
from outbox.urls import Urls


async def mentioned_accounts(session: AsyncSession, status_id: int) -> list[Account]:
    query = (select(Account).join(Mention, Mention.account_id == Account.id)  # type: ignore[arg-type]
             .where(Mention.status_id == status_id).order_by(col(Mention.id)))
    return list((await session.exec(query)).all())


async def status_tags(session: AsyncSession, status_id: int) -> list[Tag]:
    query = (select(Tag).join(StatusTag, StatusTag.tag_id == Tag.id)  # type: ignore[arg-type]
             .where(StatusTag.status_id == status_id).order_by(col(StatusTag.id)))
    return list((await session.exec(query)).all())


async def status_media(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    query = select(MediaAttachment).where(MediaAttachment.status_id == status_id)
    return list((await session.exec(query)).all())


async def render_note(session: AsyncSession, status: Status, author: Account, urls: Urls,
                      domain: str) -> dict[str, Any]:
    """The status's `Note`, its related rows read from the database."""
    parent = (await session.get(Status, status.in_reply_to_id)) if status.in_reply_to_id else None
    return status_to_note(
        status, author, urls, mentions=await mentioned_accounts(session, status.id),
        tags=await status_tags(session, status.id), media=await status_media(session, status.id),
        in_reply_to=parent, domain=domain,
    )
