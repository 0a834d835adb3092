"""The HTTP client deliveries go out through: guarded addresses, a large pool, kept alive."""

from __future__ import annotations

import httpcore
import httpx

from activitypub.netguard import GuardedBackend, GuardedTransport, is_blocked_address, never_blocked


def delivery_client(*, allow_private: bool, user_agent: str, timeout: float = 10.0,
                    connections: int = 512) -> httpx.AsyncClient:
    """An httpx client that refuses private addresses unless `allow_private`, with room for
    many requests in flight and connections kept for reuse."""
    blocked = never_blocked if allow_private else is_blocked_address
    transport = GuardedTransport(blocked=blocked)
    # GuardedTransport's pool has httpcore's default of 10 connections: far too few for
    # fan-out, so build the same guarded pool with our limits.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=GuardedBackend(blocked),
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(timeout, connect=5.0),
        headers={"User-Agent": user_agent}, follow_redirects=False,
    )
