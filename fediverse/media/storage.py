"""The files of uploaded media under the media directory: random, unguessable names, written
whole (a reader never sees half a file), removed again when their row is not kept."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fediverse.media.processing import Processed

FOLDER = "attachments"


@dataclass(frozen=True)
class StoredFiles:
    """Paths relative to the media directory, as `Urls.media` takes them."""

    original: str
    small: str


def new_paths(extension: str) -> StoredFiles:
    """Fresh relative paths for an original and its thumbnail (128 random bits each)."""
    name = secrets.token_hex(16)
    small = secrets.token_hex(16)
    return StoredFiles(original=f"{FOLDER}/{name[:2]}/{name}.{extension}",
                       small=f"{FOLDER}/{small[:2]}/{small}.{extension}")


def write_files(media_dir: Path, processed: Processed) -> StoredFiles:
    """Write the original and its thumbnail; nothing is left behind if either fails."""
    paths = new_paths(processed.extension)
    try:
        write_file(media_dir, paths.original, processed.original.data)
        write_file(media_dir, paths.small, processed.small.data)
    except BaseException:
        remove_files(media_dir, paths.original, paths.small)
        raise
    return paths


def write_file(media_dir: Path, relative: str, data: bytes) -> None:
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def remove_files(media_dir: Path, *relative: str | None) -> None:
    """Remove files of ours, if they exist."""
    for path in relative:
        if path:
            with contextlib.suppress(FileNotFoundError):
                (media_dir / path).unlink()
