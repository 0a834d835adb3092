"""The "generate" queue's handlers: render jobs in batches (one pipeline call per shape),
and mentions of generator accounts turned into render jobs (or a reply saying why not).
A job whose request was deleted meanwhile is dropped unrendered, or its picture discarded
when it was already rendering."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import ActivityPubError
from fediverse.generation.follow_up import after_render, prompt_of, reply, wants_remix
from fediverse.generation.limits import Asker, LimitReached, check_limits, may_refuse
from fediverse.generation.remix import Unreachable, image_to_remix, load_image
from fediverse.generation.render import Rendered, render_asks, shape_of
from fediverse.generation.requests import (
    PUBLISH,
    REPLY,
    Ask,
    ask_of,
    request_generation,
    resolved,
)
from fediverse.imaging import InvalidRequest, ModelUnavailable
from fediverse.media.storage import remove_files
from fediverse.media.uploads import fill
from fediverse.state import AppState
from inbox.resolve import ResolveError, resolve_status
from models.audience import blocks, domain_blocked
from models.generation_jobs import MENTION, RENDER
from models.queue import BatchHandler, Finish, Handler, PermanentJobError
from models.status_queries import visible_status
from models.tables import Account, Job, MediaAttachment, Status
from models.types import utcnow

if TYPE_CHECKING:
    from PIL.Image import Image

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
    jobs = await _drop_cancelled(st, jobs, finish)
    failures: dict[int, Exception] = {}
    sources: dict[int, Image] = {}
    for job in jobs:
        source_id = ask_of(job.payload).source_media_id
        if source_id is None:
            continue
        try:
            sources[job.id] = await load_image(st, int(source_id))
        except InvalidRequest as exc:
            if isinstance(exc, Unreachable) and job.attempts < job.max_attempts:
                failures[job.id] = exc  # its server may be back by the next attempt
            else:
                await _refuse_after_all(st, job, exc.reason)
                failures[job.id] = PermanentJobError(exc.reason)
        except Exception as exc:  # tried again later, as a failed render is
            await _mark_failed(st, [job] if job.attempts >= job.max_attempts else [])
            failures[job.id] = exc
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        if job.id not in failures:
            shape = shape_of(ask_of(job.payload), sources.get(job.id))
            groups.setdefault(shape, []).append(job)
    for group in groups.values():
        images = [sources[job.id] for job in group] if group[0].id in sources else None
        failures |= await _render_group(st, group, finish, images)
    return failures


async def _drop_cancelled(st: AppState, jobs: list[Job], finish: Finish) -> list[Job]:
    """Finish, unrendered, the jobs whose request is gone; the others."""
    async with st.sessions() as session:
        dropped = [job for job in jobs if not await _still_wanted(session, job)]
    if not dropped:
        return jobs
    async with st.writer() as session:
        for job in dropped:
            await _discard(session, job)
        await finish(session, [job.id for job in dropped])
        await session.commit()
    gone = {job.id for job in dropped}
    return [job for job in jobs if job.id not in gone]


async def _still_wanted(session: AsyncSession, job: Job) -> bool:
    """Whether the image is still asked for: its attachment kept, and the status it
    publishes (pending) or answers still there."""
    media = await session.get(MediaAttachment, int(job.payload["media_id"]))
    if media is None:
        return False
    then = job.payload.get("then") or {}
    if then.get("do") in (PUBLISH, REPLY):
        status = await session.get(Status, int(then["status_id"]))
        if status is None or status.deleted_at is not None:
            return False
        if then["do"] == PUBLISH and not status.pending:
            return False
    return True


async def _discard(session: AsyncSession, job: Job) -> None:
    """Drop the attachment of a cancelled request, if it is still waiting."""
    media = await session.get(MediaAttachment, int(job.payload["media_id"]))
    if media is not None and media.state == "processing":
        await session.delete(media)


async def _render_group(st: AppState, jobs: list[Job], finish: Finish,
                        sources: list[Image] | None) -> dict[int, Exception]:
    settings = st.settings
    try:
        results = await asyncio.to_thread(render_asks, settings.image_model, settings.device,
                                          settings.media_dir, [ask_of(j.payload) for j in jobs],
                                          sources, settings.image_options)
    except InvalidRequest as exc:
        await _mark_failed(st, jobs)
        return {job.id: PermanentJobError(exc.reason) for job in jobs}
    except ModelUnavailable as exc:  # one clear error; the rest of the server goes on
        log.error("image model unavailable: %s", exc.reason)
        for job in jobs:
            await _refuse_after_all(st, job, "this server's image model is not available")
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
    """Make the media ready, mark the job done and do what was asked, in one transaction;
    a picture nobody wants any more (its request deleted meanwhile) is thrown away."""
    async with st.writer() as session:
        await finish(session, [job.id])
        if not await _still_wanted(session, job):
            await _discard(session, job)
            await session.commit()
            remove_files(st.settings.media_dir, result.files.original, result.files.small)
            return
        media = await session.get(MediaAttachment, int(job.payload["media_id"]))
        assert media is not None
        fill(media, result.processed, result.files)
        session.add(media)
        await after_render(st.federation, session, media, job.payload.get("then") or {},
                           result.info)


async def _mark_failed(st: AppState, jobs: list[Job]) -> None:
    """Requests that will not be made: their images failed, and a pending `/imagine` status
    withdrawn (it never left), so nothing waits on them."""
    if not jobs:
        return
    async with st.writer() as session:
        for job in jobs:
            media = await session.get(MediaAttachment, int(job.payload["media_id"]))
            if media is not None and media.state == "processing":
                media.state = "failed"
                session.add(media)
            then = job.payload.get("then") or {}
            if then.get("do") == PUBLISH:
                status = await session.get(Status, int(then["status_id"]))
                if status is not None and status.pending and status.deleted_at is None:
                    status.deleted_at = utcnow()
                    session.add(status)
        await session.commit()


async def _refuse_after_all(st: AppState, job: Job, reason: str) -> None:
    """A request that cannot be made after all (its image to remix cannot be had): failed,
    and a generator says why to whom asked."""
    await _mark_failed(st, [job])
    then = job.payload.get("then") or {}
    if then.get("do") == REPLY:
        await _answer_why(st, int(then["status_id"]), int(then["generator_id"]),
                          f"I could not make that image: {reason}.")


async def answer_mention(st: AppState, status_id: int, generator_id: int) -> None:
    """Queue the image a mention asks for, or reply saying why it cannot be made; nothing
    at all for an asker the generator (or this server) blocks, or who blocks it. An image
    to remix is read before anything is queued."""
    parent = await _parent_of(st, status_id)
    async with st.sessions() as session:
        asked = await session.get(Status, status_id)
        generator = await session.get(Account, generator_id)
        if asked is None or generator is None or asked.deleted_at is not None:
            return
        asker = await session.get(Account, asked.account_id)
        if asker is None or await _ignored(session, generator, asker):
            return
        who = Asker(asker.id, asker.domain.lower())
        then = {"do": REPLY, "status_id": asked.id, "generator_id": generator.id}
        try:
            ask = Ask(prompt=prompt_of(asked))
            resolved(ask, st.settings.image_model)  # a bad prompt is refused before a fetch
            if wants_remix(asked):
                if parent is None or await visible_status(session, parent.id, asker) is None:
                    raise InvalidRequest("the post to remix could not be found")  # or hidden
                ask = dataclasses.replace(ask, source_media_id=await image_to_remix(
                    session, parent))
                then["visibility"] = parent.visibility  # the answer shows no more of it
        except InvalidRequest as exc:
            refused: InvalidRequest | None = exc
        else:
            refused = None
    if refused is not None:
        return await _refuse(st, status_id, generator_id, refused)
    try:
        if ask.source_media_id is not None:
            async with st.writer() as session:  # no fetching for an asker over a limit
                await check_limits(session, st.settings, who)
                await session.rollback()
            await load_image(st, ask.source_media_id)
        async with st.writer() as session:
            try:
                await request_generation(session, st.settings, generator.id, ask, then,
                                         asker=who, for_status=status_id)
            except InvalidRequest:
                await session.rollback()
                raise
            await session.commit()
    except InvalidRequest as exc:
        return await _refuse(st, status_id, generator_id, exc)
    st.wake.set()


async def _refuse(st: AppState, status_id: int, generator_id: int,
                  refused: InvalidRequest) -> None:
    if isinstance(refused, LimitReached):
        text = (f"I cannot make that image now: {refused.reason} (a place should free up in "
                f"{about(refused.retry_after)}).")
    else:
        text = f"I could not make that image: {refused.reason}."
    await _answer_why(st, status_id, generator_id, text)


def about(seconds: int) -> str:
    """A wait in words: "about 3 minutes"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 90:
        return "about a minute" if minutes == 1 else f"about {minutes} minutes"
    return f"about {round(minutes / 60)} hours"


async def _answer_why(st: AppState, status_id: int, generator_id: int, text: str) -> None:
    """Reply `text` to the status that asked, unless it is gone or its asker has had as
    many such replies as they may lately (`limits.may_refuse`)."""
    async with st.writer() as session:
        asked = await session.get(Status, status_id)
        generator = await session.get(Account, generator_id)
        if asked is None or generator is None or asked.deleted_at is not None:
            return
        asker = await session.get(Account, asked.account_id)
        if asker is None or not await may_refuse(session, Asker(asker.id,
                                                                asker.domain.lower())):
            log.info("no refusal reply to status %s: its asker had enough", status_id)
            return
        await reply(st.federation, session, generator, asked, text=text)


async def _ignored(session: AsyncSession, generator: Account, asker: Account) -> bool:
    """An asker the generator blocks, who blocks the generator, or of a blocked server."""
    if await blocks(session, generator.id, asker.id) or await blocks(session, asker.id,
                                                                     generator.id):
        return True
    return bool(asker.domain) and await domain_blocked(session, asker.domain)


async def _parent_of(st: AppState, status_id: int) -> Status | None:
    """The post a mention replies to: stored, or fetched from its server (outside the
    writer's lock, since it may wait on the network)."""
    async with st.sessions() as session:
        asked = await session.get(Status, status_id)
        if asked is None or not asked.in_reply_to_uri or not wants_remix(asked):
            return None
        if asked.in_reply_to_id is not None:
            return await session.get(Status, asked.in_reply_to_id)
        try:
            parent = await resolve_status(st.federation, session, asked.in_reply_to_uri)
            await session.commit()
        except (ActivityPubError, ResolveError, ValueError):
            log.info("could not fetch %s to remix", asked.in_reply_to_uri)
            return None
        return parent
