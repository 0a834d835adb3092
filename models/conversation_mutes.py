"""Muted threads (Mastodon's conversation mutes): muting and unmuting one, and leaving out
the notifications that come from a muted thread's statuses.

A thread is known by its key: the `conversation` its statuses carry, else a status's own uri
(`thread_key`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import ConversationMute

_MUTES = ConversationMute.__table__  # type: ignore[attr-defined]


def thread_key(conversation: str | None, uri: str) -> str:
    return conversation or uri


def status_thread(status: Any) -> str:
    """The key of the thread `status` (a row of the statuses table) belongs to."""
    return thread_key(status.conversation, status.uri)


async def mute_thread(session: AsyncSession, account_id: int, key: str) -> None:
    """Mute the thread for `account_id` (again: nothing changes). Commits."""
    found = (await session.exec(select(ConversationMute.id).where(
        ConversationMute.account_id == account_id, ConversationMute.conversation == key))).first()
    if found is not None:
        return
    session.add(ConversationMute(account_id=account_id, conversation=key))
    try:
        await session.commit()
    except IntegrityError:  # muted at the same moment by another request
        await session.rollback()


async def unmute_thread(session: AsyncSession, account_id: int, key: str) -> None:
    """Commits."""
    await session.exec(delete(ConversationMute).where(  # type: ignore[call-overload]
        col(ConversationMute.account_id) == account_id, col(ConversationMute.conversation) == key))
    await session.commit()


def _pairs_query(pairs: set[tuple[int, str]]) -> Any:
    return sa.select(_MUTES.c.account_id, _MUTES.c.conversation).where(
        _MUTES.c.account_id.in_(sorted({a for a, _ in pairs})),
        _MUTES.c.conversation.in_(sorted({k for _, k in pairs})))


def muted_pairs(conn: sa.Connection, pairs: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of the (account id, thread key) pairs are muted ones."""
    wanted = set(pairs)
    if not wanted:
        return set()
    return {(a, k) for a, k in conn.execute(_pairs_query(wanted)).all() if (a, k) in wanted}


async def muting_accounts(session: AsyncSession, account_ids: Iterable[int], key: str) -> set[int]:
    """Which of `account_ids` muted the thread `key`."""
    wanted = {(a, key) for a in account_ids}
    if not wanted:
        return set()
    rows = (await session.exec(_pairs_query(wanted))).all()  # type: ignore[call-overload]
    return {a for a, k in rows if (a, k) in wanted}


def unmuted_rows(conn: sa.Connection, rows: Sequence[dict[str, Any]], keys: Mapping[int, str]
                 ) -> list[dict[str, Any]]:
    """Notification rows (to insert) but those whose account muted the thread of their
    status; `keys` gives the thread of each status id."""
    pairs = {(r["account_id"], keys[r["status_id"]]) for r in rows if r.get("status_id") in keys}
    muted = muted_pairs(conn, pairs)
    if not muted:
        return list(rows)
    return [r for r in rows if (r["account_id"], keys.get(r.get("status_id") or 0)) not in muted]


def muting_clause(account_id: Any, key: str) -> sa.ColumnElement[bool]:
    """SQL: the account (a column or a value) muted the thread `key`."""
    return sa.exists().where(_MUTES.c.account_id == account_id, _MUTES.c.conversation == key)
