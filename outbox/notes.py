"""Local statuses as notes and activities: models to ActivityStreams."""

from __future__ import annotations

from typing import Any

from activitypub.vocab import PUBLIC
from models.tables import Account, Status
from outbox.urls import Urls


def _iso(dt) -> str:  # type: ignore[no-untyped-def]
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def addressing(visibility: str, followers: str) -> tuple[list[str], list[str]]:
    """`to` and `cc` as Mastodon sets them for each visibility (mentions are added by the caller)."""
    if visibility == "public":
        return [PUBLIC], [followers]
    if visibility == "unlisted":
        return [followers], [PUBLIC]
    if visibility == "private":
        return [followers], []
    return [], []


def status_to_note(status: Status, author: Account, urls: Urls) -> dict[str, Any]:
    to, cc = addressing(status.visibility, urls.followers(author.username))
    note: dict[str, Any] = {
        "id": status.uri,
        "type": "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": None,
        "published": _iso(status.created_at),
        "url": status.url or status.uri,
        "attributedTo": urls.actor(author.username),
        "to": to,
        "cc": cc,
        "sensitive": bool(status.sensitive),
        "content": status.content,
        "attachment": [],
        "tag": [],
    }
    if status.language:
        note["contentMap"] = {status.language: status.content}
    if status.edited_at:
        note["updated"] = _iso(status.edited_at)
    return note


def status_to_create(status: Status, author: Account, urls: Urls) -> dict[str, Any]:
    note = status_to_note(status, author, urls)
    return {
        "id": status.uri + "/activity",
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }
