"""Actor documents as Mastodon emits and reads them, and a small HTML profile page."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any, Literal

from activitypub.jsonld import MASTODON_CONTEXT

ActorType = Literal["Person", "Service", "Application", "Group", "Organization"]

# the @context we emit: Mastodon's, so its extension terms read as Mastodon expects
DEFAULT_CONTEXT: list[Any] = MASTODON_CONTEXT


@dataclass(frozen=True)
class ImageRef:
    """An avatar or header: where it is and what it is."""

    url: str
    media_type: str


@dataclass
class ActorFields:
    """Everything an actor document says about a local account."""

    id: str
    preferred_username: str
    inbox: str
    outbox: str
    public_key_pem: str
    published: datetime
    type: ActorType = "Person"
    name: str = ""
    summary_html: str = ""
    url: str | None = None
    followers: str | None = None
    following: str | None = None
    featured: str | None = None
    featured_tags: str | None = None
    shared_inbox: str | None = None
    key_id: str = ""
    icon: ImageRef | None = None
    image: ImageRef | None = None
    manually_approves_followers: bool = False
    discoverable: bool = False
    indexable: bool = False
    fields: list[tuple[str, str]] = field(default_factory=list)
    also_known_as: list[str] = field(default_factory=list)
    moved_to: str | None = None
    memorial: bool = False
    suspended: bool = False

    def __post_init__(self) -> None:
        if not self.key_id:
            self.key_id = self.id + "#main-key"


def format_published(moment: datetime) -> str:
    """Mastodon's form: midnight UTC of the day, `2024-01-01T00:00:00Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    day = moment.astimezone(UTC).date()
    return f"{day.isoformat()}T00:00:00Z"


def _image(ref: ImageRef) -> dict[str, str]:
    return {"type": "Image", "mediaType": ref.media_type, "url": ref.url}


def build_actor(fields: ActorFields, *, context: list[Any] | None = None) -> dict[str, Any]:
    """The actor document, with Mastodon's keys in Mastodon's order."""
    doc: dict[str, Any] = {
        "@context": copy.deepcopy(DEFAULT_CONTEXT if context is None else context),
        "id": fields.id,
        "type": fields.type,
    }
    _put(doc, "following", fields.following)
    _put(doc, "followers", fields.followers)
    doc["inbox"] = fields.inbox
    doc["outbox"] = fields.outbox
    _put(doc, "featured", fields.featured)
    _put(doc, "featuredTags", fields.featured_tags)
    doc.update({
        "preferredUsername": fields.preferred_username,
        "name": fields.name,
        "summary": fields.summary_html,
        "url": fields.url or fields.id,
        "manuallyApprovesFollowers": fields.manually_approves_followers,
        "discoverable": fields.discoverable,
        "indexable": fields.indexable,
        "published": format_published(fields.published),
    })
    if fields.memorial:
        doc["memorial"] = True
    doc["publicKey"] = {
        "id": fields.key_id,
        "owner": fields.id,
        "publicKeyPem": fields.public_key_pem,
    }
    doc["tag"] = []
    doc["attachment"] = [
        {"type": "PropertyValue", "name": name, "value": value} for name, value in fields.fields
    ]
    _put(doc, "movedTo", fields.moved_to)
    if fields.also_known_as:
        doc["alsoKnownAs"] = list(fields.also_known_as)
    if fields.suspended:
        doc["suspended"] = True
    if fields.shared_inbox:
        doc["endpoints"] = {"sharedInbox": fields.shared_inbox}
    if fields.icon:
        doc["icon"] = _image(fields.icon)
    if fields.image:
        doc["image"] = _image(fields.image)
    return doc


def _put(doc: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        doc[key] = value


def build_actor_html(fields: ActorFields, *, domain: str) -> str:
    """A small profile page; `summary_html` and field values are already sanitised."""
    handle = escape(f"@{fields.preferred_username}@{domain}")
    name = escape(fields.name or fields.preferred_username)
    avatar = (
        f'<img class="avatar" src="{escape(fields.icon.url)}" alt="" width="96" height="96">'
        if fields.icon
        else ""
    )
    rows = "".join(
        f"<dt>{escape(label)}</dt><dd>{value}</dd>" for label, value in fields.fields
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{name} ({handle})</title>\n"
        f'<link rel="alternate" type="application/activity+json" href="{escape(fields.id)}">\n'
        "</head>\n<body>\n<main class=\"profile\">\n"
        f"{avatar}\n<h1>{name}</h1>\n<p class=\"handle\">{handle}</p>\n"
        f'<div class="summary">{fields.summary_html}</div>\n'
        + (f'<dl class="fields">{rows}</dl>\n' if rows else "")
        + "</main>\n</body>\n</html>\n"
    )
