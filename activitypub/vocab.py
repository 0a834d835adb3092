"""Plain-JSON helpers for ActivityStreams documents, for the hot path (no JSON-LD).

Servers compact differently: any property may be a single value or a list, a string id
or an embedded object (or a Link with `href`), and the public collection may be written
`as:Public` or `Public`. These helpers read all of those forms the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

AS_NS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS_NS + "#Public"
_PUBLIC_FORMS = frozenset(
    {PUBLIC, "as:Public", "Public", "http://www.w3.org/ns/activitystreams#Public"}
)
_AS_CONTEXTS = frozenset(
    {AS_NS, AS_NS + ".jsonld", "http://www.w3.org/ns/activitystreams",
     "http://www.w3.org/ns/activitystreams.jsonld"}
)
ADDRESSING = ("to", "cc", "bto", "bcc", "audience")
_LISTS = ("tag", "attachment")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def as_list(value: Any) -> list:
    """`value` as a list: None gives [], a list stays, anything else is wrapped."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def id_of(value: Any) -> str | None:
    """The id of a string, an embedded object (`id`, `@id`) or a Link (`href`)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        for key in ("id", "@id", "href"):
            found = value.get(key)
            if isinstance(found, str) and found:
                return found
    return None


def ids_of(value: Any) -> list[str]:
    """The ids of every item of a single value or a list, skipping items without one."""
    return [found for item in as_list(value) if (found := id_of(item)) is not None]


def first(value: Any) -> Any:
    """The first item of a list, the value itself if not a list, None if empty."""
    items = as_list(value)
    return items[0] if items else None


def type_of(obj: Any) -> set[str]:
    """The types of an object (`type` or `@type`, single or list) as a set."""
    if not isinstance(obj, dict):
        return set()
    types = obj.get("type", obj.get("@type"))
    return {t for t in as_list(types) if isinstance(t, str)}


def is_public(value: Any) -> bool:
    """Whether `value` (an id, a list of them, or objects) names the public collection."""
    return any(found in _PUBLIC_FORMS for found in ids_of(value))


def has_as_context(doc: Any) -> bool:
    """Whether the document's `@context` includes the ActivityStreams context."""
    if not isinstance(doc, dict):
        return False
    return any(_names_as(entry) for entry in as_list(doc.get("@context")))


def _names_as(entry: Any) -> bool:
    if isinstance(entry, str):
        return entry.rstrip("#/") in _AS_CONTEXTS
    if isinstance(entry, dict):
        # An embedded context document: {"@context": ...}.
        return any(_names_as(inner) for inner in as_list(entry.get("@context")))
    return False


_URL_STRIPPED = frozenset("\t\r\n")  # what urlsplit drops from anywhere in a URL


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of `url`, as `urlsplit` reads them. Most URLs an inbox sees are
    new (every activity and post has its own id), their origins few: the cache is keyed by
    the part up to the end of the authority, which `urlsplit` reads the same way alone."""
    colon = url.find(":")
    if (colon > 0 and url.startswith("//", colon + 1) and url[0] > " "
            and _URL_STRIPPED.isdisjoint(url)):
        end = len(url)
        for mark in "/?#":
            found = url.find(mark, colon + 3)
            if 0 <= found < end:
                end = found
        return _origin_of(url[:end])
    return _origin_of(url)


@lru_cache(maxsize=8192)  # the inbox asks about the same actors and hosts over and over
def _origin_of(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


@lru_cache(maxsize=8192)  # every accepted activity asks for its sender's
def host_of(url: str) -> str:
    """The lower-cased host of `url`, with `:port` when the port is not the default."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and (effective) port."""
    origin = _origin(a)
    return origin is not None and origin == _origin(b)


def _addressees(value: Any) -> list[str]:
    return [PUBLIC if found in _PUBLIC_FORMS else found for found in ids_of(value)]


def normalize_activity(doc: dict) -> dict:
    """A copy of `doc` in one predictable shape, recursing into an embedded `object`.

    Addressing fields become lists of ids with the public collection spelled `PUBLIC`;
    `tag` and `attachment` become lists. `actor` and `attributedTo` keep their form (use
    `actor_id` / `attributed_to_id`).
    """
    out = dict(doc)
    for key in ADDRESSING:
        if key in out:
            out[key] = _addressees(out[key])
    for key in _LISTS:
        if key in out:
            out[key] = [item for item in as_list(out[key]) if item is not None]
    embedded = out.get("object")
    if isinstance(embedded, dict):
        out["object"] = normalize_activity(embedded)
    elif isinstance(embedded, list):
        out["object"] = [normalize_activity(o) if isinstance(o, dict) else o for o in embedded]
    return out


def actor_id(doc: dict) -> str | None:
    """The id of the activity's (first) actor."""
    return id_of(first(doc.get("actor")))


def attributed_to_id(doc: dict) -> str | None:
    """The id of the object's (first) author."""
    return id_of(first(doc.get("attributedTo")))


def object_id(doc: dict) -> str | None:
    """The id of the activity's (first) object, embedded or not."""
    return id_of(first(doc.get("object")))


def audience_of(doc: dict) -> set[str]:
    """Every addressee of `doc` (to, cc, bto, bcc, audience), public spelled `PUBLIC`."""
    return {found for key in ADDRESSING for found in _addressees(doc.get(key))}
