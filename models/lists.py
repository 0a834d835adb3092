"""Lists: an account's lists of accounts it follows, and who is in them.

A member hangs off the owner's follow of it (`ListAccount.follow_id`), so unfollowing,
blocking or a rejected follow takes it out of every list, as in Mastodon. The lists'
timelines are read in `models.timelines`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.relationships import Window, run_window, windowed
from models.tables import Account, Follow, List, ListAccount

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 50  # per account, as Mastodon


class MembershipError(Exception):
    """An account that cannot join the list: `missing` ids name no account; else `reason`."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.missing = reason, missing


async def lists_of(session: AsyncSession, owner_id: int) -> list[List]:
    query = select(List).where(List.account_id == owner_id).order_by(col(List.id))
    return list((await session.exec(query)).all())


async def count_lists(session: AsyncSession, owner_id: int) -> int:
    query = select(sa.func.count()).select_from(List).where(List.account_id == owner_id)
    return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def find_list(session: AsyncSession, owner_id: int, list_id: int) -> List | None:
    """The list `list_id` if `owner_id` owns it."""
    found = await session.get(List, list_id)
    return found if found is not None and found.account_id == owner_id else None


async def lists_holding(session: AsyncSession, owner_id: int, account_id: int) -> list[List]:
    """The owner's lists that `account_id` is in."""
    query = (select(List).join(ListAccount, col(ListAccount.list_id) == List.id)
             .where(List.account_id == owner_id, ListAccount.account_id == account_id)
             .order_by(col(List.id)))
    return list((await session.exec(query)).all())


async def is_list_member(session: AsyncSession, list_id: int, account_id: int) -> bool:
    query = select(ListAccount.id).where(ListAccount.list_id == list_id,
                                         ListAccount.account_id == account_id)
    return (await session.exec(query)).first() is not None


async def members(session: AsyncSession, list_id: int, window: Window | None
                  ) -> list[tuple[int, Account]]:
    """(membership id, account), newest membership first; all of them without a window."""
    query = (select(ListAccount.id, Account).join(Account, col(Account.id) == ListAccount.account_id)
             .where(ListAccount.list_id == list_id))
    if window is None:
        return list((await session.exec(query.order_by(col(ListAccount.id).desc()))).all())
    return await run_window(session, windowed(query, col(ListAccount.id), window), window)


async def add_members(session: AsyncSession, found: List, account_ids: Sequence[int]) -> None:
    """Add accounts the owner follows; raises MembershipError (nothing added) for an
    unknown account, one not followed, or one already in the list. No commit."""
    ids = list(dict.fromkeys(account_ids))
    follows = dict((await session.exec(select(Follow.target_account_id, Follow.id).where(
        Follow.account_id == found.account_id, col(Follow.target_account_id).in_(ids),
        Follow.state == "accepted"))).all())
    known = set((await session.exec(select(Account.id).where(col(Account.id).in_(ids)))).all())
    present = set((await session.exec(select(ListAccount.account_id).where(
        ListAccount.list_id == found.id, col(ListAccount.account_id).in_(ids)))).all())
    for account_id in ids:
        if account_id not in known:
            raise MembershipError("Record not found", missing=True)
        if account_id not in follows:
            raise MembershipError("Validation failed: Account must be followed first")
        if account_id in present:
            raise MembershipError("Validation failed: Account has already been taken")
    for account_id in ids:
        session.add(ListAccount(list_id=found.id, account_id=account_id,
                                follow_id=follows[account_id]))


async def remove_members(session: AsyncSession, found: List, account_ids: Sequence[int]) -> None:
    """Take the accounts out of the list (those not in it are ignored). No commit."""
    await session.exec(sa.delete(ListAccount).where(  # type: ignore[call-overload]
        col(ListAccount.list_id) == found.id, col(ListAccount.account_id).in_(list(account_ids))))
