"""Rate limits: fixed windows, Mastodon's X-RateLimit-* headers and the 429, on a whole
instance served by uvicorn with the middleware around it, read by Mastodon.py too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
import requests
import uvicorn
from mastodon import Mastodon
from mastodon.errors import MastodonRatelimitError

from fediverse.api.ratelimit import FixedWindows, Limit, RateLimitMiddleware
from fediverse.app import create_app
from fediverse.settings import Settings
from models.accounts import create_account
from models.migrate import upgrade
from models.tokens import create_token
from tests.instances import free_port, serving

SMALL = Limit(5, 300.0)
STRICTER = Limit(2, 300.0)


def test_fixed_windows_count_and_reset() -> None:
    now = [1000.0]
    windows = FixedWindows(clock=lambda: now[0])
    limit = Limit(2, 60.0)
    first, second, third = (windows.hit("k", limit) for _ in range(3))
    assert (first.allowed, first.remaining) == (True, 1)
    assert (second.allowed, second.remaining) == (True, 0)
    assert (third.allowed, third.remaining) == (False, 0)
    assert first.reset_at == 1020.0  # windows are aligned to the clock: 960..1020
    assert windows.hit("other", limit).allowed
    now[0] = 1020.0
    assert windows.hit("k", limit).remaining == 1  # a new window


@contextlib.asynccontextmanager
async def limited_instance(tmp_path, database_url: str, **limits) -> AsyncIterator[tuple[str, object]]:
    """A whole instance behind the middleware, as the app's middleware list would place it."""
    port = free_port()
    settings = Settings(domain=f"127.0.0.1:{port}", data_dir=tmp_path, database_url=database_url,
                        image_model="tiny", device="cpu", insecure_http=True)
    await upgrade(settings.effective_database_url)
    app = create_app(settings, run_workers=False)
    async with serving(RateLimitMiddleware(app, **limits), port):
        yield settings.base_url, app.state.fv


async def test_headers_then_429_per_ip(tmp_path, database_url) -> None:
    async with limited_instance(tmp_path, database_url, default=SMALL,
                                exempt=frozenset()) as (base, _):
        async with httpx.AsyncClient(base_url=base) as client:
            answers = [await client.get("/api/v1/instance") for _ in range(6)]
            outside = await client.get("/.well-known/nodeinfo")
    remaining = [int(a.headers["x-ratelimit-remaining"]) for a in answers[:5]]
    assert remaining == [4, 3, 2, 1, 0]
    assert all(a.headers["x-ratelimit-limit"] == "5" for a in answers)
    reset = answers[0].headers["x-ratelimit-reset"]
    assert reset.endswith("Z") and datetime.fromisoformat(reset.replace("Z", "+00:00"))
    assert answers[5].status_code == 429
    assert answers[5].json() == {"error": "Too many requests"}
    assert int(answers[5].headers["retry-after"]) <= 300
    assert "x-ratelimit-limit" not in outside.headers  # federation is not the client API


async def test_each_token_has_its_own_window(tmp_path, database_url) -> None:
    async with limited_instance(tmp_path, database_url, default=SMALL,
                                exempt=frozenset()) as (base, fv):
        async with fv.sessions() as session:
            alice = await create_account(session, "alice")
            one, two = await create_token(session, alice), await create_token(session, alice)
            await session.commit()
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(5):
                await client.get("/api/v1/preferences", headers={"Authorization": f"Bearer {one}"})
            spent = await client.get("/api/v1/preferences",
                                     headers={"Authorization": f"Bearer {one}"})
            fresh = await client.get("/api/v1/preferences",
                                     headers={"Authorization": f"Bearer {two}"})
            anonymous = await client.get("/api/v1/instance")
    assert spent.status_code == 429
    assert fresh.status_code == 200 and fresh.headers["x-ratelimit-remaining"] == "4"
    assert anonymous.status_code == 200 and anonymous.headers["x-ratelimit-remaining"] == "4"


async def test_app_registration_is_limited_more_strictly(tmp_path, database_url) -> None:
    async with limited_instance(tmp_path, database_url, default=SMALL, strict=STRICTER,
                                exempt=frozenset()) as (base, _):
        async with httpx.AsyncClient(base_url=base) as client:
            form = {"client_name": "App", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
            answers = [await client.post("/api/v1/apps", data=form) for _ in range(3)]
            tokens = await client.post("/oauth/token", data={"grant_type": "password"})
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "2"
    assert tokens.status_code == 429  # the same per-address budget


async def test_loopback_is_exempt_but_forwarded_clients_are_not(tmp_path, database_url) -> None:
    async with limited_instance(tmp_path, database_url, default=SMALL) as (base, _):
        async with httpx.AsyncClient(base_url=base) as client:
            local = [await client.get("/api/v1/instance") for _ in range(6)]
            proxied = [await client.get("/api/v1/instance",
                                        headers={"X-Forwarded-For": "203.0.113.9"})
                       for _ in range(6)]
    assert all(a.status_code == 200 and "x-ratelimit-limit" not in a.headers for a in local)
    assert [a.status_code for a in proxied] == [200] * 5 + [429]


async def test_mastodon_py_reads_the_limits(tmp_path, database_url) -> None:
    async with limited_instance(tmp_path, database_url, default=SMALL,
                                exempt=frozenset()) as (base, _):
        session = requests.Session()
        api = Mastodon(api_base_url=base, ratelimit_method="throw", session=session)
        await asyncio.to_thread(api.instance_v2)
        assert api.ratelimit_limit == 5 and api.ratelimit_remaining == 4
        assert api.ratelimit_reset is not None
        for _ in range(4):
            await asyncio.to_thread(api.instance_v2)
        with pytest.raises(MastodonRatelimitError):
            await asyncio.to_thread(api.instance_v2)
