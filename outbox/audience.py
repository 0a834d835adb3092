"""Who an activity goes to: the distinct inboxes of followers and recipients."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Follow


def inbox_of(account: Account) -> str | None:
    """Where to deliver to a remote account: its server's shared inbox when it has one."""
    return account.shared_inbox or account.inbox


async def follower_inboxes(session: AsyncSession, account_id: int) -> set[str]:
    """The distinct inboxes of an account's accepted remote followers (shared ones first)."""
    inbox = sa.func.coalesce(Account.shared_inbox, Account.inbox)
    query = (
        select(inbox).distinct()
        .join(Follow, Follow.account_id == Account.id)  # type: ignore[arg-type]
        .where(Follow.target_account_id == account_id, Follow.state == "accepted",
               Account.kind == "remote", Account.gone_at.is_(None),  # type: ignore[union-attr]
               inbox.is_not(None))
    )
    return {row for row in (await session.exec(query)).all() if row}


def recipient_inboxes(recipients: Iterable[Account]) -> set[str]:
    return {inbox for account in recipients
            if not account.local and (inbox := inbox_of(account)) is not None}
