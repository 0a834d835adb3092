"""What a push says: the JSON Mastodon sends (the client decrypts it and shows a banner)."""

from __future__ import annotations

from typing import Any

from inbox.sanitize import plain_text

BODY_CHARS = 140
_TITLES = {
    "mention": "You were mentioned by {name}",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} is now following you",
    "follow_request": "Pending follower: {name}",
    "favourite": "{name} favorited your post",
    "poll": "A poll by {name} has ended",
    "update": "{name} edited a post",
    "admin.sign_up": "{name} signed up",
    "admin.report": "New report from {name}",
}


def _truncated(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS - 1] + "…"


def push_payload(notification: dict[str, Any], access_token: str, locale: str = "en"
                 ) -> dict[str, Any]:
    """The payload for a Notification entity: its status's words (or content warning), or
    else the sender's bio, as the body."""
    account = notification["account"]
    name = account["display_name"] or account["username"]
    status = notification.get("status")
    body = (status["spoiler_text"] or status["content"]) if status else account["note"]
    return {
        "access_token": access_token,
        "preferred_locale": locale,
        "notification_id": notification["id"],
        "notification_type": notification["type"],
        "icon": account["avatar_static"],
        "title": _TITLES.get(notification["type"], "{name}").format(name=name),
        "body": _truncated(plain_text(body)),
    }
