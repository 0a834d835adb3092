"""Errors of the image pipeline.

    ImagingError            anything this package refuses or fails at; `reason` is safe to show
     ├── InvalidRequest     the caller asked for something out of bounds (size, steps, prompt)
     └── ModelUnavailable   the model cannot be loaded: no such folder or hub id, not cached
                            and offline or the hub unreachable, a download broken off
"""

from __future__ import annotations


class ImagingError(Exception):
    """Base of this package's errors; `reason` is one line, safe to show to a user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRequest(ImagingError):
    """A generation request outside what the model or this server accepts."""


class ModelUnavailable(ImagingError):
    """The configured model could not be found, downloaded or loaded; `reason` names the
    model and why in one line."""
