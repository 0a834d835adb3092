"""Servers an account blocks (Mastodon's user domain blocks): the rows, and the SQL that
hides those servers' accounts from the account's timelines, threads and notifications."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.relationships import Window, run_window, windowed
from models.tables import Account, DomainBlock, Follow


def blocked_accounts(viewer_id: Any) -> sa.Select:  # type: ignore[type-arg]
    """The ids of the accounts on servers `viewer_id` blocks (a query: for `NOT IN`, which
    both databases read once per statement, not once per row)."""
    return select(Account.id).join(DomainBlock, col(DomainBlock.domain) == Account.domain).where(
        DomainBlock.account_id == viewer_id)


def blocks_none(viewer_id: Any) -> sa.ColumnElement[bool]:
    """True when `viewer_id` blocks no server: an uncorrelated test, read once a statement,
    that spares the row-by-row tests of those who block none."""
    return ~sa.exists().where(DomainBlock.account_id == viewer_id)


async def domain_blocks_page(session: AsyncSession, account_id: int, window: Window
                             ) -> list[tuple[int, str]]:
    """(row id, domain) of the servers the account blocks, newest first."""
    query = select(DomainBlock.id, DomainBlock.domain).where(DomainBlock.account_id == account_id)
    return await run_window(session, windowed(query, col(DomainBlock.id), window), window)


async def blocks_domain(session: AsyncSession, account_id: int, domain: str) -> bool:
    found = await session.exec(select(DomainBlock.id).where(
        DomainBlock.account_id == account_id, DomainBlock.domain == domain))
    return found.first() is not None


async def blocked_domains(session: AsyncSession, account_id: int, domains: set[str]) -> set[str]:
    """Which of `domains` the account blocks."""
    if not domains:
        return set()
    found = await session.exec(select(DomainBlock.domain).where(
        DomainBlock.account_id == account_id, col(DomainBlock.domain).in_(sorted(domains))))
    return set(found.all())


async def add_domain_block(session: AsyncSession, account_id: int, domain: str) -> bool:
    """Block `domain` for the account (False: it was already); flushes, the caller commits."""
    if await blocks_domain(session, account_id, domain):
        return False
    session.add(DomainBlock(account_id=account_id, domain=domain))
    await session.flush()
    return True


async def remove_domain_block(session: AsyncSession, account_id: int, domain: str) -> None:
    await session.exec(sa.delete(DomainBlock).where(  # type: ignore[call-overload]
        col(DomainBlock.account_id) == account_id, col(DomainBlock.domain) == domain))


async def followers_from(session: AsyncSession, account_id: int, domain: str) -> list[Account]:
    """Accounts of `domain` that follow the account or ask to."""
    query = select(Account).join(Follow, col(Follow.account_id) == Account.id).where(
        Follow.target_account_id == account_id, Account.domain == domain)
    return list((await session.exec(query)).all())


async def blocks_server_of(session: AsyncSession, viewer_id: int, account_id: int) -> bool:
    """Whether `viewer_id` blocks the server of the account `account_id`."""
    found = await session.exec(blocked_accounts(viewer_id).where(Account.id == account_id))
    return found.first() is not None
