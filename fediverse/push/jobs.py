"""Pushes as durable jobs: one per (notification, subscription), enqueued once the
notification is committed, sent to the push service by the `push` queue's workers.

A push that the service answers 2xx is done; 404 or 410 means the subscription is gone (it
is deleted); 408, 429 and 5xx, or no answer, are tried again with the queue's backoff; any
other answer is final. The request goes through the delivery client, so the private-network
guard applies as to every outgoing request."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import BlockedAddress
from fediverse.api.entities import notification_entities
from fediverse.api.filtering import filter_notifications, session_filters
from fediverse.push.keys import instance_vapid_keys
from fediverse.push.payload import push_payload
from fediverse.push.webpush import Encrypted, decode_b64, push_request
from models import push
from models.domain_blocks import blocks_server_of
from models.queue import PermanentJobError, enqueue_rows, run_read, run_write
from models.relationships import muted_ids
from models.tables import Notification, OAuthToken, PushSubscription
from outbox.events import NOTIFICATION, Event
from outbox.transport import DeliveryClient, TransportError, delivery_client
from outbox.urls import Urls

if TYPE_CHECKING:
    from fediverse.state import AppState

log = logging.getLogger(__name__)

QUEUE = KIND = "push"
ATTEMPTS = 5  # a push is news: after about half an hour of failures it is dropped


class PushFailed(Exception):
    """The push service did not take the push this time."""


class PushFanout:
    """Enqueues the pushes of the notifications this process commits (`notified`)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._tasks: set[asyncio.Task[None]] = set()

    def notified(self, events: list[Event]) -> None:
        ids = [e.id for e in events if e.kind == NOTIFICATION]
        if not ids:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._enqueue(ids))
        except RuntimeError:  # committed outside an event loop: nothing to push from here
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _enqueue(self, notification_ids: list[int]) -> None:
        sessions = self.state.sessions
        try:
            targets = await run_read(sessions, lambda conn: push.push_targets(
                conn, notification_ids))
            if not targets:
                return
            items = [({"subscription_id": s, "notification_id": n}, f"push:{s}:{n}")
                     for n, s in targets]
            await run_write(sessions, lambda conn: enqueue_rows(
                conn, QUEUE, KIND, items, max_attempts=ATTEMPTS))
        except Exception:
            log.exception("enqueueing pushes for notifications %s failed", notification_ids)
            return
        self.state.wake.set()

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class PushSender:
    """The `push` queue's handler, sharing one client."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._client: DeliveryClient | None = None

    @property
    def client(self) -> DeliveryClient:
        if self._client is None:
            settings = self.state.started_with or self.state.settings
            self._client = delivery_client(allow_private=settings.allow_private_networks,
                                           user_agent=self.state.user_agent)
        return self._client

    async def handle(self, payload: dict[str, Any], _job: Any) -> None:
        prepared = await self._prepare(int(payload["subscription_id"]),
                                       int(payload["notification_id"]))
        if prepared is None:
            return
        subscription, request = prepared
        try:
            reply = await self.client.post(subscription.endpoint, content=request.body,
                                           headers=request.headers)
        except (BlockedAddress, ValueError) as exc:
            raise PermanentJobError(f"cannot push to {subscription.endpoint}: {exc}") from exc
        except TransportError as exc:
            raise PushFailed(f"no answer from the push service: {exc}") from exc
        status = reply.status_code
        if 200 <= status < 300:
            return
        if status in (404, 410):
            async with self.state.writer() as session:
                await push.drop_subscription(session, subscription.id)
                await session.commit()
            return
        if status in (408, 429) or status >= 500:
            raise PushFailed(f"the push service answered {status}")
        raise PermanentJobError(f"the push service refused the push: {status}")

    async def _prepare(self, subscription_id: int, notification_id: int
                       ) -> tuple[PushSubscription, Encrypted] | None:
        """The subscription and its request; None when there is nothing (left) to push."""
        state = self.state
        async with state.sessions() as session:
            subscription = await session.get(PushSubscription, subscription_id)
            notification = await session.get(Notification, notification_id)
            if subscription is None or notification is None:
                return None
            token = await session.get(OAuthToken, subscription.token_id)
            shown = None
            if token is not None and token.revoked_at is None:
                shown = await _shown(session, state.urls, subscription, notification)
        if token is None or token.revoked_at is not None:  # the app is gone
            async with state.writer() as session:
                await push.drop_subscription(session, subscription.id)
                await session.commit()
            return None
        if shown is None:
            return None
        body = orjson.dumps(push_payload(shown, subscription.access_token))
        keys = await instance_vapid_keys(state.sessions)
        request = push_request(keys, subscription.endpoint, state.urls.base + "/", body,
                               decode_b64(subscription.key_p256dh),
                               decode_b64(subscription.key_auth), standard=subscription.standard)
        return subscription, request


async def _shown(session: AsyncSession, urls: Urls, subscription: PushSubscription,
                 notification: Notification) -> dict[str, Any] | None:
    """The Notification entity, if the subscription takes it and the subscriber would see
    it (as on the streaming API: not from a muted account or blocked server, not filtered
    out)."""
    me, sender = subscription.account_id, notification.from_account_id
    if notification.account_id != me or notification.type not in subscription.alerts:
        return None
    if not await push.admits(session, subscription, sender):
        return None
    if sender in await muted_ids(session, me, notifications=True) \
            or await blocks_server_of(session, me, sender):
        return None
    found = await notification_entities(session, urls, [notification], me)
    found = filter_notifications(found, await session_filters(session, me), me)
    return found[0] if found else None


def make_push_handlers(state: AppState) -> dict[str, Any]:
    return {KIND: PushSender(state).handle}
