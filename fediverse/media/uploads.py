"""Media attachments made from uploads: checked before anything is stored, processed at once
or (large images, when the caller does not wait) just after answering, read and changed by
their owner until a status takes them."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.media.processing import Decoded, Processed, decode, focus_meta, meta_of, render
from fediverse.media.storage import StoredFiles, remove_files, write_files
from models.tables import MediaAttachment

log = logging.getLogger(__name__)

INLINE_PIXELS = 4_000_000  # a larger upload that may be answered 202 is processed afterwards
DESCRIPTION_LIMIT = 1500  # Mastodon's, in characters

# decoded images are large (a 33-megapixel RGBA one is 130 MB): two at a time per process
_DECODERS = threading.BoundedSemaphore(2)
_unfinished: set[asyncio.Task[None]] = set()  # background processing, kept from the collector
A = TypeVar("A")
T = TypeVar("T")


@dataclass(frozen=True)
class Upload:
    """What a client sent: the file's bytes, its alt text and focal point."""

    data: bytes
    description: str = ""
    focus: tuple[float, float] = (0.0, 0.0)


async def create_media(sessions: async_sessionmaker[AsyncSession], media_dir: Path,
                       account_id: int, upload: Upload, *, wait: bool = True) -> MediaAttachment:
    """A new attachment of `account_id`'s, ready, or still processing when `wait` is false and
    the image is large. Raises MediaError, having stored nothing, for an upload refused."""
    decoded = await _in_thread(decode, upload.data)
    row = MediaAttachment(account_id=account_id, type="image", description=upload.description,
                          focus_x=upload.focus[0], focus_y=upload.focus[1],
                          meta={"focus": focus_meta(upload.focus)}, state="processing")
    if wait or decoded.pixels <= INLINE_PIXELS:
        processed = await _in_thread(render, decoded)
        files = await asyncio.to_thread(write_files, media_dir, processed)
        fill(row, processed, files)
        await _insert(sessions, media_dir, row, files)
        return row
    await _insert(sessions, media_dir, row, None)
    task = asyncio.create_task(_finish(sessions, media_dir, row.id, decoded))
    _unfinished.add(task)
    task.add_done_callback(_unfinished.discard)
    return row


def fill(row: MediaAttachment, processed: Processed, files: StoredFiles) -> None:
    """Make a row ready, with its files, sizes and blurhash."""
    row.file_path, row.thumbnail_path = files.original, files.small
    row.mime_type = processed.mime_type
    row.width, row.height = processed.original.width, processed.original.height
    row.blurhash = processed.blurhash
    row.meta = meta_of(processed, (row.focus_x, row.focus_y))
    row.state = "ready"


async def _in_thread(function: Callable[[A], T], value: A) -> T:
    """Run image work in a thread, at most two at a time."""
    def guarded() -> T:
        with _DECODERS:
            return function(value)

    return await asyncio.to_thread(guarded)


async def _insert(sessions: async_sessionmaker[AsyncSession], media_dir: Path,
                  row: MediaAttachment, files: StoredFiles | None) -> None:
    try:
        async with sessions() as session:
            session.add(row)
            await session.commit()
    except BaseException:
        if files is not None:
            remove_files(media_dir, files.original, files.small)
        raise


async def _finish(sessions: async_sessionmaker[AsyncSession], media_dir: Path, media_id: int,
                  decoded: Decoded) -> None:
    """Process an accepted upload after the answer; a failure leaves the row `failed`."""
    files: StoredFiles | None = None
    try:
        processed = await _in_thread(render, decoded)
        files = await asyncio.to_thread(write_files, media_dir, processed)
        async with sessions() as session:
            row = await session.get(MediaAttachment, media_id)
            if row is None:  # deleted meanwhile
                remove_files(media_dir, files.original, files.small)
                return
            fill(row, processed, files)
            await session.commit()
    except Exception:
        log.exception("processing media %s failed", media_id)
        if files is not None:
            remove_files(media_dir, files.original, files.small)
        await _mark_failed(sessions, media_id)


async def _mark_failed(sessions: async_sessionmaker[AsyncSession], media_id: int) -> None:
    try:
        async with sessions() as session:
            row = await session.get(MediaAttachment, media_id)
            if row is not None:
                row.state = "failed"
                await session.commit()
    except Exception:
        log.exception("marking media %s failed", media_id)


async def wait_for_processing() -> None:
    """Let the background processing of this process end (shutdown, tests)."""
    while _unfinished:
        await asyncio.gather(*list(_unfinished), return_exceptions=True)


async def own_media(session: AsyncSession, account_id: int, media_id: int, *,
                    unattached: bool = True) -> MediaAttachment | None:
    """An attachment of `account_id`'s; with `unattached`, only while no status has it."""
    query = select(MediaAttachment).where(MediaAttachment.id == media_id,
                                          MediaAttachment.account_id == account_id)
    if unattached:
        query = query.where(MediaAttachment.status_id == None)  # noqa: E711
    return (await session.exec(query)).first()


def update_media(row: MediaAttachment, *, description: str | None = None,
                 focus: tuple[float, float] | None = None) -> None:
    """Change the alt text or the focal point of an attachment."""
    if description is not None:
        row.description = description
    if focus is not None:
        row.focus_x, row.focus_y = focus
        row.meta = {**(row.meta or {}), "focus": focus_meta(focus)}


async def delete_media(session: AsyncSession, media_dir: Path, row: MediaAttachment) -> None:
    """Delete an attachment and its files."""
    paths = (row.file_path, row.thumbnail_path)
    await session.delete(row)
    await session.commit()
    remove_files(media_dir, *paths)
