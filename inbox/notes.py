"""Remote notes into the fields of our statuses: ActivityStreams to models, no database here.

Notes, Questions (polls, with their options and counts), and the long forms other servers send
(Article, Page, Video...) read as a note whose content leads with a link to the original.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from activitypub.vocab import PUBLIC, as_list, first, id_of, ids_of, type_of
from inbox.sanitize import plain_text, sanitize_html

NOTE_TYPES = frozenset({"Note", "Question"})
LONG_TYPES = frozenset({"Article", "Page", "Video", "Audio", "Image", "Event"})
POST_TYPES = NOTE_TYPES | LONG_TYPES
MEDIA_TYPES = frozenset({"Document", "Image", "Video", "Audio"})
MAX_ATTACHMENTS = 4  # as Mastodon keeps
MAX_POLL_OPTIONS = 20
MAX_BLURHASH = 128


@dataclass
class MediaFields:
    remote_url: str
    type: str
    mime_type: str | None
    description: str
    blurhash: str | None
    width: int | None
    height: int | None
    focus_x: float
    focus_y: float


@dataclass
class NoteFields:
    uri: str
    url: str | None
    content: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    in_reply_to_uri: str | None
    conversation: str | None
    poll: dict[str, Any] | None
    published: datetime | None
    updated: datetime | None
    media: list[MediaFields] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)  # actor uris
    hashtags: list[str] = field(default_factory=list)  # names without '#'


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as aware UTC, or None when missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def visibility_of(obj: dict[str, Any], followers_url: str | None) -> str:
    """Mastodon's reading of `to`/`cc`: public, unlisted, private (followers) or direct."""
    to, cc = set(ids_of(obj.get("to"))), set(ids_of(obj.get("cc")))
    if PUBLIC in to:
        return "public"
    if PUBLIC in cc:
        return "unlisted"
    audience = to | cc
    if followers_url and followers_url in audience:
        return "private"
    if not followers_url and any(a.endswith("/followers") for a in audience):
        return "private"
    return "direct"


def _text_of(obj: dict[str, Any], key: str) -> tuple[str, str | None]:
    """The value of `key`, else the first of `keyMap`, and the language it came with."""
    mapped = obj.get(key + "Map")
    language = None
    if isinstance(mapped, dict) and mapped:
        language, first_value = next(iter(mapped.items()))
        if not isinstance(obj.get(key), str):
            return (first_value if isinstance(first_value, str) else ""), language
    value = obj.get(key)
    return (value if isinstance(value, str) else ""), language


def language_of(obj: dict[str, Any]) -> str | None:
    _, language = _text_of(obj, "content")
    if language is None:
        lemmy = obj.get("language")  # Lemmy: {"identifier": "fr", "name": ...}
        language = lemmy.get("identifier") if isinstance(lemmy, dict) else None
    if isinstance(language, str) and 0 < len(language) <= 16 and language != "und":
        return language
    return None


def url_of(obj: dict[str, Any]) -> str | None:
    """The human-facing URL: a string, a Link's href (preferring text/html), or the id."""
    links = as_list(obj.get("url"))
    html_links = [x for x in links if isinstance(x, dict) and x.get("mediaType") == "text/html"]
    found = id_of(first(html_links)) or id_of(first(links))
    if isinstance(found, str) and found.startswith(("https://", "http://")):
        return found
    return None


def content_of(obj: dict[str, Any]) -> str:
    """The sanitised content; a long form leads with its title linked to the original."""
    content, _ = _text_of(obj, "content")
    if type_of(obj) & NOTE_TYPES or not type_of(obj) & LONG_TYPES:
        return sanitize_html(content)
    title = plain_text(_text_of(obj, "name")[0])
    link = url_of(obj) or str(obj.get("id"))
    head = f'<p><a href="{html.escape(link)}">{html.escape(title or link)}</a></p>'
    return sanitize_html(head + content)


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and 0 < value < 1_000_000 else None


def _focus(value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        return max(-1.0, min(1.0, float(value[0]))), max(-1.0, min(1.0, float(value[1])))
    return 0.0, 0.0


def _media_kind(mime: str | None, as_type: set[str]) -> str:
    major = (mime or "").split("/", 1)[0]
    if mime == "image/gif":
        return "gifv"
    if major in ("image", "video", "audio"):
        return major
    return "image" if "Image" in as_type else "unknown"


def media_of(obj: dict[str, Any]) -> list[MediaFields]:
    """The attachments Mastodon would show (at most four); links and unknown things skipped."""
    media: list[MediaFields] = []
    for item in as_list(obj.get("attachment")):
        if not isinstance(item, dict) or not type_of(item) & MEDIA_TYPES:
            continue
        url = url_of(item) or id_of(first(item.get("url")))
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        mime = item.get("mediaType") if isinstance(item.get("mediaType"), str) else None
        blurhash = item.get("blurhash")
        focus_x, focus_y = _focus(item.get("focalPoint"))
        media.append(MediaFields(
            remote_url=url, type=_media_kind(mime, type_of(item)), mime_type=mime,
            description=plain_text(item.get("summary") or item.get("name") or ""),
            blurhash=blurhash if isinstance(blurhash, str) and len(blurhash) <= MAX_BLURHASH else None,
            width=_number(item.get("width")), height=_number(item.get("height")),
            focus_x=focus_x, focus_y=focus_y,
        ))
        if len(media) == MAX_ATTACHMENTS:
            break
    return media


def mentions_of(obj: dict[str, Any]) -> list[str]:
    tags = [t for t in as_list(obj.get("tag")) if isinstance(t, dict) and "Mention" in type_of(t)]
    return list(dict.fromkeys(h for t in tags if (h := id_of(t.get("href") or t.get("id")))))


def hashtags_of(obj: dict[str, Any]) -> list[str]:
    tags = [t for t in as_list(obj.get("tag")) if isinstance(t, dict) and "Hashtag" in type_of(t)]
    names = (str(t.get("name") or "").lstrip("#").strip() for t in tags)
    return list(dict.fromkeys(n for n in names if n and len(n) <= 255))


def poll_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """A Question's options and counts as our poll JSON (`models.polls`)."""
    if "Question" not in type_of(obj):
        return None
    multiple = "anyOf" in obj
    options = []
    for choice in as_list(obj.get("anyOf") if multiple else obj.get("oneOf"))[:MAX_POLL_OPTIONS]:
        if isinstance(choice, dict):
            replies = choice.get("replies") if isinstance(choice.get("replies"), dict) else {}
            options.append({"title": plain_text(str(choice.get("name") or "")),
                            "votes_count": _number(replies.get("totalItems")) or 0})
    closes = parse_time(obj.get("endTime")) or parse_time(obj.get("closed"))
    return {
        "options": options,
        "multiple": multiple,
        "expires_at": closes.isoformat() if closes else None,
        "voters_count": _number(obj.get("votersCount")),
    }


def note_to_fields(obj: dict[str, Any], *, followers_url: str | None) -> NoteFields:
    """The status fields of a post object (already checked to come from its author)."""
    spoiler = plain_text(obj.get("summary") if isinstance(obj.get("summary"), str) else "")
    if type_of(obj) & LONG_TYPES:
        spoiler = ""  # a Page's or Article's summary is its abstract, not a warning
    conversation = obj.get("conversation") or obj.get("context")
    return NoteFields(
        uri=str(obj["id"]),
        url=url_of(obj),
        content=content_of(obj),
        spoiler_text=spoiler,
        sensitive=bool(obj.get("sensitive") is True or spoiler),
        visibility=visibility_of(obj, followers_url),
        language=language_of(obj),
        in_reply_to_uri=id_of(first(obj.get("inReplyTo"))),
        conversation=conversation[:2048] if isinstance(conversation, str) else None,
        poll=poll_of(obj),
        published=parse_time(obj.get("published")),
        updated=parse_time(obj.get("updated")),
        media=media_of(obj),
        mentions=mentions_of(obj),
        hashtags=hashtags_of(obj),
    )
