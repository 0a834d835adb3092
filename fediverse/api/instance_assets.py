"""The instance's thumbnail and icon: small PNGs drawn once per process, served as files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

from PIL import Image
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.media.processing import blurhash_of

THUMBNAIL_PATH = "/instance/thumbnail.png"
ICON_PATH = "/instance/icon.png"
THUMBNAIL_SIZE = (400, 210)
ICON_SIZES = (36, 72, 192, 512)  # the square sizes Mastodon's `icon` lists
_CACHE = {"Cache-Control": "public, max-age=86400"}


@dataclass(frozen=True)
class Picture:
    png: bytes
    width: int
    height: int
    blurhash: str


def _gradient(width: int, height: int) -> Image.Image:
    """A violet-to-amber diagonal: generated art, as befits the place."""
    side = 32  # drawn small, then scaled up smoothly
    small = Image.new("RGB", (side, side))
    small.putdata([
        (int(90 + 150 * t), int(40 + 120 * t), int(200 - 150 * t))
        for y in range(side) for x in range(side) for t in ((x + y) / (2 * side - 2),)
    ])
    return small.resize((width, height), Image.Resampling.BICUBIC)


@cache
def picture(width: int, height: int) -> Picture:
    image = _gradient(width, height)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return Picture(png=buffer.getvalue(), width=width, height=height,
                   blurhash=blurhash_of(image))


def thumbnail() -> Picture:
    return picture(*THUMBNAIL_SIZE)


def icon_url(base: str, size: int) -> str:
    return f"{base}{ICON_PATH}?size={size}"


async def thumbnail_route(request: Request) -> Response:
    return Response(thumbnail().png, media_type="image/png", headers=_CACHE)


async def icon_route(request: Request) -> Response:
    size = request.query_params.get("size", "")
    side = int(size) if size.isdigit() and int(size) in ICON_SIZES else max(ICON_SIZES)
    return Response(picture(side, side).png, media_type="image/png", headers=_CACHE)


routes: list[BaseRoute] = [
    Route(THUMBNAIL_PATH, thumbnail_route, methods=["GET", "HEAD"]),
    Route(ICON_PATH, icon_route, methods=["GET", "HEAD"]),
]
