"""The HTTP client deliveries go out through: guarded addresses, a large pool, kept alive."""

from __future__ import annotations

import httpx

from activitypub.netguard import (
    GuardedTransport,
    Resolver,
    is_blocked_address,
    never_blocked,
    resolve,
)


def delivery_client(*, allow_private: bool, user_agent: str, timeout: float = 10.0,
                    connections: int = 512, resolver: Resolver = resolve) -> httpx.AsyncClient:
    """An httpx client that refuses private addresses unless `allow_private`, with room for
    many requests in flight and connections kept for reuse."""
    blocked = never_blocked if allow_private else is_blocked_address
    transport = GuardedTransport(blocked=blocked, resolver=resolver, max_connections=connections,
                                 keepalive_expiry=30.0)
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(timeout, connect=5.0),
        headers={"User-Agent": user_agent}, follow_redirects=False,
    )
