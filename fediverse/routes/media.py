"""Local media files, served from the media directory (never from outside it)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from fediverse.routes.common import error, state

# files are named by id and never rewritten: caches may keep them
_CACHE = {"Cache-Control": "public, max-age=31536000, immutable"}


def media_file(root: Path, path: str) -> Path | None:
    """The file at `path` under `root`, or None when it is missing or would leave `root`."""
    if not path or "\x00" in path or any(part in ("", ".", "..") for part in path.split("/")):
        return None
    base = root.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


async def media(request: Request) -> Response:
    found = media_file(state(request).settings.media_dir, request.path_params["path"])
    if found is None:
        return error(404, "not found")
    return FileResponse(found, headers=_CACHE)


routes = [Route("/media/{path:path}", media, methods=["GET", "HEAD"])]
