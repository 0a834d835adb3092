"""The files of uploaded media under the media directory: random, unguessable names, written
whole (a reader never sees half a file) and durably (on disk before the row naming them is
committed), removed again when their row is not kept.

`write_durably` is the one way we write a file that the database or the instance relies on
(media, generated pictures, avatars and headers, kept uploads)."""

from __future__ import annotations

import contextlib
import errno
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
        write_durably({media_dir / paths.original: processed.original.data,
                       media_dir / paths.small: processed.small.data})
    except BaseException:
        remove_files(media_dir, paths.original, paths.small)
        raise
    return paths


def write_file(media_dir: Path, relative: str, data: bytes) -> None:
    write_durably({media_dir / relative: data})


def write_durably(files: dict[Path, bytes]) -> None:
    """Write each file whole, to survive a crash or a power loss once this returns: each is
    written to a temporary sibling and fsynced, all are renamed into place, then their
    directories (and those made for them) are fsynced, so that the new names are on disk
    too. Renaming all before syncing any directory lets one journal commit carry them."""
    folders: dict[Path, None] = {}  # in order, each once
    for target in files:
        folders |= dict.fromkeys([target.parent, *(made.parent for made in
                                                   _make_dirs(target.parent))])
    temporaries = {target: target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
                   for target in files}
    try:
        for target, data in files.items():
            with open(temporaries[target], "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        for target, temporary in temporaries.items():
            os.replace(temporary, target)
    finally:
        for temporary in temporaries.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    for folder in folders:
        sync_dir(folder)


def _make_dirs(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; those that were missing, deepest first (one
    that another writer made meanwhile is synced here too: it may not have been yet)."""
    missing = []
    while not folder.is_dir() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return missing


def sync_dir(folder: Path) -> None:
    """fsync a directory, so that names made or renamed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # a filesystem that cannot sync directories has nothing to sync
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def remove_files(media_dir: Path, *relative: str | None) -> None:
    """Remove files of ours, if they exist."""
    for path in relative:
        if path:
            with contextlib.suppress(FileNotFoundError):
                (media_dir / path).unlink()
