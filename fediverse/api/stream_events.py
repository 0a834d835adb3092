"""Which of a listener's streams an event belongs to, and the payload it carries there.

A status reaches a stream exactly when the matching REST timeline would list it for the
listener (the same queries, narrowed to that one status): the user stream is the home
timeline, `list` a list's timeline (its owner's only), `public*` and `hashtag*` the
public and tag timelines. Notifications go to the user streams of the account notified,
when the token may read them. A delete names only an id; it goes where the status could
have been seen.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.conversations import stream_payload
from fediverse.api.entities import notification_entities, status_entities
from fediverse.api.filtering import apply_filters, filter_notifications, session_filters
from models import timelines
from models.audience import is_accepted_follower, may_see
from models.domain_blocks import blocks_server_of
from models.followed_tags import carries_tag_followed_by
from models.instance_blocks import is_silenced_for, with_silenced
from models.lists import is_list_member
from models.relationships import muted_ids
from models.status_queries import Window
from models.tables import Account, List, Notification, Status, StatusTag, Tag
from models.timelines import PublicFilter
from outbox.events import DELETE, EDIT, NOTIFICATION, UPDATE, Event
from outbox.urls import Urls

NOTIFYING = frozenset({"user", "user:notification"})
PUBLIC_FILTERS = {
    "public": PublicFilter(), "public:local": PublicFilter(local=True),
    "public:remote": PublicFilter(remote=True),
    "public:media": PublicFilter(only_media=True),
    "public:local:media": PublicFilter(local=True, only_media=True),
    "public:remote:media": PublicFilter(remote=True, only_media=True),
    "hashtag": PublicFilter(), "hashtag:local": PublicFilter(local=True),
}
DIRECT = "direct"  # `conversation` events (`fediverse.api.conversations`)
LIST = "list"
STREAMS = frozenset({*NOTIFYING, *PUBLIC_FILTERS, DIRECT, LIST})


@dataclass(frozen=True)
class Channel:
    name: str  # one of STREAMS
    tag: str | None = None  # hashtag streams: the tag; list streams: the list's id

    def label(self) -> list[str]:
        """As Mastodon names it in WebSocket messages: `["hashtag", "cats"]`."""
        return [self.name] if self.tag is None else [self.name, self.tag]


@dataclass
class Listener:
    account: Account
    reads_notifications: bool  # the token has read:notifications
    channels: set[Channel] = field(default_factory=set)


@dataclass(frozen=True)
class Outgoing:
    channel: Channel
    event: str  # update, status.update, delete, notification
    payload: str  # JSON text (an entity), or a bare status id for delete


def _one(status_id: int) -> Window:
    return Window(1, max_id=status_id + 1, since_id=status_id - 1)


async def _owned_list(session: AsyncSession, channel: Channel, viewer_id: int) -> List | None:
    found = await session.get(List, int(channel.tag or 0))
    return found if found is not None and found.account_id == viewer_id else None


async def listed(session: AsyncSession, channel: Channel, status_id: int, viewer_id: int) -> bool:
    """Whether the channel's timeline lists the status for the viewer."""
    if channel.name == "user":
        found = await timelines.home(session, viewer_id, _one(status_id))
    elif channel.name == LIST:
        owned = await _owned_list(session, channel, viewer_id)
        found = [] if owned is None else await timelines.listed(session, owned, _one(status_id))
    elif channel.name.startswith("hashtag"):
        found = await timelines.tagged(session, channel.tag or "", viewer_id, await with_silenced(
            session, PUBLIC_FILTERS[channel.name]), _one(status_id))
    elif channel.name in PUBLIC_FILTERS:
        found = await timelines.public(session, viewer_id, await with_silenced(
            session, PUBLIC_FILTERS[channel.name]), _one(status_id))
    else:
        return False
    return bool(found)


async def _status(session: AsyncSession, urls: Urls, listener: Listener, event: Event
                  ) -> list[Outgoing]:
    me = listener.account.id
    hits = [c for c in sorted(listener.channels, key=Channel.label)
            if await listed(session, c, event.id, me)]
    if not hits:
        return []
    status = await session.get(Status, event.id)
    assert status is not None  # it was just listed
    entity = (await status_entities(session, urls, [status], me))[0]
    filters = await session_filters(session, me)
    if not filters:
        payload = orjson.dumps(entity).decode()
        return [Outgoing(c, event.kind, payload) for c in hits]
    sent = []
    for c in hits:  # the viewer's filters of the channel's context
        shown = apply_filters([copy.deepcopy(entity)], filters,
                              "home" if c.name in ("user", LIST) else "public", me)
        sent += [Outgoing(c, event.kind, orjson.dumps(s).decode()) for s in shown]
    return sent


async def _tags(session: AsyncSession, status_id: int) -> set[str]:
    query = select(Tag.name).join(StatusTag, col(StatusTag.tag_id) == Tag.id).where(
        StatusTag.status_id == status_id)
    return {name.lower() for name in (await session.exec(query)).all()}


async def _could_see(session: AsyncSession, channel: Channel, status: Status, me: Account) -> bool:
    if channel.name == "user":  # theirs, a followee's, or public with a hashtag they follow
        return (status.account_id == me.id
                or await is_accepted_follower(session, me.id, status.account_id)
                or (status.visibility == "public"
                    and await carries_tag_followed_by(session, status.id, me.id))) \
            and await may_see(session, status, me)
    if channel.name == LIST:  # its owner's statuses and its members'
        return (status.account_id == me.id
                or await is_list_member(session, int(channel.tag or 0), status.account_id)) \
            and await may_see(session, status, me)
    if channel.name == DIRECT:  # its author and whom it mentions
        return status.visibility == "direct" and await may_see(session, status, me)
    if channel.name.startswith("hashtag"):
        return status.visibility == "public" and (channel.tag or "").lower() in \
            await _tags(session, status.id)
    return channel.name.startswith("public") and status.visibility == "public"


async def _delete(session: AsyncSession, listener: Listener, event: Event) -> list[Outgoing]:
    status = await session.get(Status, event.id)
    channels = sorted((c for c in listener.channels if c.name != "user:notification"),
                      key=Channel.label)
    if status is not None:  # soft-deleted: where it could have been seen
        channels = [c for c in channels if await _could_see(session, c, status, listener.account)]
    return [Outgoing(c, DELETE, str(event.id)) for c in channels]


async def _notification(session: AsyncSession, urls: Urls, listener: Listener, event: Event
                        ) -> list[Outgoing]:
    me = listener.account.id
    channels = [c for c in listener.channels if c.name in NOTIFYING]
    row = await session.get(Notification, event.id)
    if not channels or not listener.reads_notifications or row is None or row.account_id != me:
        return []
    if row.from_account_id in await muted_ids(session, me, notifications=True) \
            or await blocks_server_of(session, me, row.from_account_id) \
            or await is_silenced_for(session, me, row.from_account_id):
        return []
    found = await notification_entities(session, urls, [row], me)
    found = filter_notifications(found, await session_filters(session, me), me)
    if not found:
        return []
    payload = orjson.dumps(found[0]).decode()
    return [Outgoing(c, NOTIFICATION, payload) for c in sorted(channels, key=Channel.label)]


async def render(session: AsyncSession, urls: Urls, listener: Listener, event: Event
                 ) -> list[Outgoing]:
    """What `listener` is sent for `event`, one message per channel it belongs to."""
    if event.kind in (UPDATE, EDIT):
        sent = await _status(session, urls, listener, event)
        if Channel(DIRECT) in listener.channels:
            payload = await stream_payload(session, urls, listener.account.id, event.id)
            if payload is not None:
                sent.append(Outgoing(Channel(DIRECT), "conversation", payload))
        return sent
    if event.kind == NOTIFICATION:
        return await _notification(session, urls, listener, event)
    if event.kind == DELETE:
        return await _delete(session, listener, event)
    return []
