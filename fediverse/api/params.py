"""Request parameters as Mastodon apps send them: query, form, multipart or JSON; pagination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from fediverse.api.errors import ApiError, unprocessable

MAX_JSON = 1_000_000
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no", ""}
_CURSORS = frozenset({"max_id", "min_id", "since_id"})
_ID_RANGE = (-(2**63), 2**63 - 1)  # what a database id column holds


def is_id(text: str) -> bool:
    """Whether `text` is a database id: ASCII digits within a signed 64-bit integer."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= _ID_RANGE[1]


class Params:
    """Parameters by name; `name[]` and repeated names are lists (`getlist`)."""

    def __init__(self, items: Sequence[tuple[str, Any]]) -> None:
        self._items = [(k[:-2] if k.endswith("[]") else k, v) for k, v in items]

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self._items:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[Any]:
        values: list[Any] = []
        for key, value in self._items:
            if key == name:
                values.extend(value if isinstance(value, list) else [value])
        return values

    def __contains__(self, name: str) -> bool:
        return any(key == name for key, _ in self._items)

    def string(self, name: str, default: str | None = None, *, max_length: int | None = None) -> str | None:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, UploadFile) or isinstance(value, dict | list):
            raise unprocessable(f"Validation failed: {name} must be text")
        text = str(value)
        if max_length is not None and len(text) > max_length:
            raise unprocessable(f"Validation failed: {name} is too long (maximum is {max_length} characters)")
        return text

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise unprocessable(f"Validation failed: {name} must be true or false")

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise unprocessable(f"Validation failed: {name} must be an integer") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise unprocessable(f"Validation failed: {name} is out of range")
        return number

    def file(self, name: str) -> UploadFile | None:
        value = self.get(name)
        return value if isinstance(value, UploadFile) else None


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """JSON bodies: nested objects become `a[b]` names, as Rails reads forms."""
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, inner in value.items():
            items.extend(_flatten(f"{prefix}[{key}]" if prefix else str(key), inner))
        return items
    return [(prefix, value)]


async def params(request: Request) -> Params:
    """Query parameters followed by the body's, whatever its encoding."""
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").lower()
    if request.method in ("POST", "PUT", "PATCH", "DELETE", "GET"):
        # a JSON body is read on a GET too, as Rails does (Mastodon.py sends
        # `familiar_followers`' ids that way)
        if content_type.startswith("application/json"):
            body = await request.body()
            if len(body) > MAX_JSON:
                raise ApiError(413, "Request body is too large")
            if body.strip():
                try:
                    data = orjson.loads(body)
                except orjson.JSONDecodeError:
                    raise ApiError(400, "Request body is not valid JSON") from None
                if not isinstance(data, dict):
                    raise unprocessable("Request body must be a JSON object")
                items.extend(_flatten("", data))
        elif request.method != "GET" and content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=8, max_fields=1000)
            items.extend(form.multi_items())
    for name, value in items:  # no text holds one, and PostgreSQL refuses to store it
        if any("\x00" in v for v in (value if isinstance(value, list) else [value])
               if isinstance(v, str)):
            raise unprocessable(f"Validation failed: {name} contains a NUL character")
    return Params(items)


@dataclass(frozen=True)
class Page:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int


def page_of(p: Params, *, default: int = 20, maximum: int = 40) -> Page:
    """Mastodon's pagination parameters; ids are strings of integers."""
    limit = p.integer("limit", default) or default
    return Page(
        max_id=_cursor(p, "max_id"),
        since_id=_cursor(p, "since_id"),
        min_id=_cursor(p, "min_id"),
        limit=max(1, min(limit, maximum)),
    )


def _cursor(p: Params, name: str) -> int | None:
    """An id cursor, held to the range ids have (further out it pages the same)."""
    value = p.integer(name)
    return None if value is None else min(max(value, _ID_RANGE[0]), _ID_RANGE[1])


def link_header(request: Request, ids: Sequence[int], page: Page) -> dict[str, str]:
    """`Link` with rel="next" (older) and rel="prev" (newer) for a newest-first page of ids."""
    if not ids:
        return {}
    url = request.url
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items()
                      if k not in _CURSORS])
    base = f"{url.scheme}://{url.netloc}{url.path}"
    sep = "&" if kept else "?"
    base = f"{base}?{kept}" if kept else base
    next_url = f"{base}{sep}max_id={min(ids)}"
    prev_url = f"{base}{sep}min_id={max(ids)}"
    return {"Link": f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'}
