"""Errors of media uploads.

    MediaError          an upload refused or failed; `reason` is safe to show to a user
"""

from __future__ import annotations


class MediaError(Exception):
    """An upload this server refuses (not an image, too large...) or could not process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
