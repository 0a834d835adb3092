"""A generation request: checked against the model's limits and the server's (queue and
asker) before anything is stored, then a processing MediaAttachment and a durable "render"
job, in the caller's transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.generation.limits import Asker, check_limits
from fediverse.imaging import request as limits
from fediverse.imaging.defaults import defaults_for
from fediverse.imaging.generate import random_seed
from fediverse.settings import Settings
from models.generation_jobs import enqueue_render
from models.tables import MediaAttachment

# what happens once the image exists (the job payload's "then")
KEEP = "keep"  # nothing: the media waits to be attached (POST /api/v1/generations)
PUBLISH = "publish"  # attach it to a pending status and publish that (`/imagine`)
REPLY = "reply"  # a generator account replies with it to the status that asked
REMIX_STRENGTH = 0.5  # how far a remix moves from its image (sd-turbo's own suggestion)


@dataclass(frozen=True)
class Ask:
    """What was asked; None: the model's default (a seed is drawn)."""

    prompt: str
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    width: int | None = None
    height: int | None = None
    source_media_id: int | None = None  # a remix: image to image from this attachment


def resolved(ask: Ask, model: str) -> Ask:
    """`ask` with its seed drawn and the model's known defaults filled in; raises
    fediverse.imaging.InvalidRequest when it is outside the model's limits. A remix takes
    its size from its image, and enough steps that one runs at REMIX_STRENGTH."""
    seed = random_seed() if ask.seed is None else ask.seed
    negatives = None if ask.negative_prompt is None else [ask.negative_prompt]
    limits.check_prompts([ask.prompt], negatives, [seed])
    known = defaults_for(model)
    if ask.steps is not None:
        limits.check_steps(ask.steps)
    if ask.source_media_id is not None:
        steps = ask.steps or (None if known.steps is None
                              else max(known.steps, math.ceil(1 / REMIX_STRENGTH)))
        return Ask(prompt=ask.prompt, negative_prompt=ask.negative_prompt or None, seed=seed,
                   steps=steps, source_media_id=ask.source_media_id)
    for value, name in ((ask.width, "width"), (ask.height, "height")):
        if value is not None:
            limits.check_side(value, name, known.max_side)
    return Ask(prompt=ask.prompt, negative_prompt=ask.negative_prompt or None, seed=seed,
               steps=ask.steps or known.steps, width=ask.width or known.width,
               height=ask.height or known.height)


async def request_generation(session: AsyncSession, settings: Settings, account_id: int,
                             ask: Ask, then: dict[str, Any] | None = None, *,
                             asker: Asker | None = None, for_status: int | None = None
                             ) -> MediaAttachment:
    """A processing image of `account_id`'s (alt text: the prompt) and its render job, added
    to the caller's transaction (it commits). `asker` (default: that account) is who the
    limits count it against; `for_status` the status it publishes or answers. Raises
    InvalidRequest (LimitReached over a limit), adding nothing."""
    ask = resolved(ask, settings.image_model)
    asker = asker or Asker(account_id)
    await check_limits(session, settings, asker)
    media = MediaAttachment(account_id=account_id, type="image", description=ask.prompt,
                            state="processing", meta={"focus": {"x": 0.0, "y": 0.0}})
    session.add(media)
    await session.flush()
    payload = payload_of(media.id, ask, then or {"do": KEEP})
    payload |= {"asker": str(asker.account_id), "asker_domain": asker.domain,
                "for_status": None if for_status is None else str(for_status)}
    await enqueue_render(session, payload)
    return media


def payload_of(media_id: int, ask: Ask, then: dict[str, Any]) -> dict[str, Any]:
    return {"media_id": media_id, "prompt": ask.prompt, "negative_prompt": ask.negative_prompt,
            "seed": ask.seed, "steps": ask.steps, "width": ask.width, "height": ask.height,
            "source_media_id": ask.source_media_id, "then": then}


def ask_of(payload: dict[str, Any]) -> Ask:
    """The request a render job carries."""
    return Ask(prompt=payload["prompt"], negative_prompt=payload.get("negative_prompt"),
               seed=payload["seed"], steps=payload.get("steps"), width=payload.get("width"),
               height=payload.get("height"), source_media_id=payload.get("source_media_id"))
