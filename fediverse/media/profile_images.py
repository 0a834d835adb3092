"""Avatars and headers, from bytes to files: an account's own uploads
(`fediverse.api.profile`) and the copies of remote accounts' (`fediverse.media.remote`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from fediverse.media.processing import decode
from fediverse.media.storage import write_durably
from models.ids import new_id

# Mastodon's sizes: avatars are cropped square, headers to 3:1
IMAGE_SIZES = {"avatar": (400, 400), "header": (1500, 500)}
JPEG_QUALITY = 90


@dataclass(frozen=True)
class ProfileImage:
    """A re-encoded avatar or header, without any metadata, ready to be written."""

    data: bytes
    extension: str


def profile_image(data: bytes, size: tuple[int, int]) -> ProfileImage:
    """An upload cropped to `size` (smaller ones only cropped to its shape), without EXIF:
    PNG when it has transparency or was a PNG or GIF, JPEG otherwise."""
    decoded = decode(data)
    image = decoded.image
    scale = min(1.0, max(image.width / size[0], image.height / size[1]))
    if image.width > size[0] or image.height > size[1]:
        target = (size[0], size[1])
    else:
        target = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
        target = (min(target[0], image.width), min(target[1], image.height))
    image = ImageOps.fit(image, target, Image.Resampling.LANCZOS)
    png = image.mode == "RGBA" or decoded.source_format in ("PNG", "GIF")
    buffer = io.BytesIO()
    if png:
        image.save(buffer, "PNG", optimize=False, compress_level=6)
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ProfileImage(data=buffer.getvalue(), extension="png" if png else "jpg")


def store_profile_images(media_dir: Path, account_id: int, images: dict[str, ProfileImage]
                         ) -> dict[str, str]:
    """Write the images under the media directory; the paths to set on the account
    (`avatar_path`, `header_path`)."""
    paths, files = {}, {}
    for kind, image in images.items():
        relative = f"accounts/{kind}s/{account_id}/{new_id()}.{image.extension}"
        files[media_dir / relative] = image.data
        paths[f"{kind}_path"] = relative
    write_durably(files)  # on disk before the account row names them
    return paths
