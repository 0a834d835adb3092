"""Our models to Mastodon's entities (JSON-ready dicts), never dropping a documented key.

The converters are pure: they take rows (ORM objects or Core rows: attributes by column
name) and what was loaded beside them (`models.related`). The `*_entities` helpers load that
for a whole page in a few queries, then convert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.sanitize import plain_text
from models import polls
from models.notifications import group_key
from models.related import (
    AccountStats,
    Related,
    Row,
    ViewerState,
    account_stats,
    load_related,
)
from models.relationships import Relation
from models.tables import Account, MediaAttachment, Notification, Status, StatusEdit, Tag
from outbox.urls import Urls

Entity = dict[str, Any]

DEFAULT_AVATAR = "/avatars/original/missing.png"
DEFAULT_HEADER = "/headers/original/missing.png"


def iso(moment: datetime | None) -> str | None:
    """`2022-04-30T14:19:05.000Z`: UTC, always with milliseconds."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"  # without "+00:00"


def _day(moment: datetime | None) -> str | None:
    return date.isoformat(moment.date()) if moment is not None else None


def _image(urls: Urls, *, path: str | None, remote: str | None, default: str) -> str:
    if path:
        return urls.media(path)
    return remote or urls.base + default


def _acct(account: Row) -> str:
    return account.username if account.domain == "" else f"{account.username}@{account.domain}"


def account_url(account: Row, urls: Urls) -> str:
    if account.domain == "":
        return urls.profile(account.username)
    return account.url or account.uri or ""


def account_entity(account: Row, urls: Urls, stats: AccountStats | None = None) -> Entity:
    """Mastodon's Account; counts from `stats`, or else as kept on the account's row."""
    counts: Any = stats or account
    local = account.domain == ""
    avatar = _image(urls, path=account.avatar_path, remote=account.avatar_url,
                    default=DEFAULT_AVATAR)
    header = _image(urls, path=account.header_path, remote=account.header_url,
                    default=DEFAULT_HEADER)
    return {
        "id": str(account.id),
        "username": account.username,
        "acct": _acct(account),
        "url": account_url(account, urls),
        "uri": urls.actor(account.username) if local else (account.uri or ""),
        "display_name": account.display_name or "",
        "note": account.note or "",
        "avatar": avatar, "avatar_static": avatar,
        "header": header, "header_static": header,
        "locked": account.locked,
        "fields": [_field(f) for f in account.fields or []],
        "emojis": [],
        "bot": account.bot or account.generator or account.actor_type in ("Service", "Application"),
        "group": account.actor_type == "Group",
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "noindex": not account.indexable,
        "hide_collections": False,
        "roles": [],  # the badges of roles it holds: none shown
        "created_at": iso(account.created_at),
        "last_status_at": _day(counts.last_status_at),
        "statuses_count": counts.statuses_count,
        "followers_count": counts.followers_count,
        "following_count": counts.following_count,
    }


def _field(item: dict[str, Any]) -> Entity:
    return {"name": str(item.get("name", "")), "value": str(item.get("value", "")),
            "verified_at": item.get("verified_at")}


def credential_account_entity(account: Account, urls: Urls, stats: AccountStats | None = None,
                              *, follow_requests_count: int = 0) -> Entity:
    """The signed-in account (verify_credentials, update_credentials), with `source`."""
    entity = account_entity(account, urls, stats)
    entity["source"] = {
        "note": account.note_text or plain_text(account.note),
        "fields": [_field(f) for f in account.fields or []],
        "privacy": account.default_privacy, "sensitive": account.default_sensitive,
        "language": account.default_language,
        "follow_requests_count": follow_requests_count,
    }
    entity["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "",
                      "highlighted": False}  # Mastodon's @everyone
    return entity


async def account_entities(session: AsyncSession, urls: Urls, accounts: Sequence[Account]
                           ) -> list[Entity]:
    """Accounts with their counts, three queries for the whole list."""
    stats = await account_stats(session, [a.id for a in accounts])
    return [account_entity(a, urls, stats.get(a.id)) for a in accounts]


def _size(width: int | None, height: int | None) -> Entity | None:
    if not width or not height:
        return None
    return {"width": width, "height": height, "size": f"{width}x{height}",
            "aspect": width / height}


def media_entity(media: MediaAttachment, urls: Urls) -> Entity:
    """Mastodon's MediaAttachment; `url` is null while it is processing."""
    ready = media.state == "ready"
    url = None
    if ready:
        url = urls.media(media.file_path) if media.file_path else media.remote_url
    preview = urls.media(media.thumbnail_path) if media.thumbnail_path and ready else url
    meta: Entity = {k: v for k, v in (media.meta or {}).items() if k not in ("original", "focus")}
    original = (media.meta or {}).get("original") or _size(media.width, media.height)
    if original:
        meta["original"] = original
    meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url,
        "preview_url": preview,
        "remote_url": media.remote_url,  # a remote file copied here, or None
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
    }


def tag_entity(tag: Tag, urls: Urls, *, following: bool | None = None,
               featuring: bool | None = None, history: list[dict[str, str]] | None = None
               ) -> Entity:
    """Mastodon's Tag; `history` (`models.tag_history`) where it is read, else empty; the
    viewer's `following` and `featuring` where there is a viewer."""
    entity: Entity = {"id": str(tag.id), "name": tag.name, "url": urls.tag(tag.name.lower()),
                      "history": history or []}
    if following is not None:
        entity["following"] = following
    if featuring is not None:
        entity["featuring"] = featuring
    return entity


def mention_entity(account: Row, urls: Urls) -> Entity:
    return {"id": str(account.id), "username": account.username,
            "url": account_url(account, urls), "acct": _acct(account)}


def poll_entity(status: Row, viewer: ViewerState | None = None) -> Entity | None:
    """Mastodon's Poll (its id is the status's); `voted` and `own_votes` for a viewer.
    Totals hidden while open (`hide_totals`) show as null to all but the author."""
    poll = status.poll
    if isinstance(poll, str):  # SQLite's raw JSON
        poll = orjson.loads(poll)
    if not poll:
        return None
    ends = polls.expires_at(poll)
    expired = ends is not None and ends <= datetime.now(UTC)
    hidden = (bool(poll.get("hide_totals")) and not expired
              and (viewer is None or viewer.account_id != status.account_id))
    options = [{"title": str(o.get("title", "")),
                "votes_count": None if hidden else o.get("votes_count")}
               for o in poll.get("options", [])]
    entity: Entity = {
        "id": str(status.id), "expires_at": iso(ends), "expired": expired,
        "multiple": bool(poll.get("multiple")),
        "votes_count": sum(o.get("votes_count") or 0 for o in poll.get("options", [])),
        "voters_count": poll.get("voters_count"), "options": options, "emojis": [],
    }
    if viewer is not None:
        own = viewer.votes.get(status.id, [])
        entity |= {"voted": bool(own) or viewer.account_id == status.account_id,
                   "own_votes": list(own)}
    return entity


def _application(status: Row, related: Related) -> Entity | None:
    """The app a local status was posted from, shown to all as Mastodon does by default."""
    app = related.apps.get(status.application_id) if status.application_id else None
    return None if app is None else {"name": app.name, "website": app.website}


def _author_entity(account_id: int, related: Related, urls: Urls,
                   rendered: dict[int, Entity]) -> Entity:
    """The author's entity, converted once per page however many statuses it wrote."""
    found = rendered.get(account_id)
    if found is None:
        found = rendered[account_id] = account_entity(related.accounts[account_id], urls)
    return found


def status_entity(status: Row, related: Related, urls: Urls,
                  rendered: dict[int, Entity] | None = None, *, flags: bool = True) -> Entity:
    """Mastodon's Status, from the status and what `load_related` found for its page (its
    fresh row there, with the counts, wins over `status`). `rendered` shares the authors'
    entities between the statuses of a page.

    The viewer's flags (`favourited`, …) are present only when `related.viewer` is set (and
    `flags`, for the boosted status as well)."""
    status = related.statuses.get(status.id, status)
    rendered = {} if rendered is None else rendered
    boosted = related.statuses.get(status.reblog_of_id) if status.reblog_of_id else None
    entity: Entity = {
        "id": str(status.id),
        "uri": status.uri,
        "url": status.url or status.uri,
        "created_at": iso(status.created_at),
        "account": _author_entity(status.account_id, related, urls, rendered),
        "content": status.content,
        "visibility": status.visibility,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "media_attachments": [media_entity(m, urls) for m in related.media.get(status.id, [])],
        "application": _application(status, related),
        "mentions": [mention_entity(a, urls) for a in related.mentions.get(status.id, [])],
        "tags": [tag_entity(t, urls) for t in related.tags.get(status.id, [])],
        "emojis": [],
        "reblogs_count": status.reblogs_count,
        "favourites_count": status.favourites_count,
        "replies_count": status.replies_count,
        "edited_at": iso(status.edited_at),
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": (str(status.in_reply_to_account_id)
                                   if status.in_reply_to_account_id else None),
        "reblog": (status_entity(boosted, related, urls, rendered, flags=flags)
                   if boosted is not None else None),
        "poll": poll_entity(status, related.viewer),
        "card": None,
        "language": status.language,
        "filtered": [],
    }
    viewer = related.viewer
    if viewer is not None and flags:
        entity.update(favourited=status.id in viewer.favourited,
                      reblogged=status.id in viewer.reblogged,
                      muted=status.id in viewer.muted, bookmarked=status.id in viewer.bookmarked,
                      pinned=status.id in viewer.pinned)
    return entity


def status_with_source(status: Status, related: Related, urls: Urls) -> Entity:
    """A status as its author sees it after deleting it: with `text` (to redraft)."""
    entity = status_entity(status, related, urls)
    entity["text"] = related.statuses.get(status.id, status).text
    return entity


async def status_entities(session: AsyncSession, urls: Urls, statuses: Sequence[Status],
                          viewer_id: int | None = None) -> list[Entity]:
    """Statuses (boosts with their boosted status) as entities, in a few queries in all."""
    related = await load_related(session, statuses, viewer_id)
    return page_entities(statuses, related, urls)


def page_entities(statuses: Sequence[Row], related: Related, urls: Urls) -> list[Entity]:
    """The statuses of a page as entities, from what `models.related.load_page` found."""
    rendered: dict[int, Entity] = {}
    return [status_entity(s, related, urls, rendered) for s in statuses]


def status_source_entity(status: Status) -> Entity:
    return {"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text}


def status_edit_entity(edit: StatusEdit, account: Entity, media: Sequence[Entity],
                       poll: Entity | None = None) -> Entity:
    """One version of a status in its history (`edit` is a past version)."""
    return {"content": edit.content, "spoiler_text": edit.spoiler_text,
            "sensitive": edit.sensitive, "created_at": iso(edit.created_at),
            "account": account, "poll": poll, "media_attachments": list(media), "emojis": []}


def context_entity(ancestors: Sequence[Entity], descendants: Sequence[Entity]) -> Entity:
    return {"ancestors": list(ancestors), "descendants": list(descendants)}


def relationship_entity(rel: Relation) -> Entity:
    """Mastodon's Relationship; `rel.extra` adds or overrides keys."""
    return {
        "id": str(rel.id), "following": rel.following,
        "showing_reblogs": rel.following or rel.requested, "notifying": False, "languages": None,
        "followed_by": rel.followed_by, "blocking": rel.blocking, "blocked_by": rel.blocked_by,
        "muting": rel.muting, "muting_notifications": rel.muting and rel.muting_notifications,
        "requested": rel.requested, "requested_by": rel.requested_by,
        "domain_blocking": False, "endorsed": False, "note": "", **rel.extra,
    }


def notification_entity(notification: Notification, account: Entity,
                        status: Entity | None = None, report: Entity | None = None) -> Entity:
    entity: Entity = {
        "id": str(notification.id), "type": notification.type,
        "created_at": iso(notification.created_at),
        "group_key": group_key(notification), "account": account,
    }
    if status is not None:
        entity["status"] = status
    if report is not None:
        entity["report"] = report
    return entity


async def _reports(session: AsyncSession, urls: Urls, notifications: Sequence[Notification]
                   ) -> dict[int, Entity]:
    """The `Report`s of `admin.report` notifications, by report id."""
    ids = {n.report_id for n in notifications if n.report_id}
    if not ids:
        return {}
    from fediverse.api.report_entities import report_entities  # it renders through this module
    from models.reports import reports_by_id

    return await report_entities(session, urls, list((await reports_by_id(session, ids)).values()))


async def notification_entities(session: AsyncSession, urls: Urls,
                                notifications: Sequence[Notification], viewer_id: int
                                ) -> list[Entity]:
    """Notifications with their accounts and statuses, loaded for the whole page at once."""
    status_ids = {n.status_id for n in notifications if n.status_id}
    statuses = list((await session.exec(
        select(Status).where(col(Status.id).in_(sorted(status_ids))))).all()) if status_ids else []
    related = await load_related(session, statuses, viewer_id)
    senders = {n.from_account_id for n in notifications}
    accounts = list((await session.exec(
        select(Account).where(col(Account.id).in_(sorted(senders))))).all()) if senders else []
    stats = await account_stats(session, senders)
    by_id = {a.id: account_entity(a, urls, stats.get(a.id)) for a in accounts}
    reports = await _reports(session, urls, notifications)
    found = []
    for n in notifications:
        status = related.statuses.get(n.status_id) if n.status_id else None
        if n.from_account_id not in by_id or (n.status_id and status is None):
            continue
        if n.report_id and n.report_id not in reports:
            continue
        found.append(notification_entity(
            n, by_id[n.from_account_id],
            status_entity(status, related, urls) if status is not None else None,
            reports.get(n.report_id) if n.report_id else None))
    return found


# ---- a page as JSON, reusing what earlier pages rendered ----
# A status's entity, without the viewer's flags, is kept as JSON bytes with the values it
# was made from (its row, its author's, its media, mentions and tags, and for a boost the
# boosted status's: all read afresh with each page). It is reused only while those values
# are the same, so a cached copy is never stale, whichever process changed the rows. The
# values are compared as read (on SQLite, the driver's raw rows: `models.related.Related.raw`)
# and converted only to render a status afresh. Statuses with a poll (whose `expired` moves
# with the clock) are rendered each time.
# Cached: (version, parts): the entity's JSON cut where the viewer's flags go (before the
# boosted status's closing brace, then before the entity's own).
_RENDERED: dict[tuple[str, int], tuple[tuple[Any, ...], tuple[bytes, ...]]] = {}
RENDERED_MAX = 5_000  # statuses kept (a few pages for each of some hundred readers)
_FLAGS = {(f, r, b, p, m): b"," + orjson.dumps({"favourited": f, "reblogged": r, "muted": m,
                                             "bookmarked": b, "pinned": p})[1:]
          for f in (False, True) for r in (False, True) for b in (False, True)
          for p in (False, True) for m in (False, True)}
_NO_POLL = (None, "null")  # a status without a poll: as processed, or SQLite's raw JSON
_REBLOG = b'"reblog":null'


def _as_tuple(row: Any) -> tuple[Any, ...]:
    return row if isinstance(row, tuple) else tuple(row)


def _version(status: Row, related: Related) -> tuple[Any, ...] | None:
    """What `status`'s viewer-independent entity is made of; None: not to be cached."""
    author = related.accounts.get(status.account_id)
    if (status.poll not in _NO_POLL or author is None
            or not isinstance(status, _ROWS) or not isinstance(author, _ROWS)):
        return None
    boosted: tuple[Any, ...] | None = None
    if status.reblog_of_id:
        found = related.statuses.get(status.reblog_of_id)
        if found is None or found.reblog_of_id:
            return None
        boosted = _version(found, related)
        if boosted is None:
            return None
    sid = status.id
    media, mentioned = related.media.get(sid), related.mentions.get(sid)
    # rows compare by value (namedtuples and SQLAlchemy's rows alike)
    return (_as_tuple(status), _as_tuple(author), tuple(media) if media else (),
            tuple(mentioned) if mentioned else (), tuple(related.tags.get(sid, ())), boosted)


def _render(status: Row, related: Related, urls: Urls, rendered: dict[int, Entity]
            ) -> tuple[bytes, ...]:
    """`status`'s entity without flags, as `_RENDERED`'s parts."""
    fresh = related.processed()
    entity = status_entity(fresh.statuses.get(status.id, status), fresh, urls, rendered,
                           flags=False)
    inner = entity["reblog"]
    if inner is None:
        return (orjson.dumps(entity)[:-1],)
    entity["reblog"] = None
    head, found, tail = orjson.dumps(entity).rpartition(_REBLOG)  # the last: its own key
    assert found
    return head + b'"reblog":' + orjson.dumps(inner)[:-1], tail[:-1]


# rows read afresh (not ORM objects, which may be stale); tuple first: `sa.Row` is an
# abstract base class, slower to test against
_ROWS = (tuple, sa.Row)


def _flags(status_id: int, related: Related) -> bytes:
    viewer = related.viewer
    if viewer is None:
        return b"}"
    return _FLAGS[(status_id in viewer.favourited, status_id in viewer.reblogged,
                   status_id in viewer.bookmarked, status_id in viewer.pinned,
                   status_id in viewer.muted)]


def _cached_json(status: Row, related: Related, urls: Urls, rendered: dict[int, Entity]
                 ) -> bytes:
    """`status`'s entity as JSON, the viewer's flags last (the boosted status's too)."""
    version = _version(status, related)
    key = (urls.base, status.id)
    found = _RENDERED.get(key) if version is not None else None
    if found is not None and found[0] == version:
        parts = found[1]
    else:
        parts = _render(status, related, urls, rendered)
        if version is None:
            _RENDERED.pop(key, None)
        else:
            if len(_RENDERED) >= RENDERED_MAX:
                del _RENDERED[next(iter(_RENDERED))]  # the oldest
            _RENDERED[key] = (version, parts)
    if len(parts) == 1:
        return parts[0] + _flags(status.id, related)
    return (parts[0] + _flags(status.reblog_of_id, related) + parts[1]
            + _flags(status.id, related))


def page_json(statuses: Sequence[Row], related: Related, urls: Urls) -> bytes:
    """`page_entities(statuses, related, urls)` as a JSON array (`related` may hold raw rows:
    `models.related.load_raw_page`)."""
    rendered: dict[int, Entity] = {}
    parts = []
    accounts = related.accounts
    for listed in statuses:
        status = related.statuses.get(listed.id, listed)
        boosted = related.statuses.get(status.reblog_of_id) if status.reblog_of_id else None
        if status.account_id not in accounts or (
                boosted is not None and boosted.account_id not in accounts):
            continue  # its author went (with their statuses) while the page was read
        parts.append(_cached_json(status, related, urls, rendered))
    return b"[" + b",".join(parts) + b"]"
