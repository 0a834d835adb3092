"""Mastodon's `status` notification: the local accounts that follow an author with
`notify` on hear of each new post of theirs (not boosts, direct posts, or replies to others)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Follow, Notification, Status

_FOLLOWS = Follow.__table__  # type: ignore[attr-defined]
_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]
# through the partial index on follows(target_account_id) WHERE notify
_SUBSCRIBERS = (sa.select(_FOLLOWS.c.account_id)
                .join(_ACCOUNTS, _ACCOUNTS.c.id == _FOLLOWS.c.account_id)
                .where(_FOLLOWS.c.target_account_id == sa.bindparam("author"),
                       _FOLLOWS.c.notify.is_(True), _FOLLOWS.c.state == "accepted",
                       _ACCOUNTS.c.domain == ""))


def notifies(status: Any) -> bool:
    """Whether a new status is one its author's subscribers hear of."""
    return (status.reblog_of_id is None and status.visibility != "direct"
            and status.in_reply_to_account_id in (None, status.account_id))


def subscribers(conn: sa.Connection, status: Any) -> list[int]:
    """The local accounts to notify of `status` (none when it is not such a post)."""
    if not notifies(status):
        return []
    return [row[0] for row in conn.execute(_SUBSCRIBERS, {"author": status.account_id})
            if row[0] != status.account_id]


async def notify_subscribers(session: AsyncSession, status: Status,
                             mentioned: Iterable[int] = ()) -> None:
    """Add the `status` notifications of a new post, but for the `mentioned` accounts (they
    get a mention); the caller commits."""
    if not notifies(status):
        return
    skip = set(mentioned)
    found = await session.exec(_SUBSCRIBERS, params={"author": status.account_id})
    for (account_id,) in found.all():
        if account_id != status.account_id and account_id not in skip:
            session.add(Notification(account_id=account_id, from_account_id=status.account_id,
                                     type="status", status_id=status.id))
