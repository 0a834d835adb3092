"""Mastodon API: what accounts are to each other. Follow, unfollow, block and unblock,
follow requests: through `outbox.actions`, so they federate. Mutes, private notes on
accounts and endorsements stay on this server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import (
    account_or_404,
    accounts_json,
    reader,
    relationship_json,
    window_of,
    writer,
)
from fediverse.api.auth import caller, optional_caller
from fediverse.api.entities import relationship_entity
from fediverse.api.errors import ApiError, not_found, unprocessable
from fediverse.api.params import link_header, page_of, params
from fediverse.routes.common import json_response, state
from models.audience import blocks
from models.domain_blocks import blocks_server_of
from models.relationships import (
    NOTE_MAX,
    blocked_accounts,
    endorse,
    endorsed_accounts,
    follow_accounts,
    mute,
    muted_accounts,
    relation,
    relations,
    set_follow_options,
    set_note,
    unendorse,
    unmute,
)
from models.tables import Account
from outbox import actions

MAX_RELATIONSHIPS = 100


def not_allowed() -> ApiError:
    return ApiError(403, "This action is not allowed")


async def _me_and_target(request: Request, session: Any, me_id: int) -> tuple[Account, Account]:
    """The caller's account and the one named in the path (404: unknown or oneself)."""
    me = await account_or_404(session, me_id)
    target = await account_or_404(session, request.path_params["id"])
    if target.id == me.id:
        raise not_found()
    return me, target


async def _act(request: Request, scope: str,
               action: Callable[[Any, Account, Account], Awaitable[Any]]) -> Response:
    """Run `action(session, me, target)` in a writer; answer the new Relationship."""
    who = await caller(request, scope)
    async with writer(request) as session:
        me, target = await _me_and_target(request, session, who.token.account_id or 0)
        await action(session, me, target)
    return json_response(await relationship_json(request, me, target.id))


async def follow(request: Request) -> Response:
    p = await params(request)
    reblogs, notify, languages = p.boolean("reblogs"), p.boolean("notify"), _languages(p)
    ctx = state(request).federation

    async def run(session: Any, me: Account, target: Account) -> None:
        if await blocks(session, target.id, me.id) or await blocks(session, me.id, target.id) \
                or await blocks_server_of(session, me.id, target.id):
            raise not_allowed()
        await actions.follow(ctx, session, me, target)
        await set_follow_options(session, me.id, target.id, notify=notify, reblogs=reblogs,
                                 languages=languages)
        await session.commit()

    return await _act(request, "write:follows", run)


def _languages(p: Any) -> list[str] | None | bool:
    """`languages[]`: ISO 639 codes (none: every language); False when not sent."""
    if "languages" not in p:
        return False
    codes = [str(c).strip().lower() for c in p.getlist("languages") if str(c).strip()]
    if any(not (2 <= len(c) <= 3 and c.isascii() and c.isalpha()) for c in codes) or len(codes) > 100:
        raise ApiError(422, "Validation failed: languages must be ISO 639 language codes")
    return list(dict.fromkeys(codes)) or None


async def unfollow(request: Request) -> Response:
    ctx = state(request).federation
    return await _act(request, "write:follows",
                      lambda session, me, target: actions.unfollow(ctx, session, me, target))


async def block(request: Request) -> Response:
    ctx = state(request).federation
    return await _act(request, "write:blocks",
                      lambda session, me, target: actions.block(ctx, session, me, target))


async def unblock(request: Request) -> Response:
    ctx = state(request).federation
    return await _act(request, "write:blocks",
                      lambda session, me, target: actions.unblock(ctx, session, me, target))


async def mute_account(request: Request) -> Response:
    p = await params(request)
    notifications = bool(p.boolean("notifications", True))
    duration = p.integer("duration", 0, minimum=0) or 0

    async def run(session: Any, me: Account, target: Account) -> None:
        await mute(session, me, target, notifications=notifications, duration=duration)

    return await _act(request, "write:mutes", run)


async def unmute_account(request: Request) -> Response:
    return await _act(request, "write:mutes",
                      lambda session, me, target: unmute(session, me, target))


async def relationships(request: Request) -> Response:
    """The caller's relationships to the accounts named by `id[]` (unknown ones left out)."""
    who = await caller(request, "read:follows")
    p = await params(request)
    wanted = [int(i) for i in p.getlist("id") if str(i).isdigit() and len(str(i)) <= 19]
    wanted = list(dict.fromkeys(wanted))[:MAX_RELATIONSHIPS]
    async with reader(request) as session:
        known = []
        for target_id in wanted:
            try:
                known.append((await account_or_404(session, target_id)).id)
            except ApiError:
                continue
        found = await relations(session, who.token.account_id or 0, known)
    return json_response([relationship_entity(r) for r in found])


async def _listed(request: Request, scope: str, load: Callable[..., Awaitable[Any]]) -> Response:
    """A page of accounts (newest row first) with `Link` headers by row id."""
    who = await caller(request, scope)
    page = page_of(await params(request), default=40, maximum=80)
    async with reader(request) as session:
        rows = await load(session, who.token.account_id or 0, window_of(page))
        found = await accounts_json(request, session, [a for _, a in rows])
    return json_response(found, headers=link_header(request, [i for i, _ in rows], page))


async def follow_requests(request: Request) -> Response:
    async def load(session: Any, account_id: int, window: Any) -> Any:
        return await follow_accounts(session, account_id, direction="followers",
                                     state="pending", window=window)

    return await _listed(request, "read:follows", load)


async def blocks_list(request: Request) -> Response:
    return await _listed(request, "read:blocks", blocked_accounts)


async def mutes_list(request: Request) -> Response:
    return await _listed(request, "read:mutes", muted_accounts)


async def note(request: Request) -> Response:
    """Keep (or, empty, remove) the caller's private note on an account."""
    await caller(request, "write:accounts")  # before the body: no token is a 401, not a 422
    comment = (await params(request)).string("comment", max_length=NOTE_MAX) or ""

    async def run(session: Any, me: Account, target: Account) -> None:
        await set_note(session, me.id, target.id, comment)
        await session.commit()

    return await _act(request, "write:accounts", run)


async def endorse_account(request: Request) -> Response:
    async def run(session: Any, me: Account, target: Account) -> None:
        if not await endorse(session, me.id, target.id):
            raise unprocessable(
                "Validation failed: You must be following the person you want to endorse")
        await session.commit()

    return await _act(request, "write:accounts", run)


async def unendorse_account(request: Request) -> Response:
    async def run(session: Any, me: Account, target: Account) -> None:
        await unendorse(session, me.id, target.id)
        await session.commit()

    return await _act(request, "write:accounts", run)


async def endorsements(request: Request) -> Response:
    return await _listed(request, "read:accounts", endorsed_accounts)


async def account_endorsements(request: Request) -> Response:
    """Whom an account endorses, as its profile shows them (no token needed)."""
    await optional_caller(request)  # a bad token is still a 401
    page = page_of(await params(request), default=40, maximum=80)
    async with reader(request) as session:
        account = await account_or_404(session, request.path_params["id"])
        rows = await endorsed_accounts(session, account.id, window_of(page))
        found = await accounts_json(request, session, [a for _, a in rows])
    return json_response(found, headers=link_header(request, [i for i, _ in rows], page))


async def _answer_request(request: Request, accept: bool) -> Response:
    """Authorize or reject the pending follow request of the account in the path."""
    who = await caller(request, "write:follows")
    ctx = state(request).federation
    async with writer(request) as session:
        me, follower = await _me_and_target(request, session, who.token.account_id or 0)
        if not (await relation(session, me.id, follower.id)).requested_by:
            raise not_found()
        if accept:
            await actions.accept_follow_request(ctx, session, me, follower)
        else:
            await actions.reject_follow_request(ctx, session, me, follower)
    return json_response(await relationship_json(request, me, follower.id))


async def authorize(request: Request) -> Response:
    return await _answer_request(request, True)


async def reject(request: Request) -> Response:
    return await _answer_request(request, False)


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
    Route("/api/v1/accounts/{id}/mute", mute_account, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", unmute_account, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests, methods=["GET"]),
    Route("/api/v1/follow_requests/{id}/authorize", authorize, methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", reject, methods=["POST"]),
    Route("/api/v1/blocks", blocks_list, methods=["GET"]),
    Route("/api/v1/mutes", mutes_list, methods=["GET"]),
    Route("/api/v1/accounts/{id}/note", note, methods=["POST"]),
    # `pin` and `unpin` are the older names of `endorse` and `unendorse`
    *(Route(f"/api/v1/accounts/{{id}}/{name}", endorse_account, methods=["POST"])
      for name in ("endorse", "pin")),
    *(Route(f"/api/v1/accounts/{{id}}/{name}", unendorse_account, methods=["POST"])
      for name in ("unendorse", "unpin")),
    Route("/api/v1/endorsements", endorsements, methods=["GET"]),
    Route("/api/v1/accounts/{id}/endorsements", account_endorsements, methods=["GET"]),
]
