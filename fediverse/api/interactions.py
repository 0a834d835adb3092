"""What an account does to a status from the client API: favourite, boost, bookmark, pin,
mute its thread, delete. Favourites, boosts and deletes go through `outbox.actions` (they
federate); bookmarks and thread mutes stay here."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.errors import ApiError, not_found, unprocessable
from fediverse.api.posting import writer
from fediverse.state import AppState
from models.conversation_mutes import mute_thread, status_thread, unmute_thread
from models.status_queries import own_status, visible_status
from models.tables import Account, Bookmark, Pin, Status
from outbox import actions

MAX_PINS = 5


async def _visible(session: AsyncSession, account_id: int, status_id: int) -> tuple[Account, Status]:
    account = await session.get(Account, account_id)
    assert account is not None
    status = await visible_status(session, status_id, account)
    if status is None:
        raise not_found()
    return account, status


async def _original(session: AsyncSession, account: Account, status: Status) -> Status:
    """A boost stands for the status it boosts."""
    if status.reblog_of_id is None:
        return status
    original = await visible_status(session, status.reblog_of_id, account)
    if original is None:
        raise not_found()
    return original


async def favourite(st: AppState, account_id: int, status_id: int, *, undo: bool = False
                    ) -> Status:
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        status = await _original(session, account, status)
        if undo:
            await actions.unfavourite(st.federation, session, account, status)
        else:
            await actions.favourite(st.federation, session, account, status)
        return status


async def reblog(st: AppState, account_id: int, status_id: int, visibility: str | None
                 ) -> Status:
    """Boost; answers the boost. Only public and unlisted statuses can be boosted."""
    if visibility is not None and visibility not in actions.VISIBILITIES:
        raise unprocessable("Validation failed: Visibility is not included in the list")
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        status = await _original(session, account, status)
        if status.visibility not in ("public", "unlisted"):
            raise ApiError(403, "This action is not allowed")
        return await actions.reblog(st.federation, session, account, status,
                                    visibility=visibility or "public")


async def unreblog(st: AppState, account_id: int, status_id: int) -> Status:
    """Undo a boost; answers the boosted status."""
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        status = await _original(session, account, status)
        await actions.unreblog(st.federation, session, account, status)
        return status


async def bookmark(st: AppState, account_id: int, status_id: int, *, undo: bool = False
                   ) -> Status:
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        status = await _original(session, account, status)
        row = (await session.exec(select(Bookmark).where(
            Bookmark.account_id == account_id, Bookmark.status_id == status.id))).first()
        if undo and row is not None:
            await session.delete(row)
        elif not undo and row is None:
            session.add(Bookmark(account_id=account_id, status_id=status.id))
        await session.commit()
        return status


async def pin(st: AppState, account_id: int, status_id: int, *, undo: bool = False) -> Status:
    """Feature one's own status on one's profile (at most five; never a direct one)."""
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        row = (await session.exec(select(Pin).where(
            Pin.account_id == account_id, Pin.status_id == status.id))).first()
        if undo:
            if row is not None:
                await session.delete(row)
                await session.commit()
            return status
        if status.account_id != account_id or status.reblog_of_id is not None:
            raise unprocessable("Validation failed: Someone else's post cannot be pinned")
        if status.visibility == "direct":
            raise unprocessable("Validation failed: Direct posts cannot be pinned")
        if row is None:
            count = len((await session.exec(select(Pin.id).where(Pin.account_id == account_id))).all())
            if count >= MAX_PINS:
                raise unprocessable(f"Validation failed: You cannot pin more than {MAX_PINS} posts")
            session.add(Pin(account_id=account_id, status_id=status.id))
            await session.commit()
        return status


async def mute(st: AppState, account_id: int, status_id: int, *, undo: bool = False) -> Status:
    """Mute (or unmute) the thread of a status: no notifications from its statuses (a boost
    stands for the boosted status's thread)."""
    async with writer(st) as session:
        account, status = await _visible(session, account_id, status_id)
        status = await _original(session, account, status)
        if undo:
            await unmute_thread(session, account_id, status_thread(status))
        else:
            await mute_thread(session, account_id, status_thread(status))
        return status


async def delete(st: AppState, account_id: int, status_id: int) -> Status:
    """Delete one's own status (a boost is undone); answers the deleted status."""
    async with writer(st) as session:
        account = await session.get(Account, account_id)
        assert account is not None
        status = await own_status(session, status_id, account)
        if status is None:
            raise not_found()
        if status.reblog_of_id is not None:
            original = await session.get(Status, status.reblog_of_id)
            assert original is not None
            await actions.unreblog(st.federation, session, account, original)
            return status
        return await actions.delete_status(st.federation, session, status)
