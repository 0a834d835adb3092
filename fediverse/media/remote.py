"""Remote posts' images, and remote accounts' avatars and headers, copied here as Mastodon
caches remote media: apps then load them from this server (not from the sender's, which
learns nothing of who looks and may go away), with a thumbnail, and a blurhash where the
sender gave none. Each image goes through the upload checks (type, size, pixels, bombs) and
is re-encoded without metadata (avatars and headers cropped as uploads are); until the copy
is made, and when it cannot be (too large, refused, not a still image), it stays a link to
the sender's file. The jobs (`models.remote_media`) run on the `media` queue; running one
twice copies nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import col, select

from activitypub.errors import ActivityPubError, BadResponse, BlockedAddress, FetchTimeout
from activitypub.fetch import Fetcher
from activitypub.vocab import host_of
from fediverse.media.errors import MediaError
from fediverse.media.processing import MAX_BYTES, Processed, decode, meta_of, render
from fediverse.media.profile_images import (
    IMAGE_SIZES,
    ProfileImage,
    profile_image,
    store_profile_images,
)
from fediverse.media.storage import StoredFiles, remove_files, write_files
from fediverse.state import AppState
from models.instance_blocks import server_blocks
from models.tables import Account, MediaAttachment

log = logging.getLogger(__name__)
T = TypeVar("T")

# still images only: an animated GIF would lose its frames (Mastodon makes those videos)
STILL_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/avif", "image/heic",
                         "image/heif"})


async def fetch_image(st: AppState, url: str,
                      media_type_ok: Callable[[str], bool] = lambda t: t.startswith("image/")
                      ) -> bytes:
    """A remote image's bytes through the guarded fetcher, at most the upload limit; the
    fetcher's errors (`activitypub.errors`) pass through."""
    settings = st.settings
    policy = await server_blocks(st.sessions).policy(host_of(url))
    if policy is not None and (policy.suspended or policy.reject_media):
        raise BlockedAddress(f"media from {policy.domain} are refused here")
    async with Fetcher(user_agent=st.federation.user_agent, max_bytes=MAX_BYTES,
                       allow_private=settings.allow_private_networks,
                       allow_http=settings.http_allowed) as fetcher:
        return await fetcher.get_bytes(url, accept="image/*", media_type_ok=media_type_ok)


def _worth_retrying(exc: ActivityPubError) -> bool:
    """A timeout, a server error or a rate limit: maybe not next time. Refusals, 4xx, 410,
    oversize bodies and hosts that do not resolve or connect stay linked."""
    if isinstance(exc, BadResponse):
        return exc.status is not None and (exc.status >= 500 or exc.status == 429)
    return isinstance(exc, FetchTimeout)


async def _linked(st: AppState, status_id: int) -> list[MediaAttachment]:
    async with st.sessions() as session:
        return list((await session.exec(select(MediaAttachment).where(
            MediaAttachment.status_id == status_id, col(MediaAttachment.file_path).is_(None),
            col(MediaAttachment.remote_url).is_not(None), MediaAttachment.type == "image",
            MediaAttachment.state == "ready"))).all())


async def _store(st: AppState, media_id: int, url: str, processed: Processed) -> None:
    """Write the files and point the row at them, unless it changed meanwhile."""
    media_dir = st.settings.media_dir
    files: StoredFiles = await asyncio.to_thread(write_files, media_dir, processed)
    try:
        async with st.writer() as session:
            row = await session.get(MediaAttachment, media_id)
            if row is None or row.file_path is not None or row.remote_url != url:
                remove_files(media_dir, files.original, files.small)
                return
            row.file_path, row.thumbnail_path = files.original, files.small
            row.mime_type = processed.mime_type
            row.width, row.height = processed.original.width, processed.original.height
            row.blurhash = row.blurhash or processed.blurhash
            row.meta = meta_of(processed, (row.focus_x, row.focus_y))
            session.add(row)
            await session.commit()
    except BaseException:
        remove_files(media_dir, files.original, files.small)
        raise


class _Retry:
    """The first failure worth another try, of those met while copying one job's images."""

    def __init__(self, st: AppState, last_try: bool) -> None:
        self.st, self.last_try = st, last_try
        self.error: ActivityPubError | None = None

    async def copied(self, what: str, url: str, make: Callable[[bytes], T]) -> T | None:
        """`make` of the image at `url`, or None (logged) when it cannot be had."""
        try:
            data = await fetch_image(self.st, url, STILL_TYPES.__contains__)
            return await asyncio.to_thread(make, data)
        except ActivityPubError as exc:
            if _worth_retrying(exc) and not self.last_try:
                self.error = self.error or exc
            else:
                log.info("%s stays linked to %s: %s", what, url, exc)
        except MediaError as exc:
            log.info("%s stays linked to %s: %s", what, url, exc.reason)
        return None

    def done(self) -> None:
        if self.error is not None:
            raise self.error


async def copy_remote_media(st: AppState, status_id: int, *, last_try: bool = True) -> None:
    """Copy the still images of a remote status that are links yet. A failure worth
    retrying raises (the job runs again, skipping what was copied) until the last try."""
    retry = _Retry(st, last_try)
    for media in await _linked(st, status_id):
        if media.mime_type and media.mime_type.lower() not in STILL_TYPES:
            continue  # declared a GIF (or else): not asked for
        url = str(media.remote_url)
        processed = await retry.copied(f"media {media.id}", url, lambda d: render(decode(d)))
        if processed is not None:
            await _store(st, media.id, url, processed)
    retry.done()


async def copy_remote_profile(st: AppState, account_id: int, *, last_try: bool = True) -> None:
    """Copy a remote account's avatar and header where they are links yet; retried as
    `copy_remote_media`."""
    async with st.sessions() as session:
        account = await session.get(Account, account_id)
    if account is None or account.kind != "remote":
        return
    retry = _Retry(st, last_try)
    images: dict[str, ProfileImage] = {}
    urls: dict[str, str] = {}
    for kind, size in IMAGE_SIZES.items():
        url = getattr(account, f"{kind}_url")
        if not url or getattr(account, f"{kind}_path"):
            continue
        image = await retry.copied(f"the {kind} of account {account_id}", url,
                                   lambda d, size=size: profile_image(d, size))
        if image is not None:
            images[kind], urls[kind] = image, url
    if images:
        await _store_profile(st, account_id, urls, images)
    retry.done()


async def _store_profile(st: AppState, account_id: int, urls: dict[str, str],
                         images: dict[str, ProfileImage]) -> None:
    """Write the files and point the account at them, each unless its URL changed."""
    media_dir = st.settings.media_dir
    paths = await asyncio.to_thread(store_profile_images, media_dir, account_id, images)
    unused = set(paths.values())
    try:
        async with st.writer() as session:
            account = await session.get(Account, account_id)
            for kind, url in urls.items():
                if (account is not None and getattr(account, f"{kind}_url") == url
                        and not getattr(account, f"{kind}_path")):
                    setattr(account, f"{kind}_path", paths[f"{kind}_path"])
                    unused.discard(paths[f"{kind}_path"])
            if account is not None:
                session.add(account)
            await session.commit()
    except BaseException:
        unused = set(paths.values())
        raise
    finally:
        remove_files(media_dir, *unused)
