"""Local statuses in the ActivityStreams forms served at their ids: notes, Creates, Announces.

`note_of` is the one place that renders a note (through `outbox.rendering`); everything served here
(notes, Creates, outbox pages, featured) goes through it.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.jsonld import MASTODON_CONTEXT
from models.collections import statuses_with_authors
from models.tables import Account, Status
from outbox.activities import create
from outbox.notes import boost_to_announce
from outbox.rendering import render_note
from outbox.urls import Urls


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    """A top-level document: Mastodon's @context first, then the rest."""
    return {"@context": copy.deepcopy(MASTODON_CONTEXT), **doc}


async def note_of(session: AsyncSession, status: Status, author: Account, urls: Urls) -> dict[str, Any]:
    """The `Note` of a local status (mentions, tags, media and the parent load here)."""
    return await render_note(session, status, author, urls, urls.base.split("://", 1)[1])


def create_of(note: dict[str, Any], status: Status, author: Account, urls: Urls) -> dict[str, Any]:
    return create(note, context=False)


def announce_of(boost: Status, author: Account, original: Status, original_author: Account,
                urls: Urls) -> dict[str, Any]:
    """A boost's `Announce`, the same one that was delivered (without its own @context)."""
    doc = boost_to_announce(boost, author, original, original_author, urls)
    doc.pop("@context", None)
    return doc


def tombstone_of(uri: str) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": uri, "type": "Tombstone"}


async def activities_of(session: AsyncSession, statuses: list[Status], author: Account,
                        urls: Urls) -> list[dict[str, Any]]:
    """Creates for posts and Announces for boosts (whose originals still exist), in order."""
    originals = await statuses_with_authors(session, [s.reblog_of_id for s in statuses if s.reblog_of_id])
    items = []
    for status in statuses:
        if status.reblog_of_id is None:
            items.append(create_of(await note_of(session, status, author, urls), status, author, urls))
        elif (found := originals.get(status.reblog_of_id)) and found[0].deleted_at is None:
            items.append(announce_of(status, author, found[0], found[1], urls))
    return items


async def activity_of(session: AsyncSession, status: Status, author: Account,
                      urls: Urls) -> dict[str, Any] | None:
    """The one activity of a status, or None for a boost whose original is gone."""
    items = await activities_of(session, [status], author, urls)
    return items[0] if items else None
