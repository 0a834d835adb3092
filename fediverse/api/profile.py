"""`PATCH /api/v1/accounts/update_credentials`: the profile a client sends, checked whole
before anything is stored, then written through `outbox.actions.update_profile` (it
federates an `Update` of the actor)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from fediverse.api.errors import unprocessable
from fediverse.api.params import Params
from fediverse.media.errors import MediaError
from fediverse.media.processing import MAX_BYTES
from fediverse.media.profile_images import (
    IMAGE_SIZES,
    ProfileImage,
    profile_image,
    store_profile_images,
)
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


async def apply_profile(ctx: Context, session: AsyncSession, media_dir: Path, account: Account,
                        found: ProfileChanges) -> Account:
    """Store the changes and send the `Update` (commits)."""
    for name, value in found.source.items():
        setattr(account, name, value)
    if found.note is not None:
        account.note_text = found.note
    changes = dict(found.changes)
    if found.images:
        changes.update(await asyncio.to_thread(store_profile_images, media_dir, account.id,
                                               found.images))
    return await actions.update_profile(ctx, session, account, note=found.note, **changes)
