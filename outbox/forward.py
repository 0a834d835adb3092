"""Inbox forwarding, as Mastodon does it: a public or unlisted reply to a local post, from
an actor elsewhere, that carries its actor's Linked Data signature, goes on to the followers
of the local author, body as received. Our HTTP signature is not its actor's, so their
servers take it on the LD signature (as `inbox.relayed` does here). Without an LD signature
nothing is forwarded: the receivers could not trust it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import first, host_of, id_of, type_of
from models.tables import Account, Status
from outbox.context import Context
from outbox.deliver import publish

FORWARDED = frozenset({"public", "unlisted"})  # Mastodon's "distributable"


async def forward_reply(ctx: Context, session: AsyncSession, raw: dict[str, Any],
                        activity: dict[str, Any], actor: Account) -> int:
    """Plan the forwarding of `raw` (as received; `activity` is it normalised, applied
    already in `session`) when it is such a reply; returns how many deliveries."""
    if not isinstance(raw.get("signature"), dict) or not isinstance(raw.get("id"), str):
        return 0
    if "Create" not in type_of(activity) or actor.kind != "remote" or not actor.domain:
        return 0
    uri = id_of(first(activity.get("object")))
    if not uri:
        return 0
    status = (await session.exec(select(Status).where(Status.uri == uri))).first()
    if (status is None or status.account_id != actor.id or status.local
            or status.visibility not in FORWARDED or status.in_reply_to_id is None
            or status.deleted_at is not None):
        return 0
    parent = await session.get(Status, status.in_reply_to_id)
    if parent is None or not parent.local or parent.deleted_at is not None:
        return 0
    author = await session.get(Account, parent.account_id)
    if author is None or not author.local or not author.private_key_pem:
        return 0
    return await publish(ctx, session, raw, sender=author,
                         exclude_hosts=[host_of(actor.uri or "") or actor.domain])
