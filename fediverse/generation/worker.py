"""The "generate" queue's handlers: render jobs in batches (one pipeline call per shape),
and mentions of generator accounts turned into render jobs (or a reply saying why not)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fediverse.generation.follow_up import after_render, prompt_of, reply
from fediverse.generation.render import Rendered, render_asks, shape_of
from fediverse.generation.requests import REPLY, Ask, ask_of, request_generation, resolved
from fediverse.imaging import InvalidRequest
from fediverse.media.storage import remove_files
from fediverse.media.uploads import fill
from fediverse.state import AppState
from models.generation_jobs import MENTION, RENDER
from models.queue import BatchHandler, Finish, Handler, PermanentJobError
from models.tables import Account, Job, MediaAttachment, Status

log = logging.getLogger(__name__)
BATCH_SIZE = 16  # the pipeline's largest batch


def make_generation_handlers(st: AppState) -> dict[str, Handler]:
    async def on_mention(payload: dict[str, Any], job: Job) -> None:
        await answer_mention(st, int(payload["status_id"]), int(payload["generator_id"]))

    return {MENTION: on_mention}


def make_generation_batches(st: AppState) -> dict[str, BatchHandler]:
    async def on_render(jobs: list[Job], finish: Finish) -> dict[int, Exception]:
        return await render_jobs(st, jobs, finish)

    return {RENDER: on_render}


async def render_jobs(st: AppState, jobs: list[Job], finish: Finish) -> dict[int, Exception]:
    """Render claimed jobs, grouped by shape; the exception of each job that failed."""
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        groups.setdefault(shape_of(ask_of(job.payload)), []).append(job)
    failures: dict[int, Exception] = {}
    for group in groups.values():
        failures |= await _render_group(st, group, finish)
    return failures


async def _render_group(st: AppState, jobs: list[Job], finish: Finish) -> dict[int, Exception]:
    settings = st.settings
    try:
        results = await asyncio.to_thread(render_asks, settings.image_model, settings.device,
                                          settings.media_dir, [ask_of(j.payload) for j in jobs])
    except InvalidRequest as exc:
        await _mark_failed(st, jobs)
        return {job.id: PermanentJobError(exc.reason) for job in jobs}
    except Exception as exc:
        await _mark_failed(st, [job for job in jobs if job.attempts >= job.max_attempts])
        return {job.id: exc for job in jobs}
    failures: dict[int, Exception] = {}
    for job, result in zip(jobs, results, strict=True):
        try:
            await _finish_job(st, job, result, finish)
        except Exception as exc:  # the image is kept for the next attempt's own files
            remove_files(settings.media_dir, result.files.original, result.files.small)
            failures[job.id] = exc
    return failures


async def _finish_job(st: AppState, job: Job, result: Rendered, finish: Finish) -> None:
    """Make the media ready, mark the job done and do what was asked, in one transaction."""
    async with st.writer() as session:
        media = await session.get(MediaAttachment, int(job.payload["media_id"]))
        await finish(session, [job.id])
        if media is None:  # the request was deleted meanwhile
            await session.commit()
            remove_files(st.settings.media_dir, result.files.original, result.files.small)
            return
        fill(media, result.processed, result.files)
        session.add(media)
        await after_render(st.federation, session, media, job.payload.get("then") or {})


async def _mark_failed(st: AppState, jobs: list[Job]) -> None:
    if not jobs:
        return
    async with st.writer() as session:
        for job in jobs:
            media = await session.get(MediaAttachment, int(job.payload["media_id"]))
            if media is not None and media.state == "processing":
                media.state = "failed"
                session.add(media)
        await session.commit()


async def answer_mention(st: AppState, status_id: int, generator_id: int) -> None:
    """Queue the image a mention asks for, or reply saying why it cannot be made."""
    async with st.writer() as session:
        asked = await session.get(Status, status_id)
        generator = await session.get(Account, generator_id)
        if asked is None or generator is None or asked.deleted_at is not None:
            return
        then = {"do": REPLY, "status_id": asked.id, "generator_id": generator.id}
        try:
            ask = resolved(Ask(prompt=prompt_of(asked)), st.settings.image_model)
        except InvalidRequest as exc:
            await reply(st.federation, session, generator, asked,
                        text=f"I could not make that image: {exc.reason}.")
            return
        await request_generation(session, st.settings.image_model, generator.id, ask, then)
        await session.commit()
    st.wake.set()
