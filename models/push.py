"""Web Push subscriptions (one per access token), whom they are pushed for, and the
instance's VAPID key pair."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Follow, Notification, OAuthToken, PushSubscription, VapidKey
from models.types import utcnow

ALERTS = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll",
          "update", "admin.sign_up", "admin.report")
POLICIES = ("all", "followed", "follower", "none")
_VAPID_ID = 1


async def vapid_key(session: AsyncSession) -> VapidKey | None:
    return await session.get(VapidKey, _VAPID_ID)


async def store_vapid_key(session: AsyncSession, private_key_pem: str, public_key: str
                          ) -> VapidKey:
    """Keep the instance's key pair, unless another process kept one first: the one kept
    is returned. Commits."""
    values = {"id": _VAPID_ID, "private_key_pem": private_key_pem, "public_key": public_key,
              "created_at": utcnow()}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.exec(insert(VapidKey).values(**values).on_conflict_do_nothing(  # type: ignore[call-overload]
        index_elements=["id"]))
    await session.commit()
    found = await vapid_key(session)
    assert found is not None
    return found


async def subscription_of(session: AsyncSession, token_id: int) -> PushSubscription | None:
    query = select(PushSubscription).where(PushSubscription.token_id == token_id)
    return (await session.exec(query)).first()


async def subscribe(session: AsyncSession, row: PushSubscription) -> PushSubscription:
    """Store `row` in place of its token's subscription, if any. The caller commits."""
    await unsubscribe(session, row.token_id)
    session.add(row)
    await session.flush()
    return row


async def unsubscribe(session: AsyncSession, token_id: int) -> bool:
    """Delete the token's subscription; False when it had none. The caller commits."""
    result = await session.exec(delete(PushSubscription).where(  # type: ignore[call-overload]
        col(PushSubscription.token_id) == token_id))
    return bool(result.rowcount)


async def drop_subscription(session: AsyncSession, subscription_id: int) -> None:
    """The push service said the subscription is gone. The caller commits."""
    await session.exec(delete(PushSubscription).where(  # type: ignore[call-overload]
        col(PushSubscription.id) == subscription_id))


def push_targets(conn: sa.Connection, notification_ids: list[int]) -> list[tuple[int, int]]:
    """(notification id, subscription id) for each live subscription of each notified
    account whose alerts take the notification's type."""
    query = (sa.select(Notification.id, Notification.type, PushSubscription.id,
                       PushSubscription.alerts)
             .join(PushSubscription, PushSubscription.account_id == Notification.account_id)  # type: ignore[arg-type]
             .join(OAuthToken, OAuthToken.id == PushSubscription.token_id)  # type: ignore[arg-type]
             .where(col(Notification.id).in_(notification_ids),
                    col(OAuthToken.revoked_at).is_(None),
                    col(PushSubscription.policy) != "none"))
    return [(n_id, s_id) for n_id, kind, s_id, alerts in conn.execute(query)
            if kind in (alerts or [])]


async def admits(session: AsyncSession, row: PushSubscription, sender_id: int) -> bool:
    """Whether the subscription's policy lets a notification from `sender_id` through."""
    if row.policy == "all":
        return True
    if row.policy == "followed":  # senders the subscriber follows
        follower, followed = row.account_id, sender_id
    elif row.policy == "follower":  # senders who follow the subscriber
        follower, followed = sender_id, row.account_id
    else:
        return False
    query = select(Follow.id).where(Follow.account_id == follower,
                                    Follow.target_account_id == followed,
                                    Follow.state == "accepted")
    return (await session.exec(query)).first() is not None


def alerts_entity(alerts: list[str]) -> dict[str, Any]:
    return {name: name in alerts for name in ALERTS}
