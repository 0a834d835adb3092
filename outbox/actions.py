"""Local actions on statuses: post, edit, delete, favourite, reblog (and, re-exported from
`outbox.relations`, the actions between accounts).

Each action is one transaction: it writes the rows, enqueues deliveries in the same session,
commits, and wakes the delivery worker. Local recipients get their notifications directly.
Resolving `@user@domain` to accounts is the caller's work: actions take `Account`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.follow_notifications import notify_subscribers
from models.generation_jobs import cancel_renders_for
from models.ids import new_id
from models.tables import (
    Account,
    Favourite,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from models.types import utcnow
from models.update_notifications import notify_boosters_of_edit
from outbox import activities
from outbox.actors import actor_id
from outbox.audience import booster_follower_inboxes, delivered_inboxes, reached_accounts
from outbox.content import text_to_html
from outbox.context import Context
from outbox.deliver import publish
from outbox.notes import addressing, boost_to_announce
from outbox.post_write import NewPost, post_in_session, with_parent_author
from outbox.relations import (
    accept_follow_request,
    block,
    done,
    follow,
    notify_of_status,
    reject_follow_request,
    send_accept,
    unblock,
    unfollow,
    update_profile,
)
from outbox.rendering import mentioned_accounts, render_note, status_media

VISIBILITIES = ("public", "unlisted", "private", "direct")

__all__ = [
    "accept_follow_request", "block", "delete_status", "edit_status", "favourite", "follow",
    "move_account", "post_status", "publish_pending", "reblog", "reject_follow_request", "send_accept", "unblock", "unfavourite",
    "unfollow", "unreblog", "update_profile",
]


async def _author(session: AsyncSession, status: Status) -> Account:
    author = await session.get(Account, status.account_id)
    assert author is not None  # the foreign key holds it
    return author


async def _tag_rows(session: AsyncSession, names: list[str]) -> list[Tag]:
    rows = []
    for name in names:
        query = select(Tag).where(sa.func.lower(Tag.name) == name.lower())
        tag = (await session.exec(query)).first()
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            await session.flush()
        rows.append(tag)
    return rows


async def _link(session: AsyncSession, status: Status, mentions: Sequence[Account],
                tags: list[Tag], *, new: bool = False) -> None:
    """Mention and StatusTag rows for those the status does not have yet (a `new` one has
    none: nothing to read)."""
    have = set() if new else {a.id for a in await mentioned_accounts(session, status.id)}
    for account in mentions:
        if account.id not in have:
            session.add(Mention(status_id=status.id, account_id=account.id))
            have.add(account.id)
    tagged = set() if new else set((await session.exec(
        select(StatusTag.tag_id).where(StatusTag.status_id == status.id))).all())
    for tag in tags:
        if tag.id not in tagged:
            session.add(StatusTag(status_id=status.id, tag_id=tag.id))
            tagged.add(tag.id)
    await session.flush()


async def _deliver_status(ctx: Context, session: AsyncSession, activity: dict, status: Status,
                          author: Account, mentions: Sequence[Account]) -> int:
    """Send a status's activity to whom its visibility reaches: followers unless direct,
    and every mentioned account."""
    return await publish(ctx, session, activity, sender=author,
                         followers=status.visibility != "direct", recipients=mentions)


async def post_status(
    ctx: Context, session: AsyncSession, account: Account, *, text: str,
    visibility: str = "public", spoiler_text: str = "", sensitive: bool = False,
    language: str | None = None, in_reply_to: Status | None = None,
    media: Sequence[MediaAttachment] = (), mentions: Sequence[Account] = (),
    pending: bool = False,
) -> Status:
    """Post a status (a reply also mentions the parent's author) and send its `Create`; a
    `pending` one is stored unsent until `publish_pending` (it waits for its image). One
    transaction (`outbox.post_write`), committed here."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}")
    parent_author = await _author(session, in_reply_to) if in_reply_to is not None else None
    post = NewPost(account=account, text=text, visibility=visibility, spoiler_text=spoiler_text,
                   sensitive=sensitive, language=language, in_reply_to=in_reply_to,
                   media=list(media), mentions=with_parent_author(mentions, account, parent_author),
                   pending=pending)
    status = await post_in_session(ctx, session, post)
    await done(ctx, session)
    return status


async def _announce_new(ctx: Context, session: AsyncSession, status: Status, author: Account,
                        mentions: Sequence[Account]) -> Status:
    """Notify the mentioned local accounts and send the status's `Create`."""
    await notify_of_status(session, list(mentions), author, "mention", status)
    note = await render_note(session, status, author, ctx.urls, ctx.domain)
    await _deliver_status(ctx, session, activities.create(note), status, author, mentions)
    await done(ctx, session)
    return status


async def publish_pending(ctx: Context, session: AsyncSession, status: Status,
                          media: Sequence[MediaAttachment] = ()) -> Status:
    """Attach what a pending status waited for, then publish it as `post_status` would."""
    author = await _author(session, status)
    start = len(await status_media(session, status.id))
    for position, item in enumerate(media, start=start):
        item.status_id, item.position = status.id, position
        session.add(item)
    status.pending = False
    session.add(status)
    await session.flush()
    mentions = await mentioned_accounts(session, status.id)
    await notify_subscribers(session, status, [a.id for a in mentions])
    return await _announce_new(ctx, session, status, author, mentions)


async def edit_status(
    ctx: Context, session: AsyncSession, status: Status, *, text: str,
    spoiler_text: str | None = None, sensitive: bool | None = None,
    media: Sequence[MediaAttachment] | None = None, mentions: Sequence[Account] = (),
) -> Status:
    """Edit a local status, keeping the old version as a StatusEdit; sends an `Update`."""
    author = await _author(session, status)
    old_media = await status_media(session, status.id)
    session.add(StatusEdit(status_id=status.id, content=status.content,
                           spoiler_text=status.spoiler_text, sensitive=status.sensitive,
                           media=[{"id": str(m.id), "description": m.description}
                                  for m in old_media]))
    mentions = [*await mentioned_accounts(session, status.id), *mentions]
    content = text_to_html(text, mentions=mentions, urls=ctx.urls, domain=ctx.domain)
    status.text, status.content = text, content.html
    if spoiler_text is not None:
        status.spoiler_text = spoiler_text
    if sensitive is not None or spoiler_text is not None:
        status.sensitive = bool(sensitive) or bool(status.spoiler_text)
    status.edited_at = _later(utcnow(), status.edited_at or status.created_at)
    if media is not None:
        _replace_media(session, old_media, media, status)
    session.add(status)
    await session.flush()
    await _link(session, status, mentions, await _tag_rows(session, content.tags))
    await notify_boosters_of_edit(session, status)
    note = await render_note(session, status, author, ctx.urls, ctx.domain)
    activity = activities.update_note(note, status.edited_at)
    reached, inboxes = await _reach(session, status)
    await publish(ctx, session, activity, sender=author, followers=status.visibility != "direct",
                  recipients=[*mentions, *reached], inboxes=inboxes)
    await done(ctx, session)
    return status


def _later(now: datetime, last: datetime) -> datetime:
    """`now`, or a second after `last` when that is not later to the second (the wire form)."""
    if now.replace(microsecond=0) > last.replace(microsecond=0):
        return now
    return last.replace(microsecond=0) + timedelta(seconds=1)


def _replace_media(session: AsyncSession, old: list[MediaAttachment],
                   new: Sequence[MediaAttachment], status: Status) -> None:
    keep = {m.id for m in new}
    for item in old:
        if item.id not in keep:
            item.status_id = None
            session.add(item)
    for position, item in enumerate(new):
        item.status_id, item.position = status.id, position
        session.add(item)


async def _reach(session: AsyncSession, status: Status) -> tuple[list[Account], set[str]]:
    """Who has a status besides the author's followers now and the mentioned: those who
    boosted, liked or replied to it, the inboxes its `Create` went to (followers then), and
    the followers of local boosters. Its edits and its delete go to them all."""
    inboxes = await delivered_inboxes(session, activities.create_id(status.uri))
    inboxes |= await booster_follower_inboxes(session, status.id)
    return await reached_accounts(session, status), inboxes


async def delete_status(ctx: Context, session: AsyncSession, status: Status) -> Status:
    """Soft-delete a local status (its boosts go) and send a `Delete` with a `Tombstone` to
    every host that has it (see `_reach`)."""
    author = await _author(session, status)
    if status.reblog_of_id is not None:
        raise ValueError("a boost is undone with unreblog")
    mentions = await mentioned_accounts(session, status.id)
    reached, inboxes = await _reach(session, status)
    status.deleted_at = utcnow()
    session.add(status)
    await cancel_renders_for(session, status.id)  # an image it waits for, or asked for
    if status.pending:  # never sent: no Delete goes out
        await done(ctx, session)
        return status
    await session.exec(sa.delete(Status).where(col(Status.reblog_of_id) == status.id))
    await session.exec(sa.delete(Notification).where(col(Notification.status_id) == status.id))
    me = actor_id(author, ctx.urls)
    to, cc = addressing(status.visibility, ctx.urls.followers(author.username),
                        [actor_id(a, ctx.urls) for a in mentions])
    activity = activities.delete_note(status.uri, me, to, cc)
    await publish(ctx, session, activity, sender=author, followers=status.visibility != "direct",
                  recipients=[*mentions, *reached], inboxes=inboxes)
    await done(ctx, session)
    return status


async def favourite(ctx: Context, session: AsyncSession, account: Account, status: Status
                    ) -> Favourite:
    """Like a status: a `Like` to its remote author, or a notification to a local one."""
    existing = (await session.exec(select(Favourite).where(
        Favourite.account_id == account.id, Favourite.status_id == status.id))).first()
    if existing is not None:
        return existing
    author = await _author(session, status)
    row = Favourite(id=new_id(), account_id=account.id, status_id=status.id)
    row.uri = f"{actor_id(account, ctx.urls)}#likes/{row.id}"
    session.add(row)
    await notify_of_status(session, [author], account, "favourite", status)
    await session.flush()
    if not author.local:
        activity = activities.like(row.uri, actor_id(account, ctx.urls), status.uri)
        await publish(ctx, session, activity, sender=account, followers=False, recipients=[author])
    await done(ctx, session)
    return row


async def unfavourite(ctx: Context, session: AsyncSession, account: Account, status: Status
                      ) -> bool:
    row = (await session.exec(select(Favourite).where(
        Favourite.account_id == account.id, Favourite.status_id == status.id))).first()
    if row is None:
        return False
    author = await _author(session, status)
    if not author.local:
        me = actor_id(account, ctx.urls)
        inner = activities.like(row.uri or f"{me}#likes/{row.id}", me, status.uri)
        await publish(ctx, session, activities.undo(inner["id"] + "/undo", me, inner),
                      sender=account, followers=False, recipients=[author])
    await session.delete(row)
    await done(ctx, session)
    return True


async def reblog(ctx: Context, session: AsyncSession, account: Account, status: Status,
                 *, visibility: str = "public") -> Status:
    """Boost a public or unlisted status: an `Announce` to followers and the author."""
    if status.visibility not in ("public", "unlisted") or status.deleted_at is not None:
        raise ValueError("only public and unlisted statuses can be boosted")
    existing = await _boost_of(session, account, status)
    if existing is not None:
        return existing
    author = await _author(session, status)
    boost_id = new_id()
    uri = ctx.urls.status(account.username, boost_id) + "/activity"
    visibility = "unlisted" if "unlisted" in (visibility, status.visibility) else "public"
    boost = Status(id=boost_id, uri=uri, url=uri, account_id=account.id, local=True,
                   visibility=visibility, reblog_of_id=status.id)
    session.add(boost)
    await notify_of_status(session, [author], account, "reblog", status)
    await session.flush()
    await publish(ctx, session, _announce(ctx, account, boost, status, author),
                  sender=account, recipients=[author])
    await done(ctx, session)
    return boost


def _announce(ctx: Context, account: Account, boost: Status, status: Status, author: Account
              ) -> dict:
    return boost_to_announce(boost, account, status, author, ctx.urls)


async def _boost_of(session: AsyncSession, account: Account, status: Status) -> Status | None:
    query = select(Status).where(Status.account_id == account.id,
                                 Status.reblog_of_id == status.id)
    return (await session.exec(query)).first()


async def unreblog(ctx: Context, session: AsyncSession, account: Account, status: Status) -> bool:
    """Undo a boost: the boost row goes, an `Undo` of the `Announce` goes out."""
    boost = await _boost_of(session, account, status)
    if boost is None:
        return False
    author = await _author(session, status)
    inner = _announce(ctx, account, boost, status, author)
    activity = activities.undo(boost.uri + "/undo", actor_id(account, ctx.urls), inner)
    activity["to"], activity["cc"] = inner["to"], inner["cc"]
    await publish(ctx, session, activity, sender=account, recipients=[author])
    await session.delete(boost)
    await done(ctx, session)
    return True


async def move_account(ctx: Context, session: AsyncSession, account: Account, target: Account
                       ) -> Account:
    """Move `account` to `target`, which must name it in `alsoKnownAs` (the caller fetches a
    remote target afresh): a `Move` to the followers, whose servers move their follows."""
    me = actor_id(account, ctx.urls)
    if target.id == account.id or me not in (target.also_known_as or []):
        raise ValueError("the new account must list this one in alsoKnownAs")
    account.moved_to_account_id = target.id
    session.add(account)
    await session.flush()
    activity = activities.move(f"{me}#moves/{target.id}", me, actor_id(target, ctx.urls),
                               to=[ctx.urls.followers(account.username)])
    await publish(ctx, session, activity, sender=account)
    await done(ctx, session)
    return account
