"""Who an activity goes to: the distinct inboxes of followers and recipients, and of
everyone a status reached (for its `Delete`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import (
    Account,
    DeliveredInbox,
    Favourite,
    Follow,
    Job,
    Mention,
    OutboxActivity,
    Status,
)

DELIVER_QUEUE = "deliver"  # outbox.deliver.QUEUE (that module imports this one)


def inbox_of(account: Account) -> str | None:
    """Where to deliver to a remote account: its server's shared inbox when it has one."""
    return account.shared_inbox or account.inbox


async def follower_inboxes(session: AsyncSession, account_id: int) -> set[str]:
    """The distinct inboxes of an account's accepted remote followers (shared ones first)."""
    return await _inboxes_of_followers(session, Follow.target_account_id == account_id)


async def _inboxes_of_followers(session: AsyncSession, followed: Any) -> set[str]:
    inbox = sa.func.coalesce(Account.shared_inbox, Account.inbox)
    query = (
        select(inbox).distinct()
        .join(Follow, Follow.account_id == Account.id)  # type: ignore[arg-type]
        .where(followed, Follow.state == "accepted",
               Account.kind == "remote", Account.gone_at.is_(None),  # type: ignore[union-attr]
               inbox.is_not(None))
    )
    return {row for row in (await session.exec(query)).all() if row}


async def reached_accounts(session: AsyncSession, status: Status) -> list[Account]:
    """The remote accounts a status reached besides its author's followers, as Mastodon's
    StatusReachFinder counts them: mentioned or replied to, and those who boosted, liked
    or replied to it."""
    reached = sa.union(
        select(Mention.account_id).where(Mention.status_id == status.id),
        select(Status.account_id).where(Status.reblog_of_id == status.id),
        select(Favourite.account_id).where(Favourite.status_id == status.id),
        select(Status.account_id).where(Status.in_reply_to_id == status.id),
    )
    ids = {row[0] for row in (await session.exec(reached)).all()}  # type: ignore[call-overload]
    if status.in_reply_to_account_id is not None:
        ids.add(status.in_reply_to_account_id)
    if not ids:
        return []
    query = select(Account).where(col(Account.id).in_(ids), Account.kind == "remote",
                                  col(Account.gone_at).is_(None))
    return list((await session.exec(query)).all())


async def booster_follower_inboxes(session: AsyncSession, status_id: int) -> set[str]:
    """The inboxes of the remote followers of local accounts that boosted a status: they got
    the `Announce` and fetched the status from us without following its author."""
    boosters = select(Status.account_id).where(Status.reblog_of_id == status_id,
                                               col(Status.local).is_(True))
    return await _inboxes_of_followers(session, col(Follow.target_account_id).in_(boosters))


async def delivered_inboxes(session: AsyncSession, activity_uri: str) -> set[str]:
    """The inboxes an activity of ours was delivered (or is being delivered) to, from its
    delivery jobs: keyed `"<activity uri> <inbox>"` (outbox.deliver.dedupe_key; the rare key
    too long to keep whole is hashed, and missed here), and from those pruned into
    `delivered_inboxes` (outbox.prune)."""
    prefix = activity_uri + " "
    key = col(Job.dedupe_key)
    query = select(Job.payload).where(Job.queue == DELIVER_QUEUE,
                                      key.startswith(prefix, autoescape=True))
    if session.get_bind().dialect.name == "sqlite":  # binary order: the index finds the range
        query = query.where(key >= prefix, key < activity_uri + "!")
    rows = (await session.exec(query)).all()
    found: set[str] = set()
    for payload in rows:  # a delivery names its inbox, a fan-out job (key "<uri> *") all of them
        if isinstance(payload, dict):
            found.update(str(inbox) for inbox in payload.get("inboxes") or ())
            if payload.get("inbox"):
                found.add(str(payload["inbox"]))
    pruned = (select(DeliveredInbox.inbox)
              .join(OutboxActivity, OutboxActivity.id == DeliveredInbox.activity_id)  # type: ignore[arg-type]
              .where(OutboxActivity.uri == activity_uri))
    found.update((await session.exec(pruned)).all())
    return found


def recipient_inboxes(recipients: Iterable[Account]) -> set[str]:
    return {inbox for account in recipients
            if not account.local and (inbox := inbox_of(account)) is not None}
