"""Generation jobs in the durable queue: what the inbox and the API enqueue for the
"generate" queue (the work itself is in `fediverse.generation`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.queue import enqueue
from models.tables import Account, Job, Status

QUEUE = "generate"
RENDER = "render"  # one image: payload from `fediverse.generation.requests`
MENTION = "mention"  # a status mentioning a generator account: answer it with an image
ATTEMPTS = 3


async def enqueue_render(session: AsyncSession, payload: dict[str, Any]) -> Job:
    """Queue one image to render, in the caller's transaction."""
    job = await enqueue(session, QUEUE, RENDER, payload, max_attempts=ATTEMPTS)
    assert job is not None  # no dedupe key: always added
    return job


async def enqueue_generator_mentions(session: AsyncSession, status: Status,
                                     mentioned: Sequence[Account]) -> None:
    """For each local generator account `status` mentions (not its own author), a job to
    answer with an image; once per status and generator."""
    for account in mentioned:
        if account.generator and account.domain == "" and account.id != status.account_id:
            await enqueue(session, QUEUE, MENTION,
                          {"status_id": status.id, "generator_id": account.id},
                          dedupe_key=f"mention:{status.id}:{account.id}",
                          max_attempts=ATTEMPTS)
