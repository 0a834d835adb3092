"""Local statuses as notes: models to ActivityStreams."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from activitypub.vocab import PUBLIC
from models import polls
from models.tables import Account, MediaAttachment, Status, Tag
from outbox.activities import announce
from outbox.actors import acct, actor_id
from outbox.urls import Urls


def iso(moment: datetime) -> str:
    """Mastodon's ActivityPub time form: `2024-01-01T12:00:00Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def addressing(visibility: str, followers: str, mentioned: Iterable[str] = ()
               ) -> tuple[list[str], list[str]]:
    """`to` and `cc` as Mastodon sets them for each visibility; mentioned actors go to `cc`,
    or to `to` for direct messages."""
    others = [uri for uri in dict.fromkeys(mentioned)]
    if visibility == "public":
        return [PUBLIC], [followers, *others]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *others]
    if visibility == "private":
        return [followers], others
    return others, []


def media_to_document(media: MediaAttachment, urls: Urls) -> dict[str, Any]:
    """An attachment as Mastodon sends one: absolute `url`, alt text as `name`."""
    url = urls.media(media.file_path) if media.file_path else media.remote_url
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.mime_type,
        "url": url,
        "name": media.description or None,
        "blurhash": media.blurhash,
        "focalPoint": [media.focus_x, media.focus_y],
    }
    if media.width and media.height:
        document["width"] = media.width
        document["height"] = media.height
    return document


def mention_tag(account: Account, urls: Urls, domain: str) -> dict[str, str]:
    return {"type": "Mention", "href": actor_id(account, urls), "name": "@" + acct(account, domain)}


def hashtag_tag(name: str, urls: Urls) -> dict[str, str]:
    return {"type": "Hashtag", "href": urls.tag(name.lower()), "name": "#" + name}


def _tag_name(tag: Tag | str) -> str:
    return tag if isinstance(tag, str) else tag.name


def status_to_note(
    status: Status, author: Account, urls: Urls, *, mentions: Sequence[Account] = (),
    tags: Sequence[Tag | str] = (), media: Sequence[MediaAttachment] = (),
    in_reply_to: Status | None = None, domain: str | None = None,
) -> dict[str, Any]:
    """The `Note` of a local status (without `@context`); `domain` is ours, for `@user@domain`
    names in `tag` (it defaults to the host of `urls`)."""
    domain = domain or urls.base.split("://", 1)[-1]
    mentioned = [actor_id(account, urls) for account in mentions]
    to, cc = addressing(status.visibility, urls.followers(author.username), mentioned)
    note: dict[str, Any] = {
        "id": status.uri,
        "type": "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": in_reply_to.uri if in_reply_to is not None else status.in_reply_to_uri,
        "published": iso(status.created_at),
        "url": status.url or status.uri,
        "attributedTo": actor_id(author, urls),
        "to": to,
        "cc": cc,
        "sensitive": bool(status.sensitive or status.spoiler_text),
        "conversation": status.conversation,
        "context": status.conversation,
        "content": status.content,
        "attachment": [media_to_document(m, urls) for m in sorted(media, key=_position)],
        "tag": [mention_tag(a, urls, domain) for a in mentions]
        + [hashtag_tag(_tag_name(t), urls) for t in tags],
        "replies": {"id": status.uri + "/replies", "type": "Collection",
                    "first": status.uri + "/replies?page=true"},
    }
    if status.poll:
        note |= poll_to_question(status.poll)
    if status.language:
        note["contentMap"] = {status.language: status.content}
    if status.edited_at:
        note["updated"] = iso(status.edited_at)
    return note


def poll_to_question(poll: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What makes a note a `Question`: its options with their counts, end and voters."""
    options = [{"type": "Note", "name": o.get("title") or "",
                "replies": {"type": "Collection", "totalItems": o.get("votes_count") or 0}}
               for o in poll.get("options") or []]
    question: dict[str, Any] = {"type": "Question",
                                "anyOf" if poll.get("multiple") else "oneOf": options,
                                "votersCount": poll.get("voters_count") or 0}
    ends = polls.expires_at(poll)
    if ends is not None:
        question["endTime"] = iso(ends)
        if ends <= (now or datetime.now(UTC)):
            question["closed"] = iso(ends)
    return question


def _position(media: MediaAttachment) -> tuple[int, int]:
    return media.position, media.id


def boost_to_announce(boost: Status, booster: Account, original: Status, original_author: Account,
                      urls: Urls) -> dict[str, Any]:
    """A boost as Mastodon sends it: to followers per visibility, the boosted author in `cc`."""
    to, cc = addressing(boost.visibility, urls.followers(booster.username))
    # a boost's uri names its Announce (as Mastodon's do); otherwise the Announce lives below it
    uri = boost.uri if boost.uri.endswith("/activity") else boost.uri + "/activity"
    return announce(uri, actor_id(booster, urls), original.uri, published=iso(boost.created_at),
                    to=to, cc=[*cc, actor_id(original_author, urls)])
