"""Where local objects live: one place that spells every URL of ours."""

from __future__ import annotations


class Urls:
    """The URL scheme of an instance whose public root is `base` (e.g. https://example.com)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, username: str) -> str:
        return self.actor(username) + "#main-key"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def inbox(self, username: str) -> str:
        return self.actor(username) + "/inbox"

    def outbox(self, username: str) -> str:
        return self.actor(username) + "/outbox"

    def followers(self, username: str) -> str:
        return self.actor(username) + "/followers"

    def following(self, username: str) -> str:
        return self.actor(username) + "/following"

    def featured(self, username: str) -> str:
        return self.actor(username) + "/collections/featured"

    def featured_tags(self, username: str) -> str:
        return self.actor(username) + "/collections/tags"

    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name}"

    def media(self, path: str) -> str:
        """A local media file, by its path under the media directory."""
        return f"{self.base}/media/{path.lstrip('/')}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def instance_key_id(self) -> str:
        return self.instance_actor + "#main-key"
