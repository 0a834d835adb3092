"""Local actions between accounts: follow, accept, reject, block, profile updates.

Each action is one transaction: it writes the rows, enqueues the deliveries in the same
session, commits, and wakes the delivery worker. Local counterparts need no HTTP: their
rows and notifications are written directly. `send_*` helpers do not commit (the inbox
uses them inside its own transaction).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.actor import build_actor
from models.conversation_mutes import muting_accounts, status_thread
from models.ids import new_id
from models.tables import Account, Block, Follow, Notification, Status
from models.types import utcnow
from outbox import activities
from outbox.actors import actor_id, load_actor_fields
from outbox.content import text_to_html
from outbox.context import Context
from outbox.deliver import publish


async def done(ctx: Context, session: AsyncSession) -> None:
    """Commit the action, then wake a delivery worker in this process."""
    await session.commit()
    ctx.wake.set()


def notify(session: AsyncSession, account: Account, sender: Account, type: str,
           status_id: int | None = None) -> None:
    """A notification for a local account (never for remote ones, never of oneself)."""
    if account.local and account.id != sender.id:
        session.add(Notification(account_id=account.id, from_account_id=sender.id, type=type,
                                 status_id=status_id))


async def notify_of_status(session: AsyncSession, accounts: list[Account], sender: Account,
                           type: str, status: Status) -> None:
    """`notify` each of `accounts` of `status`, but those who muted its thread."""
    wanted = [a for a in accounts if a.local and a.id != sender.id]
    muted = await muting_accounts(session, [a.id for a in wanted], status_thread(status))
    for account in wanted:
        if account.id not in muted:
            notify(session, account, sender, type, status.id)


async def find_follow(session: AsyncSession, follower: Account, target: Account) -> Follow | None:
    query = select(Follow).where(Follow.account_id == follower.id,
                                 Follow.target_account_id == target.id)
    return (await session.exec(query)).first()


def follow_activity(ctx: Context, follow: Follow, follower: Account, target: Account
                    ) -> dict[str, Any]:
    """The `Follow` a follow row stands for (ours, or the one a remote follower sent)."""
    uri = follow.uri or f"{actor_id(follower, ctx.urls)}#follows/{follow.id}"
    return activities.follow_object(uri, actor_id(follower, ctx.urls), actor_id(target, ctx.urls))


async def follow(ctx: Context, session: AsyncSession, account: Account, target: Account) -> Follow:
    """Follow `target`: a local one accepts at once unless locked; a remote one is asked."""
    existing = await find_follow(session, account, target)
    if existing is not None:
        return existing
    row = Follow(id=new_id(), account_id=account.id, target_account_id=target.id)
    row.uri = f"{actor_id(account, ctx.urls)}#follows/{row.id}"
    if target.local:
        row.state = "pending" if target.locked else "accepted"
        notify(session, target, account, "follow_request" if target.locked else "follow")
    session.add(row)
    await session.flush()
    if not target.local:
        activity = activities.follow(row.uri, actor_id(account, ctx.urls), actor_id(target, ctx.urls))
        await publish(ctx, session, activity, sender=account, followers=False, recipients=[target])
    await done(ctx, session)
    return row


async def unfollow(ctx: Context, session: AsyncSession, account: Account, target: Account) -> bool:
    """Stop following (or asking to follow) `target`; False if there was nothing to undo."""
    row = await find_follow(session, account, target)
    if row is None:
        return False
    await _undo_follow(ctx, session, row, account, target)
    await done(ctx, session)
    return True


async def _undo_follow(ctx: Context, session: AsyncSession, row: Follow, account: Account,
                       target: Account) -> None:
    if not target.local:
        inner = follow_activity(ctx, row, account, target)
        activity = activities.undo(inner["id"] + "/undo", actor_id(account, ctx.urls), inner)
        await publish(ctx, session, activity, sender=account, followers=False, recipients=[target])
    await session.delete(row)
    await session.flush()


async def send_accept(ctx: Context, session: AsyncSession, account: Account, follower: Account,
                      row: Follow) -> int:
    """Enqueue the `Accept` of a remote follower's follow (no commit)."""
    me = actor_id(account, ctx.urls)
    activity = activities.accept(f"{me}#accepts/follows/{row.id}", me,
                                 follow_activity(ctx, row, follower, account))
    return await publish(ctx, session, activity, sender=account, followers=False,
                         recipients=[follower])


async def accept_follow_request(ctx: Context, session: AsyncSession, account: Account,
                                follower: Account) -> Follow | None:
    """Approve a pending follow of `account` by `follower`; None if there is none."""
    row = await find_follow(session, follower, account)
    if row is None or row.state != "pending":
        return None
    row.state = "accepted"
    session.add(row)
    await session.flush()
    if not follower.local:
        await send_accept(ctx, session, account, follower, row)
    await done(ctx, session)
    return row


async def reject_follow_request(ctx: Context, session: AsyncSession, account: Account,
                                follower: Account) -> bool:
    """Refuse a pending follow (or end an accepted one) of `account` by `follower`."""
    row = await find_follow(session, follower, account)
    if row is None:
        return False
    if not follower.local:
        me = actor_id(account, ctx.urls)
        activity = activities.reject(f"{me}#rejects/follows/{row.id}", me,
                                     follow_activity(ctx, row, follower, account))
        await publish(ctx, session, activity, sender=account, followers=False,
                      recipients=[follower])
    await session.delete(row)
    await done(ctx, session)
    return True


async def block(ctx: Context, session: AsyncSession, account: Account, target: Account) -> Block:
    """Block `target`; follows both ways end (our follow of a remote one with an Undo)."""
    existing = (await session.exec(select(Block).where(
        Block.account_id == account.id, Block.target_account_id == target.id))).first()
    if existing is not None:
        return existing
    if (ours := await find_follow(session, account, target)) is not None:
        await _undo_follow(ctx, session, ours, account, target)
    if (theirs := await find_follow(session, target, account)) is not None:
        await session.delete(theirs)
    row = Block(id=new_id(), account_id=account.id, target_account_id=target.id)
    row.uri = f"{actor_id(account, ctx.urls)}#blocks/{row.id}"
    session.add(row)
    await session.flush()
    if not target.local:
        activity = activities.block(row.uri, actor_id(account, ctx.urls), actor_id(target, ctx.urls))
        await publish(ctx, session, activity, sender=account, followers=False, recipients=[target])
    await done(ctx, session)
    return row


async def unblock(ctx: Context, session: AsyncSession, account: Account, target: Account) -> bool:
    row = (await session.exec(select(Block).where(
        Block.account_id == account.id, Block.target_account_id == target.id))).first()
    if row is None:
        return False
    if not target.local:
        me, them = actor_id(account, ctx.urls), actor_id(target, ctx.urls)
        inner = activities.block(row.uri or f"{me}#blocks/{row.id}", me, them)
        await publish(ctx, session, activities.undo(inner["id"] + "/undo", me, inner),
                      sender=account, followers=False, recipients=[target])
    await session.delete(row)
    await done(ctx, session)
    return True


PROFILE_FIELDS = ("display_name", "locked", "discoverable", "indexable", "bot", "fields",
                  "avatar_path", "header_path", "also_known_as")


async def update_profile(ctx: Context, session: AsyncSession, account: Account, *,
                         note: str | None = None, **changes: Any) -> Account:
    """Change the profile (`note` is plain text; other keys as in PROFILE_FIELDS) and send
    the new actor to followers as an `Update`."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(account, name, value)
    if note is not None:
        account.note = text_to_html(note, mentions=[], urls=ctx.urls, domain=ctx.domain).html
    account.updated_at = utcnow()
    session.add(account)
    await session.flush()
    actor = build_actor(await load_actor_fields(session, account, ctx.urls))
    await publish(ctx, session, activities.update_actor(actor, account.updated_at), sender=account)
    await done(ctx, session)
    return account
