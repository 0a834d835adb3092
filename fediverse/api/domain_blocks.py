"""Mastodon API: the servers a user blocks (`/api/v1/domain_blocks`).

Blocking one hides its accounts' posts and notifications from the user, ends its accounts'
follows of the user (each told with a `Reject` of its follow, as Mastodon does) and refuses
new follows of its accounts; the user's existing follows there stay."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import account_or_404, reader, writer
from fediverse.api.auth import caller
from fediverse.api.errors import unprocessable
from fediverse.api.params import Params, link_header, page_of, params
from fediverse.routes.common import json_response, state
from fediverse.settings import Settings
from models.domain_blocks import (
    add_domain_block,
    domain_blocks_page,
    followers_from,
    remove_domain_block,
)
from models.relationships import Window
from outbox import actions

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def normal_domain(raw: str) -> str | None:
    """`raw` as accounts keep their domain (lower case, IDNA, `:port` when one is given), or
    None when it names no host. A scheme, path or user part is dropped, as Mastodon does."""
    text = raw.strip()
    if not text or len(text) > 255 or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host, port = parts.hostname, parts.port
        ascii_host = host.encode("idna").decode("ascii").lower() if host else ""
    except (UnicodeError, ValueError):
        return None
    if not _HOST_RE.fullmatch(ascii_host) or len(ascii_host) > 253:
        return None
    return f"{ascii_host}:{port}" if port is not None else ascii_host


async def _domain(request: Request) -> str:
    return domain_param(await params(request), state(request).settings)


def domain_param(p: Params, settings: Settings) -> str:
    """The `domain` asked for, normalised; 422 when blank, not a domain, or our own."""
    raw = p.string("domain")
    if not raw:
        raise unprocessable("Validation failed: Domain can't be blank")
    domain = normal_domain(raw)
    if domain is None:
        raise unprocessable("Validation failed: Domain is not a valid domain name")
    if domain in (settings.domain.lower(), settings.host.lower()):
        raise unprocessable("Validation failed: Domain is this server's own")
    return domain


async def list_blocks(request: Request) -> Response:
    who = await caller(request, "read:blocks")
    page = page_of(await params(request), default=100, maximum=200)
    async with reader(request) as session:
        rows = await domain_blocks_page(session, who.token.account_id or 0, Window(
            page.limit, page.max_id, page.since_id, page.min_id))
    return json_response([domain for _, domain in rows],
                         headers=link_header(request, [i for i, _ in rows], page))


async def block(request: Request) -> Response:
    who = await caller(request, "write:blocks")
    domain = await _domain(request)
    ctx = state(request).federation
    async with writer(request) as session:
        me = await account_or_404(session, who.token.account_id or 0)
        if await add_domain_block(session, me.id, domain):
            # its accounts' follows of the user end, each told with a Reject
            for follower in await followers_from(session, me.id, domain):
                await actions.reject_follow_request(ctx, session, me, follower)
        await session.commit()
    return json_response({})


async def unblock(request: Request) -> Response:
    who = await caller(request, "write:blocks")
    domain = await _domain(request)
    async with writer(request) as session:
        await remove_domain_block(session, who.token.account_id or 0, domain)
        await session.commit()
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/domain_blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/domain_blocks", block, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock, methods=["DELETE"]),
]
