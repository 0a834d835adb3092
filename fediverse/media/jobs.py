"""The `media` queue: an upload whose process died before processing it, finished by a
worker from the copy kept on disk (`fediverse.media.uploads`; running it twice is harmless:
only an attachment still processing is filled in), and remote posts' images copied here
(`fediverse.media.remote`)."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from fediverse.media.errors import MediaError
from fediverse.media.processing import decode, render
from fediverse.media.remote import copy_remote_media, copy_remote_profile
from fediverse.media.storage import remove_files, write_files
from fediverse.media.uploads import KIND, fill, mark_failed, uploads_dir
from fediverse.state import AppState
from models.queue import PermanentJobError
from models.remote_media import KIND as REMOTE
from models.remote_media import PROFILE
from models.tables import Job, MediaAttachment


async def _still_processing(st: AppState, media_id: int) -> bool:
    async with st.sessions() as session:
        row = await session.get(MediaAttachment, media_id)
        return row is not None and row.state == "processing"


async def _fail(st: AppState, media_id: int, reason: str) -> NoReturn:
    async with st.writer() as session:
        await mark_failed(session, media_id)
        await session.commit()
    raise PermanentJobError(reason)


async def process_upload(st: AppState, media_id: int, upload_name: str, *,
                         last_try: bool = True) -> None:
    """Process a kept upload into its attachment, unless that is done (or gone) already.
    A copy missing here may be on another machine's disk: retried, failed on the last try."""
    folder = uploads_dir(st.settings.data_dir)
    if not await _still_processing(st, media_id):
        remove_files(folder, upload_name)
        return
    try:
        data = await asyncio.to_thread((folder / upload_name).read_bytes)
    except FileNotFoundError:
        if last_try:
            await _fail(st, media_id, "the kept upload is gone")
        raise
    try:
        processed = await asyncio.to_thread(lambda: render(decode(data)))
    except MediaError as exc:
        await _fail(st, media_id, exc.reason)
    media_dir = st.settings.media_dir
    files = await asyncio.to_thread(write_files, media_dir, processed)
    try:
        async with st.writer() as session:
            row = await session.get(MediaAttachment, media_id)
            if row is None or row.state != "processing":  # done or deleted meanwhile
                remove_files(media_dir, files.original, files.small)
            else:
                fill(row, processed, files)
                session.add(row)
            await session.commit()
    except BaseException:
        remove_files(media_dir, files.original, files.small)
        raise
    remove_files(folder, upload_name)


def make_media_handlers(st: AppState) -> dict[str, Any]:
    async def on_process(payload: dict[str, Any], job: Job) -> None:
        await process_upload(st, int(payload["media_id"]), str(payload["upload"]),
                             last_try=job.attempts >= job.max_attempts)

    async def on_remote(payload: dict[str, Any], job: Job) -> None:
        if st.settings.cache_remote_media:
            await copy_remote_media(st, int(payload["status_id"]),
                                    last_try=job.attempts >= job.max_attempts)

    async def on_remote_profile(payload: dict[str, Any], job: Job) -> None:
        if st.settings.cache_remote_media:
            await copy_remote_profile(st, int(payload["account_id"]),
                                      last_try=job.attempts >= job.max_attempts)

    return {KIND: on_process, REMOTE: on_remote, PROFILE: on_remote_profile}
