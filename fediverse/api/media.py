"""Mastodon API: media uploads (`/api/v1/media`, `/api/v2/media`) and the owner's view of an
attachment until a status takes it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller
from fediverse.api.entities import media_entity
from fediverse.api.errors import ApiError, not_found, unprocessable
from fediverse.api.params import Params, params
from fediverse.media.errors import MediaError
from fediverse.media.processing import MAX_BYTES, focus_from_text
from fediverse.media.uploads import (
    DESCRIPTION_LIMIT,
    Upload,
    create_media,
    delete_media,
    own_media,
    update_media,
    uploads_dir,
)
from fediverse.routes.common import json_response, state
from models.generation_jobs import cancel_render_of
from models.tables import MediaAttachment

SCOPE = "write:media"  # Mastodon asks it of every media method, reading one included
_MULTIPART_SLACK = 64 * 1024  # room for the form around the file
_TOO_LARGE = f"Validation failed: File file size must be less than {MAX_BYTES // 2**20} MB"
_FAILED = "Error processing thumbnail for uploaded media"


async def upload_v1(request: Request) -> Response:
    """Upload, answered once processed."""
    return await _upload(request, wait=True)


async def upload_v2(request: Request) -> Response:
    """Upload, answered 202 with a null `url` while a large image is still processing."""
    return await _upload(request, wait=False)


async def _upload(request: Request, *, wait: bool) -> Response:
    who = await caller(request, SCOPE)
    assert who.account is not None
    if _declared_length(request) > MAX_BYTES + _MULTIPART_SLACK:  # refused before it is read
        raise unprocessable(_TOO_LARGE)
    upload = await upload_from_params(await params(request))
    fv = state(request)
    try:
        row = await create_media(fv.sessions, fv.settings.media_dir, who.account.id, upload,
                                 wait=wait, uploads_dir=uploads_dir(fv.settings.data_dir))
    except MediaError as exc:
        raise unprocessable(exc.reason) from exc
    return _answer(request, row, pending=202)


def _declared_length(request: Request) -> int:
    text = request.headers.get("content-length", "")
    return int(text) if text.isascii() and text.isdigit() else 0


async def upload_from_params(p: Params) -> Upload:
    """The file, alt text and focal point of an upload form; 422 for what is wrong."""
    file = p.file("file")
    if file is None:
        raise unprocessable("Validation failed: File can't be blank")
    if file.size is not None and file.size > MAX_BYTES:
        raise unprocessable(_TOO_LARGE)
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise unprocessable(_TOO_LARGE)
    return Upload(data=data, description=_description(p) or "", focus=_focus(p) or (0.0, 0.0))


def _description(p: Params) -> str | None:
    return p.string("description", max_length=DESCRIPTION_LIMIT)


def _focus(p: Params) -> tuple[float, float] | None:
    text = p.string("focus")
    if not text:
        return None
    try:
        return focus_from_text(text)
    except MediaError as exc:
        raise unprocessable(exc.reason) from exc


async def show(request: Request) -> Response:
    who = await caller(request, SCOPE)
    assert who.account is not None
    async with state(request).sessions() as session:
        row = await own_media(session, who.account.id, _media_id(request))
    return _answer(request, _usable(row), pending=206)


async def update(request: Request) -> Response:
    """Change the alt text or focal point of an attachment no status has yet."""
    who = await caller(request, SCOPE)
    assert who.account is not None
    p = await params(request)
    description, focus = _description(p), _focus(p)
    async with state(request).sessions() as session:
        row = _usable(await own_media(session, who.account.id, _media_id(request)))
        update_media(row, description=description, focus=focus)
        session.add(row)
        await session.commit()
    return _answer(request, row, pending=206)


async def delete(request: Request) -> Response:
    """Delete an attachment no status has (Mastodon 4.4); 422 while a status uses it."""
    who = await caller(request, SCOPE)
    assert who.account is not None
    fv = state(request)
    async with fv.sessions() as session:
        row = await own_media(session, who.account.id, _media_id(request), unattached=False)
        if row is None:
            raise not_found()
        if row.status_id is not None:
            raise unprocessable("Media attachment is currently used by a status")
        if row.state == "processing":  # a generated image still waiting: its job goes too
            await cancel_render_of(session, row.id)
        await delete_media(session, fv.settings.media_dir, row)
    return json_response({})


def _media_id(request: Request) -> int:
    text = request.path_params["id"]
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise not_found()
    return int(text)


def _usable(row: MediaAttachment | None) -> MediaAttachment:
    if row is None:
        raise not_found()
    if row.state == "failed":
        raise ApiError(422, _FAILED)
    return row


def _answer(request: Request, row: MediaAttachment, *, pending: int) -> Response:
    """The attachment: 200 when ready, `pending` (202 or 206) while it is processing."""
    status = 200 if row.state == "ready" else pending
    return json_response(media_entity(row, state(request).urls), status=status)


routes: list[BaseRoute] = [
    Route("/api/v1/media", upload_v1, methods=["POST"]),
    Route("/api/v2/media", upload_v2, methods=["POST"]),
    Route("/api/v1/media/{id}", show, methods=["GET"]),
    Route("/api/v1/media/{id}", update, methods=["PUT"]),
    Route("/api/v1/media/{id}", delete, methods=["DELETE"]),
]
