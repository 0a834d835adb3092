"""What one account is to others: follows, requests, blocks and mutes, read in batches;
mutes written here (they stay on this server and never federate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, AccountNote, AccountPin, Block, DomainBlock, Follow, Mute
from models.types import utcnow


@dataclass
class Relation:
    """One viewer's relationship to one account, as Mastodon's Relationship entity holds it."""

    id: int
    following: bool = False
    requested: bool = False
    followed_by: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _live_mute():  # type: ignore[no-untyped-def]
    return Mute.expires_at.is_(None) | (col(Mute.expires_at) > utcnow())  # type: ignore[union-attr]


async def relations(session: AsyncSession, viewer_id: int, target_ids: Sequence[int]
                    ) -> list[Relation]:
    """The viewer's relationship to each target, in the order given (eight queries in all)."""
    found = {i: Relation(id=i) for i in target_ids}
    if not found:
        return []
    ids = list(found)
    mine = await session.exec(select(Follow.target_account_id, Follow.state, Follow.notify,
                                     Follow.show_reblogs, Follow.languages).where(
        Follow.account_id == viewer_id, col(Follow.target_account_id).in_(ids)))
    for target, state, notify, reblogs, languages in mine.all():
        found[target].following, found[target].requested = state == "accepted", state == "pending"
        found[target].extra.update(notifying=notify, showing_reblogs=reblogs, languages=languages)
    theirs = await session.exec(select(Follow.account_id, Follow.state).where(
        Follow.target_account_id == viewer_id, col(Follow.account_id).in_(ids)))
    for source, state in theirs.all():
        found[source].followed_by = state == "accepted"
        found[source].requested_by = state == "pending"
    blocks = await session.exec(select(Block.account_id, Block.target_account_id).where(
        sa.and_(col(Block.account_id) == viewer_id, col(Block.target_account_id).in_(ids))
        | sa.and_(col(Block.target_account_id) == viewer_id, col(Block.account_id).in_(ids))))
    for source, target in blocks.all():
        if source == viewer_id and target in found:
            found[target].blocking = True
        if target == viewer_id and source in found:
            found[source].blocked_by = True
    mutes = await session.exec(select(Mute.target_account_id, Mute.notifications).where(
        Mute.account_id == viewer_id, col(Mute.target_account_id).in_(ids), _live_mute()))
    for target, notifications in mutes.all():
        found[target].muting, found[target].muting_notifications = True, notifications
    servers = await session.exec(select(Account.id).join(
        DomainBlock, col(DomainBlock.domain) == Account.domain).where(
        DomainBlock.account_id == viewer_id, col(Account.id).in_(ids)))
    for target in servers.all():
        found[target].extra["domain_blocking"] = True
    notes = await session.exec(select(AccountNote.target_account_id, AccountNote.comment).where(
        AccountNote.account_id == viewer_id, col(AccountNote.target_account_id).in_(ids)))
    for target, comment in notes.all():
        found[target].extra["note"] = comment
    pins = await session.exec(select(AccountPin.target_account_id).where(
        AccountPin.account_id == viewer_id, col(AccountPin.target_account_id).in_(ids)))
    for target in pins.all():
        found[target].extra["endorsed"] = True
    return [found[i] for i in target_ids]


async def relation(session: AsyncSession, viewer_id: int, target_id: int) -> Relation:
    return (await relations(session, viewer_id, [target_id]))[0]


async def mute(session: AsyncSession, account: Account, target: Account, *,
               notifications: bool = True, duration: int = 0) -> Mute:
    """Mute `target` (for `duration` seconds; 0: until unmuted), or change the mute. Commits."""
    expires = utcnow() + timedelta(seconds=duration) if duration > 0 else None
    row = (await session.exec(select(Mute).where(
        Mute.account_id == account.id, Mute.target_account_id == target.id))).first()
    if row is None:
        row = Mute(account_id=account.id, target_account_id=target.id)
    row.notifications, row.expires_at = notifications, expires
    session.add(row)
    await session.commit()
    return row


async def unmute(session: AsyncSession, account: Account, target: Account) -> bool:
    """End a mute; False when there was none. Commits."""
    row = (await session.exec(select(Mute).where(
        Mute.account_id == account.id, Mute.target_account_id == target.id))).first()
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def muted_ids(session: AsyncSession, account_id: int, *, notifications: bool = False
                    ) -> set[int]:
    """Who `account_id` mutes now (only those muted with notifications, when asked)."""
    query = select(Mute.target_account_id).where(Mute.account_id == account_id, _live_mute())
    if notifications:
        query = query.where(Mute.notifications.is_(True))  # type: ignore[attr-defined]
    return set((await session.exec(query)).all())


@dataclass(frozen=True)
class Window:
    """A newest-first page of rows by their id."""

    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    offset: int = 0


def windowed(query: Any, id_column: Any, window: Window) -> Any:
    """`query` cut to the window: ids below max_id, above since_id/min_id, newest first
    (min_id pages read upwards from min_id; the caller turns them around)."""
    if window.max_id is not None:
        query = query.where(id_column < window.max_id)
    if window.since_id is not None:
        query = query.where(id_column > window.since_id)
    if window.min_id is not None:
        return query.where(id_column > window.min_id).order_by(id_column.asc()).limit(window.limit)
    return query.order_by(id_column.desc()).offset(window.offset).limit(window.limit)


async def run_window(session: AsyncSession, query: Any, window: Window) -> list[Any]:
    rows = list((await session.exec(query)).all())
    return rows[::-1] if window.min_id is not None else rows


async def follow_accounts(session: AsyncSession, account_id: int, *, direction: str,
                          state: str, window: Window) -> list[tuple[int, Account]]:
    """(follow id, account) of those following `account_id` (direction 'followers') or
    followed by it ('following'), in `state`, newest follow first."""
    if direction == "followers":
        mine, other = Follow.target_account_id, Follow.account_id
    else:
        mine, other = Follow.account_id, Follow.target_account_id
    query = select(Follow.id, Account).join(Account, col(Account.id) == other).where(
        mine == account_id, Follow.state == state)
    return await run_window(session, windowed(query, col(Follow.id), window), window)


async def familiar(session: AsyncSession, viewer_id: int, target_ids: Sequence[int]
                   ) -> dict[int, list[Account]]:
    """For each target: the accounts `viewer_id` follows that follow it (accepted follows,
    suspended accounts left out), the viewer's newest follow first."""
    found: dict[int, list[Account]] = {i: [] for i in target_ids}
    if not target_ids:
        return found
    mine, theirs = aliased(Follow), aliased(Follow)
    query = (select(theirs.target_account_id, Account)
             .join(mine, mine.target_account_id == Account.id)
             .join(theirs, theirs.account_id == Account.id)
             .where(mine.account_id == viewer_id, mine.state == "accepted",
                    theirs.state == "accepted", col(theirs.target_account_id).in_(target_ids),
                    col(Account.suspended_at).is_(None))
             .order_by(col(mine.id).desc()))
    for target_id, account in (await session.exec(query)).all():
        found[target_id].append(account)
    return found


async def blocked_accounts(session: AsyncSession, account_id: int, window: Window
                           ) -> list[tuple[int, Account]]:
    query = select(Block.id, Account).join(
        Account, col(Account.id) == Block.target_account_id).where(Block.account_id == account_id)
    return await run_window(session, windowed(query, col(Block.id), window), window)


async def muted_accounts(session: AsyncSession, account_id: int, window: Window
                         ) -> list[tuple[int, Account]]:
    query = select(Mute.id, Account).join(
        Account, col(Account.id) == Mute.target_account_id).where(
        Mute.account_id == account_id, _live_mute())
    return await run_window(session, windowed(query, col(Mute.id), window), window)


NOTE_MAX = 2000  # characters, as Mastodon's account notes


async def set_note(session: AsyncSession, account_id: int, target_id: int, comment: str) -> None:
    """Keep the private note `account_id` writes on `target_id`; an empty one is removed.
    The caller commits."""
    row = (await session.exec(select(AccountNote).where(
        AccountNote.account_id == account_id, AccountNote.target_account_id == target_id))).first()
    if not comment:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        row = AccountNote(account_id=account_id, target_account_id=target_id)
    row.comment, row.updated_at = comment, utcnow()
    session.add(row)


async def endorse(session: AsyncSession, account_id: int, target_id: int) -> bool:
    """Feature `target_id` on `account_id`'s profile; False when it is not followed (as
    Mastodon: only a followed account may be). Endorsing twice changes nothing. The caller
    commits."""
    followed = (await session.exec(select(Follow.id).where(
        Follow.account_id == account_id, Follow.target_account_id == target_id,
        Follow.state == "accepted"))).first()
    if followed is None:
        return False
    if (await session.exec(select(AccountPin.id).where(
            AccountPin.account_id == account_id,
            AccountPin.target_account_id == target_id))).first() is None:
        session.add(AccountPin(account_id=account_id, target_account_id=target_id))
    return True


async def unendorse(session: AsyncSession, account_id: int, target_id: int) -> None:
    await session.exec(sa.delete(AccountPin).where(  # type: ignore[call-overload]
        AccountPin.account_id == account_id, AccountPin.target_account_id == target_id))


async def endorsed_accounts(session: AsyncSession, account_id: int, window: Window
                            ) -> list[tuple[int, Account]]:
    """(pin id, account) of those `account_id` endorses, newest endorsement first."""
    query = select(AccountPin.id, Account).join(
        Account, col(Account.id) == AccountPin.target_account_id).where(
        AccountPin.account_id == account_id, col(Account.suspended_at).is_(None))
    return await run_window(session, windowed(query, col(AccountPin.id), window), window)


async def count_follow_requests(session: AsyncSession, account_id: int) -> int:
    query = select(sa.func.count()).select_from(Follow).where(
        Follow.target_account_id == account_id, Follow.state == "pending")
    return int((await session.exec(query)).one())


async def set_follow_options(session: AsyncSession, account_id: int, target_id: int, *,
                             notify: bool | None = None, reblogs: bool | None = None,
                             languages: list[str] | None | bool = False) -> None:
    """Keep what the follower asked for on their follow (request) of target, when given
    (`languages=False`: not given; None: all languages). The caller commits."""
    row = (await session.exec(select(Follow).where(
        Follow.account_id == account_id, Follow.target_account_id == target_id))).first()
    if row is None:
        return
    if notify is not None:
        row.notify = notify
    if reblogs is not None:
        row.show_reblogs = reblogs
    if languages is not False:
        row.languages = languages  # type: ignore[assignment]
    session.add(row)
