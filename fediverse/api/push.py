"""Mastodon API: the Web Push subscription of the calling token (create or replace, read,
change its alerts and policy, delete); see `fediverse.push` for the pushes themselves."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activitypub.netguard import is_blocked_address
from fediverse.api.account_lookup import writer
from fediverse.api.auth import Caller, bearer_token, caller
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import Params, params
from fediverse.push.keys import instance_vapid_keys
from fediverse.push.webpush import b64url, check_subscription_keys, decode_b64
from fediverse.routes.common import json_response, state
from models import push
from models.tables import PushSubscription
from models.types import utcnow

ENDPOINT_MAX = 2048
ADMIN_ALERTS = ("admin.sign_up", "admin.report")


def subscription_entity(row: PushSubscription, server_key: str) -> dict[str, Any]:
    """Mastodon's WebPushSubscription."""
    return {"id": str(row.id), "endpoint": row.endpoint, "standard": row.standard,
            "alerts": push.alerts_entity(row.alerts), "policy": row.policy,
            "server_key": server_key}


def _endpoint(p: Params, http_allowed: bool, private_allowed: bool = False) -> str:
    """The push service's URL: https (http where the instance allows it), and not at a
    refused address, as the fetcher decides (a name is vetted when a push is sent)."""
    endpoint = p.string("subscription[endpoint]", max_length=ENDPOINT_MAX)
    if not endpoint:
        raise unprocessable("Validation failed: Endpoint can't be blank")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - a bad port raises ValueError
    except ValueError:
        raise unprocessable("Validation failed: Endpoint is not a valid URL") from None
    schemes = ("https", "http") if http_allowed else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username is not None:
        raise unprocessable("Validation failed: Endpoint must be an https URL")
    with contextlib.suppress(ValueError):
        if not private_allowed and is_blocked_address(ipaddress.ip_address(parts.hostname)):
            raise unprocessable("Validation failed: Endpoint is at a refused address")
    return endpoint


def _keys(p: Params) -> tuple[str, str]:
    """The client's public key and auth secret, checked, as base64url."""
    decoded = []
    for name in ("p256dh", "auth"):
        text = p.string(f"subscription[keys][{name}]", max_length=256)
        if not text:
            raise unprocessable(f"Validation failed: Keys {name} can't be blank")
        try:
            decoded.append(decode_b64(text))
        except ValueError:
            raise unprocessable(f"Validation failed: Keys {name} is not base64") from None
    problem = check_subscription_keys(decoded[0], decoded[1])
    if problem is not None:
        raise unprocessable(f"Validation failed: Keys {problem}")
    return b64url(decoded[0]), b64url(decoded[1])


def _alerts(p: Params, who: Caller, current: list[str]) -> list[str]:
    """The alerts asked for in `data[alerts][TYPE]`, the others as in `current`; the admin
    alerts only for admins."""
    admin = who.account is not None and who.account.is_admin
    wanted = []
    for name in push.ALERTS:
        on = p.boolean(f"data[alerts][{name}]", name in current)
        if on and (admin or name not in ADMIN_ALERTS):
            wanted.append(name)
    return wanted


def _policy(p: Params, current: str) -> str:
    """`data[policy]` (Mastodon.py sends a bare `policy`)."""
    policy = p.string("data[policy]") or p.string("policy") or current
    if policy not in push.POLICIES:
        raise unprocessable(f"Validation failed: Policy must be one of {', '.join(push.POLICIES)}")
    return policy


async def _answer(request: Request, row: PushSubscription) -> Response:
    keys = await instance_vapid_keys(state(request).sessions)
    return json_response(subscription_entity(row, keys.public_key))


async def create(request: Request) -> Response:
    who = await caller(request, "push")
    assert who.account is not None
    p = await params(request)
    settings = state(request).settings
    endpoint = _endpoint(p, settings.http_allowed, settings.allow_private_networks)
    p256dh, auth = _keys(p)
    row = PushSubscription(
        account_id=who.account.id, token_id=who.token.id, access_token=bearer_token(request) or "",
        endpoint=endpoint, key_p256dh=p256dh, key_auth=auth,
        standard=bool(p.boolean("subscription[standard]", False)),
        alerts=_alerts(p, who, []), policy=_policy(p, "all"))
    async with writer(request) as session:
        await push.subscribe(session, row)
        await session.commit()
    return await _answer(request, row)


async def show(request: Request) -> Response:
    who = await caller(request, "push")
    async with state(request).sessions() as session:
        row = await push.subscription_of(session, who.token.id)
    if row is None:
        raise not_found()
    return await _answer(request, row)


async def update(request: Request) -> Response:
    who = await caller(request, "push")
    p = await params(request)
    async with writer(request) as session:
        row = await push.subscription_of(session, who.token.id)
        if row is None:
            raise not_found()
        row.alerts, row.policy = _alerts(p, who, row.alerts), _policy(p, row.policy)
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()
    return await _answer(request, row)


async def remove(request: Request) -> Response:
    who = await caller(request, "push")
    async with writer(request) as session:
        await push.unsubscribe(session, who.token.id)
        await session.commit()
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/push/subscription", create, methods=["POST"]),
    Route("/api/v1/push/subscription", show, methods=["GET"]),
    Route("/api/v1/push/subscription", update, methods=["PUT"]),
    Route("/api/v1/push/subscription", remove, methods=["DELETE"]),
]
