"""Remixes: a `/imagine` reply to a post with an image renders image to image from it. The
image is chosen and read when the request is made (so one that cannot be had is refused
then), and read again when it is rendered: our own file, or a remote one through the safe
fetcher (size-capped), decoded with the checks uploads get, then scaled to the model's size
(sides a multiple of 8)."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import (
    ActivityPubError,
    BadResponse,
    BlockedAddress,
    FetchTimeout,
    Gone,
    TooLarge,
)
from fediverse.imaging import InvalidRequest
from fediverse.imaging import request as limits
from fediverse.imaging.defaults import defaults_for
from fediverse.media.errors import MediaError
from fediverse.media.processing import MAX_BYTES, decode
from fediverse.media.remote import fetch_image as fetch_remote_image
from fediverse.state import AppState
from models.tables import MediaAttachment, Status

if TYPE_CHECKING:
    from PIL.Image import Image


class Unreachable(InvalidRequest):
    """The image to remix could not be fetched this time (its server down or failing)."""


DEFAULT_SIDE = 512  # a model without known defaults: about 512x512 pixels


async def image_to_remix(session: AsyncSession, parent: Status) -> int:
    """The id of `parent`'s first image; InvalidRequest when it has none ready."""
    rows = (await session.exec(select(MediaAttachment).where(
        MediaAttachment.status_id == parent.id).order_by(col(MediaAttachment.position)))).all()
    images = [m for m in rows if m.type == "image"]
    if not images:
        raise InvalidRequest("the post replied to has no image to remix")
    if images[0].state != "ready" or not (images[0].file_path or images[0].remote_url):
        raise InvalidRequest("the image to remix is not ready yet")
    return images[0].id


async def load_image(st: AppState, media_id: int) -> Image:
    """The image of attachment `media_id`, checked and scaled for the model; InvalidRequest
    says why it cannot be had."""
    async with st.sessions() as session:
        media = await session.get(MediaAttachment, media_id)
    if media is None:
        raise InvalidRequest("the image to remix was deleted")
    if media.file_path:
        path = st.settings.media_dir / media.file_path
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise InvalidRequest("the image to remix is missing") from exc
    elif media.remote_url:
        data = await fetch_image(st, media.remote_url)
    else:
        raise InvalidRequest("the image to remix is missing")
    return await asyncio.to_thread(_decoded_and_fitted, data, st.settings.image_model)


async def fetch_image(st: AppState, url: str) -> bytes:
    """A remote image's bytes, through the guarded fetcher, at most the upload limit."""
    try:
        return await fetch_remote_image(st, url)
    except ActivityPubError as exc:
        lasting = isinstance(exc, TooLarge | BlockedAddress | Gone)
        refused = InvalidRequest if lasting else Unreachable
        raise refused(f"the image to remix could not be fetched ({_why(exc)})") from exc


def _why(exc: ActivityPubError) -> str:
    """A short cause, safe to show (no address or detail of ours)."""
    if isinstance(exc, TooLarge):
        return f"it is over {MAX_BYTES // (1024 * 1024)} MB"
    if isinstance(exc, BlockedAddress):
        return "its address is not one this server fetches from"
    if isinstance(exc, FetchTimeout):
        return "its server did not answer in time"
    if isinstance(exc, Gone):
        return "it is gone"
    if isinstance(exc, BadResponse):
        return "its server did not answer with an image"
    return "its server could not be reached"


def _decoded_and_fitted(data: bytes, model: str) -> Image:
    try:
        image = decode(data).image
    except MediaError as exc:
        raise InvalidRequest("the image to remix could not be read") from exc
    return fitted(image.convert("RGB"), model)


def fitted(image: Image, model: str) -> Image:
    """`image` scaled to about the model's default area, its shape kept, each side a
    multiple of 8 the model can make."""
    from PIL import Image as PILImage

    known = defaults_for(model)
    area = (known.width or DEFAULT_SIDE) * (known.height or DEFAULT_SIDE)
    scale = math.sqrt(area / (image.width * image.height))

    def side(value: int) -> int:
        step = limits.SIDE_MULTIPLE
        rounded = max(limits.MIN_SIDE, round(value * scale / step) * step)
        return min(rounded, known.max_side - known.max_side % step)

    size = (side(image.width), side(image.height))
    if size == image.size:
        return image
    return image.resize(size, PILImage.Resampling.LANCZOS)
