"""What a finished image leads to: a pending `/imagine` status published with it, or a
generator account's reply to the status that asked, each saying how the image was made.
Each runs in the caller's transaction and commits it (the outbox actions do)."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.generation.requests import PUBLISH, REPLY
from fediverse.imaging import Provenance
from fediverse.imaging.encode import parameters_text
from models.audience import blocks
from models.tables import Account, MediaAttachment, Status
from outbox import actions
from outbox.context import Context

_TAG = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_MARKUP = re.compile(r"<[^>]+>")
_MENTION = re.compile(r"(?<![\w/])@[\w.-]+(?:@[\w.:-]+)?")
IMAGINE = "/imagine "
MADE = "AI-generated image."


def imagine_prompt(text: str) -> str | None:
    """The prompt of a status text starting with `/imagine `, else None."""
    if not text.startswith(IMAGINE):
        return None
    return text[len(IMAGINE):].strip()


def prompt_of(status: Status) -> str:
    """What a status asking a generator account wants: its text without the mentions (and
    without a leading `/imagine`)."""
    text = _unmentioned(status)
    if text.startswith(IMAGINE.strip()):
        text = text[len(IMAGINE.strip()):]
    return " ".join(text.split())


def wants_remix(status: Status) -> bool:
    """Whether a status asking a generator is a `/imagine` reply: a remix of what it
    replies to."""
    words = _unmentioned(status).split(maxsplit=1)
    return status.in_reply_to_uri is not None and words[:1] == [IMAGINE.strip()]


def _unmentioned(status: Status) -> str:
    text = status.text if status.local and status.text else _plain(status.content)
    return _MENTION.sub(" ", text).strip()


def _plain(content: str) -> str:
    return html.unescape(_MARKUP.sub("", _TAG.sub("\n", content)))


def handle_of(account: Account) -> str:
    return account.username if not account.domain else f"{account.username}@{account.domain}"


def made_with(info: Provenance) -> str:
    """The line a post carrying a generated image adds, saying how it was made (so it
    survives servers that re-encode the file): the `parameters` values but the prompt,
    which is the alt text and the post's own words."""
    return f"{MADE} " + " ".join(parameters_text(dataclasses.replace(info, prompt="")).split())


async def after_render(ctx: Context, session: AsyncSession, media: MediaAttachment,
                       then: dict[str, Any], info: Provenance) -> None:
    """Do what the request asked once its image is ready, saying how it was made; always
    commits."""
    line = made_with(info)
    if then.get("do") == PUBLISH:
        status = await session.get(Status, int(then["status_id"]))
        if status is not None and status.pending and status.deleted_at is None:
            status.text = f"{status.text}\n\n{line}"
            status.content = f"{status.content}<p>{html.escape(line, quote=False)}</p>"
            await actions.publish_pending(ctx, session, status)  # `media` is already its
            return
    elif then.get("do") == REPLY:
        asked = await session.get(Status, int(then["status_id"]))
        generator = await session.get(Account, int(then["generator_id"]))
        if asked is not None and generator is not None and asked.deleted_at is None:
            await reply(ctx, session, generator, asked, text=f"{info.prompt}\n\n{line}",
                        media=[media], visibility=then.get("visibility"))
            return
    await session.commit()


async def reply(ctx: Context, session: AsyncSession, generator: Account, asked: Status, *,
                text: str = "", media: list[MediaAttachment] | None = None,
                visibility: str | None = None) -> Status | None:
    """The generator's answer to `asked`, addressed to its author, no more visible than it
    (nor than `visibility`: a remixed post's); None (nothing sent) when the generator
    blocks the asker."""
    asker = await session.get(Account, asked.account_id)
    if asker is None or await blocks(session, generator.id, asker.id):
        await session.commit()
        return None
    return await actions.post_status(
        ctx, session, generator, text=f"@{handle_of(asker)} {text}".strip(),
        visibility=narrowest(asked.visibility, visibility), in_reply_to=asked,
        media=media or [], mentions=[asker])


def narrowest(visibility: str, other: str | None) -> str:
    """The less visible of two visibilities (`other` may be None: `visibility`)."""
    if other not in actions.VISIBILITIES:
        return visibility
    order = ("public", "unlisted", "private", "direct")
    return max(visibility, other, key=order.index)
