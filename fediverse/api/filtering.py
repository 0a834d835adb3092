"""Filters v2 as Mastodon applies them: which of a viewer's filters a status matches, the
`filtered` results it then carries, and what a `hide` filter takes out of a list.

A filter matches a status by keyword (case-insensitive; `whole_word` ones at word boundaries)
in its searchable text (content warning, text, poll options, media descriptions), or by
naming the status. Filters apply in their contexts only, until they expire, and never to the
viewer's own posts. The functions work on entities (`Entity` dicts) about to be answered.

Where each context applies: `home` the home timeline, `public` the public and tag timelines,
`thread` a status's context and the status itself (asked for by id it is never left out,
only marked), `account` an account's statuses, `notifications` the statuses notifications
carry (one a `hide` filter matches takes its notification out). Bookmarks and favourites are
in none, as in Mastodon's own app: they are shown as saved.

`viewer_filters` reads a viewer's stored filters (tables of migration 0010) through a
per-process cache: a viewer without filters costs one dict lookup per page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.entities import iso, page_entities
from inbox.sanitize import plain_text
from models.reads import read_in
from models.related import Related, Row
from models.tables import Filter as FilterRow
from models.tables import FilterKeyword as KeywordRow
from models.tables import FilterStatus as StatusRow
from models.types import utcnow
from outbox.urls import Urls

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
Entity = dict[str, Any]


@dataclass(frozen=True)
class FilterKeyword:
    id: int
    keyword: str
    whole_word: bool = True


@dataclass(frozen=True)
class FilterStatus:
    id: int
    status_id: int


@dataclass(frozen=True)
class CustomFilter:
    id: int
    title: str
    context: tuple[str, ...]
    filter_action: str = "warn"  # one of ACTIONS
    expires_at: datetime | None = None
    keywords: tuple[FilterKeyword, ...] = ()
    statuses: tuple[FilterStatus, ...] = ()

    def active(self, context: str, now: datetime) -> bool:
        return context in self.context and (self.expires_at is None or self.expires_at > now)


def filter_entity(found: CustomFilter) -> Entity:
    """Mastodon's Filter entity."""
    return {
        "id": str(found.id), "title": found.title, "context": list(found.context),
        "expires_at": iso(found.expires_at), "filter_action": found.filter_action,
        "keywords": [{"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}
                     for k in found.keywords],
        "statuses": [{"id": str(s.id), "status_id": str(s.status_id)} for s in found.statuses],
    }


def keyword_pattern(keywords: Iterable[FilterKeyword]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all the keywords; a `whole_word` keyword is bounded
    at each end that is a word character (so `#tag` or `c++` still match)."""
    parts = []
    for item in keywords:
        text = item.keyword.strip()
        if not text:
            continue
        part = re.escape(text)
        if item.whole_word:
            part = (r"\b" if re.match(r"\w", text) else "") + part
            part += r"\b" if re.search(r"\w$", text) else ""
        parts.append(part)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def searchable_text(status: Entity) -> str:
    """What keywords are looked for in: content warning, text, poll options, media text."""
    poll = status.get("poll") or {}
    pieces = [status.get("spoiler_text") or "", plain_text(status.get("content") or ""),
              *(option.get("title") or "" for option in poll.get("options") or []),
              *(media.get("description") or "" for media in status.get("media_attachments") or [])]
    return "\n\n".join(piece for piece in pieces if piece)


def filter_results(status: Entity, filters: Sequence[CustomFilter]) -> list[Entity]:
    """The FilterResults of an (already active) list of filters for one status entity; a
    boost is matched by what it boosts, and by its own id."""
    proper = status.get("reblog") or status
    text = searchable_text(proper)
    ids = {int(status["id"]), int(proper["id"])}
    results = []
    for found in filters:
        pattern = keyword_pattern(found.keywords)
        match = pattern.search(text) if pattern is not None else None
        named = sorted(str(s.status_id) for s in found.statuses if s.status_id in ids)
        if match is None and not named:
            continue
        results.append({"filter": filter_entity(found),
                        "keyword_matches": [match.group(0)] if match is not None else None,
                        "status_matches": named or None})
    return results


def _hides(results: list[Entity]) -> bool:
    return any(result["filter"]["filter_action"] == "hide" for result in results)


def apply_to_statuses(statuses: list[Entity], filters: Sequence[CustomFilter], context: str,
                      viewer_id: int, now: datetime, *, hide: bool = True) -> list[Entity]:
    """`statuses` without those a `hide` filter matches; the others matched carry their
    results in `filtered` (a boost and what it boosts both). With `hide` false none is left
    out: those a `hide` filter matches carry their results too (one status asked for)."""
    active = [f for f in filters if f.active(context, now)]
    if not active:
        return statuses
    kept = []
    for status in statuses:
        proper = status.get("reblog") or status
        if proper["account"]["id"] == str(viewer_id):
            kept.append(status)
            continue
        results = filter_results(status, active)
        if hide and _hides(results):
            continue
        if results:
            status["filtered"] = results
            if status.get("reblog"):
                status["reblog"]["filtered"] = results
        kept.append(status)
    return kept


def apply_to_notifications(notifications: list[Entity], filters: Sequence[CustomFilter],
                           viewer_id: int, now: datetime) -> list[Entity]:
    """Notifications whose status a `hide` filter of the notifications context matches are
    dropped; a `warn` or `blur` one marks the status."""
    kept = []
    for notification in notifications:
        status = notification.get("status")
        if status is not None and not apply_to_statuses([status], filters, "notifications",
                                                        viewer_id, now):
            continue
        kept.append(notification)
    return kept


# ---- the viewer's stored filters, cached per process ----
# A viewer's filters are trusted for FILTERS_TTL seconds: a change made by another process
# shows within that; one made here (`forget_filters`) shows at once.
FILTERS_TTL = 1.0
_MAX_CACHED = 10_000
_cached: dict[int, tuple[float, tuple[CustomFilter, ...]]] = {}
_generation = 0
_FILTERS = FilterRow.__table__  # type: ignore[attr-defined]
_KEYWORDS = KeywordRow.__table__  # type: ignore[attr-defined]
_STATUSES = StatusRow.__table__  # type: ignore[attr-defined]
_BY_ACCOUNT = sa.select(_FILTERS).where(_FILTERS.c.account_id == sa.bindparam("account"))
_KEYWORDS_OF = sa.select(_KEYWORDS).where(_KEYWORDS.c.filter_id.in_(
    sa.select(_FILTERS.c.id).where(_FILTERS.c.account_id == sa.bindparam("account"))))
_STATUSES_OF = sa.select(_STATUSES).where(_STATUSES.c.filter_id.in_(
    sa.select(_FILTERS.c.id).where(_FILTERS.c.account_id == sa.bindparam("account"))))


def load_filters(conn: sa.Connection, account_id: int) -> tuple[CustomFilter, ...]:
    """The account's filters with their keywords and statuses, oldest first."""
    rows = conn.execute(_BY_ACCOUNT, {"account": account_id}).all()
    if not rows:
        return ()
    keywords: dict[int, list[FilterKeyword]] = {}
    for k in conn.execute(_KEYWORDS_OF, {"account": account_id}).all():
        keywords.setdefault(k.filter_id, []).append(FilterKeyword(k.id, k.keyword, k.whole_word))
    statuses: dict[int, list[FilterStatus]] = {}
    for s in conn.execute(_STATUSES_OF, {"account": account_id}).all():
        statuses.setdefault(s.filter_id, []).append(FilterStatus(s.id, s.status_id))
    return tuple(custom_filter(r, keywords.get(r.id, ()), statuses.get(r.id, ()))
                 for r in sorted(rows, key=lambda r: r.id))


def custom_filter(row: Row, keywords: Iterable[FilterKeyword],
                  statuses: Iterable[FilterStatus]) -> CustomFilter:
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    return CustomFilter(row.id, row.title, tuple(row.context or ()), row.filter_action, expires,
                        tuple(sorted(keywords, key=lambda k: k.id)),
                        tuple(sorted(statuses, key=lambda s: s.id)))


def viewer_filters(conn: sa.Connection, viewer_id: int | None) -> tuple[CustomFilter, ...]:
    """`load_filters`, from the cache when read lately; () for no viewer."""
    if viewer_id is None:
        return ()
    now = time.monotonic()
    found = _cached.get(viewer_id)
    if found is not None and found[0] > now:
        return found[1]
    generation = _generation
    filters = load_filters(conn, viewer_id)
    if generation == _generation:
        if len(_cached) >= _MAX_CACHED:
            _cached.clear()
        _cached[viewer_id] = (now + FILTERS_TTL, filters)
    return filters


def forget_filters() -> None:
    """Drop the cache (after a change to anyone's filters in this process)."""
    global _generation
    _generation += 1
    _cached.clear()


def active_filters(filters: Sequence[CustomFilter], context: str) -> list[CustomFilter]:
    now = utcnow()
    return [f for f in filters if f.active(context, now)]


def filtered_page_json(statuses: Sequence[Row], related: Related, urls: Urls,
                       filters: Sequence[CustomFilter], context: str,
                       viewer_id: int | None) -> bytes | None:
    """A timeline page as JSON with the viewer's filters applied; None when none of them
    applies in `context` (the page is then answered as usual)."""
    active = active_filters(filters, context)
    if not active or viewer_id is None:
        return None
    kept = []
    for listed in statuses:  # as `page_json`: not those whose author went meanwhile
        status = related.statuses.get(listed.id, listed)
        boosted = related.statuses.get(status.reblog_of_id) if status.reblog_of_id else None
        if status.account_id in related.accounts and (
                boosted is None or boosted.account_id in related.accounts):
            kept.append(listed)
    entities = page_entities(kept, related, urls)
    return orjson.dumps(apply_to_statuses(entities, active, context, viewer_id, utcnow()))


async def session_filters(session: AsyncSession, viewer_id: int | None
                          ) -> tuple[CustomFilter, ...]:
    """`viewer_filters` on an ORM session's connection."""
    if viewer_id is None:
        return ()
    found = _cached.get(viewer_id)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    return await read_in(session, lambda conn: viewer_filters(conn, viewer_id))


def apply_filters(statuses: list[Entity], filters: Sequence[CustomFilter], context: str,
                  viewer_id: int | None, *, hide: bool = True) -> list[Entity]:
    """`apply_to_statuses` with the filters active now; `statuses` as they are if none."""
    active = active_filters(filters, context)
    if not active or viewer_id is None:
        return statuses
    return apply_to_statuses(statuses, active, context, viewer_id, utcnow(), hide=hide)


def filter_notifications(notifications: list[Entity], filters: Sequence[CustomFilter],
                         viewer_id: int) -> list[Entity]:
    """`apply_to_notifications` with the filters active now; as they are if none."""
    if not active_filters(filters, "notifications"):
        return notifications
    return apply_to_notifications(notifications, filters, viewer_id, utcnow())
