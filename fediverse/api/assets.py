"""The default avatar and header, at Mastodon's paths, for accounts that have none
(apps need a real image URL there)."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

_CACHE = {"Cache-Control": "public, max-age=86400"}


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@lru_cache(maxsize=4)
def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGB, no interlace)."""
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(row * height, 9)) + _chunk(b"IEND", b""))


async def default_avatar(request: Request) -> Response:
    return Response(solid_png(120, 120, (96, 100, 128)), media_type="image/png", headers=_CACHE)


async def default_header(request: Request) -> Response:
    return Response(solid_png(300, 100, (40, 44, 55)), media_type="image/png", headers=_CACHE)


routes: list[BaseRoute] = [
    Route("/avatars/original/missing.png", default_avatar, methods=["GET", "HEAD"]),
    Route("/headers/original/missing.png", default_header, methods=["GET", "HEAD"]),
]
