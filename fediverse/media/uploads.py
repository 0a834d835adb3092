"""Media attachments made from uploads: checked before anything is stored, processed at once
or (large images, when the caller does not wait) just after answering, read and changed by
their owner until a status takes them.

A large upload answered before it is processed is kept on disk with a job (queue `media`)
that runs only after `RESCUE_AFTER`: this process processes it at once and takes the job
back; if the process dies first, a worker (of the restarted server, or any other) does it
(`fediverse.media.jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.media.processing import Decoded, Processed, decode, focus_meta, meta_of, render
from fediverse.media.storage import StoredFiles, remove_files, write_file, write_files
from models.queue import enqueue
from models.tables import Job, MediaAttachment
from models.types import utcnow

log = logging.getLogger(__name__)

INLINE_PIXELS = 4_000_000  # a larger upload that may be answered 202 is processed afterwards
DESCRIPTION_LIMIT = 1500  # Mastodon's, in characters
QUEUE, KIND = "media", "process"
UPLOADS = "uploads"  # under the data directory: large uploads waiting for processing
RESCUE_AFTER = timedelta(seconds=15)  # a job left this long was not taken back: its process died

# decoded images are large (a 33-megapixel RGBA one is 130 MB): two at a time per process
_DECODERS = threading.BoundedSemaphore(2)
_unfinished: set[asyncio.Task[None]] = set()  # background processing, kept from the collector
A = TypeVar("A")
T = TypeVar("T")


def uploads_dir(data_dir: Path) -> Path:
    return data_dir / UPLOADS


@dataclass(frozen=True)
class Upload:
    """What a client sent: the file's bytes, its alt text and focal point."""

    data: bytes
    description: str = ""
    focus: tuple[float, float] = (0.0, 0.0)


async def create_media(sessions: async_sessionmaker[AsyncSession], media_dir: Path,
                       account_id: int, upload: Upload, *, wait: bool = True,
                       uploads_dir: Path | None = None) -> MediaAttachment:
    """A new attachment of `account_id`'s, ready, or still processing when `wait` is false and
    the image is large (kept in `uploads_dir` until processed, so a crash loses nothing).
    Raises MediaError, having stored nothing, for an upload refused."""
    decoded = await _in_thread(decode, upload.data)
    row = MediaAttachment(account_id=account_id, type="image", description=upload.description,
                          focus_x=upload.focus[0], focus_y=upload.focus[1],
                          meta={"focus": focus_meta(upload.focus)}, state="processing")
    if wait or decoded.pixels <= INLINE_PIXELS or uploads_dir is None:
        processed = await _in_thread(render, decoded)
        files = await asyncio.to_thread(write_files, media_dir, processed)
        fill(row, processed, files)
        await _insert(sessions, media_dir, row, files)
        return row
    name = secrets.token_hex(16)
    await asyncio.to_thread(write_file, uploads_dir, name, upload.data)
    try:
        async with sessions() as session:
            session.add(row)
            await session.flush()
            job = await enqueue(session, QUEUE, KIND, {"media_id": row.id, "upload": name},
                                run_at=utcnow() + RESCUE_AFTER, max_attempts=5)
            await session.commit()
    except BaseException:
        remove_files(uploads_dir, name)
        raise
    assert job is not None
    task = asyncio.create_task(_finish(sessions, media_dir, uploads_dir, row.id, job.id,
                                       name, decoded))
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


async def _take_back(session: AsyncSession, job_id: int) -> bool:
    """Mark our rescue job done before any worker claimed it; False if one did."""
    result = await session.exec(sa.update(Job).where(  # type: ignore[call-overload]
        Job.id == job_id, Job.state == "queued").values(state="done", finished_at=utcnow()))
    return bool(result.rowcount == 1)


async def _finish(sessions: async_sessionmaker[AsyncSession], media_dir: Path,
                  uploads_dir: Path, media_id: int, job_id: int, upload_name: str,
                  decoded: Decoded) -> None:
    """Process an accepted upload after the answer, unless a worker took it over; a failure
    leaves the row `failed`."""
    files: StoredFiles | None = None
    try:
        processed = await _in_thread(render, decoded)
        files = await asyncio.to_thread(write_files, media_dir, processed)
        async with sessions() as session:
            if not await _take_back(session, job_id):  # a worker has it: its result counts
                remove_files(media_dir, files.original, files.small)
                return
            row = await session.get(MediaAttachment, media_id)
            if row is None:  # deleted meanwhile
                remove_files(media_dir, files.original, files.small)
            else:
                fill(row, processed, files)
            await session.commit()
        remove_files(uploads_dir, upload_name)
    except Exception:
        log.exception("processing media %s failed", media_id)
        if files is not None:
            remove_files(media_dir, files.original, files.small)
        await _give_up(sessions, media_id, job_id, uploads_dir, upload_name)


async def _give_up(sessions: async_sessionmaker[AsyncSession], media_id: int, job_id: int,
                   uploads_dir: Path, upload_name: str) -> None:
    try:
        async with sessions() as session:
            if await _take_back(session, job_id):
                await mark_failed(session, media_id)
                await session.commit()
                remove_files(uploads_dir, upload_name)
    except Exception:
        log.exception("marking media %s failed", media_id)


async def mark_failed(session: AsyncSession, media_id: int) -> None:
    """Mark an attachment still processing as failed (the caller commits)."""
    row = await session.get(MediaAttachment, media_id)
    if row is not None and row.state == "processing":
        row.state = "failed"
        session.add(row)


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
