"""`PATCH /api/v1/accounts/update_credentials`: the profile a client sends, checked whole
before anything is stored, then written through `outbox.actions.update_profile` (it
federates an `Update` of the actor)."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from fediverse.api.errors import unprocessable
from fediverse.api.params import Params
from fediverse.media.errors import MediaError
from fediverse.media.processing import MAX_BYTES, decode
from fediverse.media.storage import write_durably
from models.ids import new_id
from models.tables import Account
from outbox import actions
from outbox.context import Context

DISPLAY_NAME_MAX = 30
NOTE_MAX = 500
FIELDS_MAX = 4
FIELD_TEXT_MAX = 255
FIELDS_PROBED = 16  # form indexes looked at: more than FIELDS_MAX, so too many are refused
PRIVACIES = ("public", "unlisted", "private")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}")
# Mastodon's sizes: avatars are cropped square, headers to 3:1
IMAGE_SIZES = {"avatar": (400, 400), "header": (1500, 500)}
JPEG_QUALITY = 90


@dataclass(frozen=True)
class ProfileImage:
    """A re-encoded avatar or header, without any metadata, ready to be written."""

    data: bytes
    extension: str


@dataclass
class ProfileChanges:
    """What a request changes; None (or absent from `fields`) leaves a thing as it is."""

    note: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # outbox.relations.PROFILE_FIELDS
    source: dict[str, Any] = field(default_factory=dict)  # Account columns kept only here
    images: dict[str, ProfileImage] = field(default_factory=dict)  # "avatar" / "header"


def profile_changes(p: Params) -> ProfileChanges:
    """Everything the request asks for, checked (422 names the first problem)."""
    found = ProfileChanges()
    display_name = p.string("display_name", max_length=DISPLAY_NAME_MAX)
    if display_name is not None:
        found.changes["display_name"] = display_name.strip()
    found.note = p.string("note", max_length=NOTE_MAX)
    for name in ("locked", "bot", "discoverable", "indexable"):
        value = p.boolean(name)
        if value is not None:
            found.changes[name] = value
    fields = _fields(p)
    if fields is not None:
        found.changes["fields"] = fields
    found.source = _source(p)
    return found


def _fields(p: Params) -> list[dict[str, str]] | None:
    """`fields_attributes[N][name]`/`[value]` (forms), or a list or object of them (JSON)."""
    raw = p.get("fields_attributes")
    pairs: dict[str, dict[str, Any]] = {}
    if isinstance(raw, list):
        pairs = {str(i): item for i, item in enumerate(raw) if isinstance(item, dict)}
    for number in range(FIELDS_PROBED):
        for part in ("name", "value"):
            value = p.get(f"fields_attributes[{number}][{part}]")
            if value is not None:
                pairs.setdefault(str(number), {})[part] = value
    if not pairs and raw is None:
        return None
    fields = []
    for index in sorted(pairs, key=int):
        name, value = (str(pairs[index].get(k) or "").strip() for k in ("name", "value"))
        if len(name) > FIELD_TEXT_MAX or len(value) > FIELD_TEXT_MAX:
            raise unprocessable("Validation failed: Fields are too long")
        if name or value:
            fields.append({"name": name, "value": value})
    if len(fields) > FIELDS_MAX:
        raise unprocessable(f"Validation failed: Fields has more than {FIELDS_MAX} entries")
    return fields


def _source(p: Params) -> dict[str, Any]:
    source: dict[str, Any] = {}
    privacy = p.string("source[privacy]")
    if privacy is not None:
        if privacy not in PRIVACIES:
            raise unprocessable("Validation failed: Privacy is not included in the list")
        source["default_privacy"] = privacy
    sensitive = p.boolean("source[sensitive]")
    if sensitive is not None:
        source["default_sensitive"] = sensitive
    language = p.string("source[language]")
    if language is not None:
        if language and not LANGUAGE_RE.fullmatch(language):
            raise unprocessable("Validation failed: Language is not a known language")
        source["default_language"] = language or None
    return source


async def read_images(p: Params, found: ProfileChanges) -> None:
    """Decode and re-encode the uploaded avatar and header (in a thread)."""
    for kind in IMAGE_SIZES:
        value = p.get(kind)
        if value is None or value == "":
            continue
        if not isinstance(value, UploadFile):
            raise unprocessable(f"Validation failed: {kind} must be an image file")
        data = await value.read(MAX_BYTES + 1)
        try:
            found.images[kind] = await asyncio.to_thread(profile_image, data, IMAGE_SIZES[kind])
        except MediaError as exc:
            raise unprocessable(exc.reason.replace("File", kind.capitalize(), 1)) from exc


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


def _store_images(media_dir: Path, account: Account, images: dict[str, ProfileImage]
                  ) -> dict[str, str]:
    """Write the images under the media directory; the paths to set on the account."""
    paths, files = {}, {}
    for kind, image in images.items():
        relative = f"accounts/{kind}s/{account.id}/{new_id()}.{image.extension}"
        files[media_dir / relative] = image.data
        paths[f"{kind}_path"] = relative
    write_durably(files)  # on disk before the account row names them
    return paths


async def apply_profile(ctx: Context, session: AsyncSession, media_dir: Path, account: Account,
                        found: ProfileChanges) -> Account:
    """Store the changes and send the `Update` (commits)."""
    for name, value in found.source.items():
        setattr(account, name, value)
    if found.note is not None:
        account.note_text = found.note
    changes = dict(found.changes)
    if found.images:
        changes.update(await asyncio.to_thread(_store_images, media_dir, account, found.images))
    return await actions.update_profile(ctx, session, account, note=found.note, **changes)
