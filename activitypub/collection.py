"""Ordered collections and their pages (outboxes, followers, replies...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"

Ref = str | dict[str, Any]


def ordered_collection(
    id: str, total_items: int, first: Ref | None = None, last: Ref | None = None
) -> dict[str, Any]:
    """A top-level `OrderedCollection`; an embedded `first` page loses its own @context."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total_items,
    }
    if first is not None:
        doc["first"] = _embedded(first)
    if last is not None:
        doc["last"] = _embedded(last)
    return doc


def ordered_collection_page(
    id: str,
    part_of: str,
    items: list[Any],
    next: str | None = None,
    prev: str | None = None,
    *,
    with_context: bool = True,
) -> dict[str, Any]:
    """An `OrderedCollectionPage`; pass `with_context=False` to embed it in a collection."""
    doc: dict[str, Any] = {"@context": AS_CONTEXT} if with_context else {}
    doc.update({"id": id, "type": "OrderedCollectionPage"})
    if next is not None:
        doc["next"] = next
    if prev is not None:
        doc["prev"] = prev
    doc["partOf"] = part_of
    doc["orderedItems"] = list(items)
    return doc


def _embedded(ref: Ref) -> Ref:
    if isinstance(ref, dict):
        return {key: value for key, value in ref.items() if key != "@context"}
    return ref


def page_url(base: str, **params: str | int | bool | None) -> str:
    """`base` with `params` added to its query; None is left out, booleans are true/false."""
    parts = urlsplit(base)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in params.items():
        if value is None:
            continue
        query = [(k, v) for k, v in query if k != key]
        query.append((key, _query_value(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
