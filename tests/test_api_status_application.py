"""A status's `application` on a running instance, driven with Mastodon.py: the app a local
status was posted from (registered through `POST /api/v1/apps`), shown to every reader as
Mastodon does by default, wherever the status is rendered; none for statuses posted without
an app, and none for statuses from other servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mastodon import Mastodon
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, OAuthApp, Status
from models.tokens import create_token
from tests.flows_support import pair  # noqa: F401
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def _app_token(writer: Callable[[], AsyncSession], base: str, account: Account,
                     name: str, website: str | None) -> str:
    """A token of `account` for an app registered over the API (as a client would)."""
    client_id, _ = await asyncio.to_thread(Mastodon.create_app, name, api_base_url=base,
                                           scopes=["read", "write"], website=website)
    async with writer() as session:
        app = (await session.exec(select(OAuthApp).where(OAuthApp.client_id == client_id))).one()
        token = await create_token(session, await session.get(Account, account.id),
                                   "read write", app=app)
        await session.commit()
    return token


async def test_statuses_show_the_app_they_were_posted_from(api: Api) -> None:  # noqa: F811
    alice, _ = await api.user("alice")
    bob, bob_token = await api.user("bob")
    writer = api.inst.state.writer
    token = await _app_token(writer, api.base, alice, "Pixel Poster", "https://pixel.example/")
    alice_client, bob_client = api.mastodon(token), api.mastodon(bob_token)
    posted = await api.call(alice_client.status_post, "from my app")
    shown = {"name": "Pixel Poster", "website": "https://pixel.example/"}
    assert posted.application == shown
    assert (await api.get(Status, int(posted.id))).application_id is not None

    # everyone sees it, wherever the status shows
    assert (await api.call(bob_client.status, posted.id)).application == shown
    answer = await api.http("GET", f"/api/v1/statuses/{posted.id}")  # signed out
    assert answer.json()["application"] == shown
    for timeline in (alice_client.timeline_home, bob_client.timeline_public):
        for _ in range(2):  # the second page from what the first rendered
            [found] = [s for s in await api.call(timeline) if s.id == posted.id]
            assert found.application == shown
    [mine] = await api.call(bob_client.account_statuses, alice.id)
    assert mine.application == shown
    boost = await api.call(bob_client.status_reblog, posted.id)
    assert boost.application is None and boost.reblog.application == shown

    # an app without a website; a token without an app
    bare = await _app_token(writer, api.base, alice, "Bare", None)
    plain = await api.call(api.mastodon(bare).status_post, "no website")
    assert plain.application == {"name": "Bare", "website": None}
    unnamed = await api.call(bob_client.status_post, "from a token with no app")
    assert unnamed.application is None
    assert (await api.call(alice_client.status, unnamed.id)).application is None


async def test_remote_statuses_show_no_app(pair) -> None:  # noqa: F811
    """Bob on B posts from his app to alice on A: B shows the app, A none."""
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_token = await _app_token(b.writer, b.base, bob, "Bob's Brush", "https://brush.example/")
    alice_token = await _app_token(a.writer, a.base, alice, "Alice's Easel", None)
    bob_app = Mastodon(access_token=bob_token, api_base_url=b.base,
                       mastodon_version=MASTODON_VERSION)
    alice_app = Mastodon(access_token=alice_token, api_base_url=a.base,
                         mastodon_version=MASTODON_VERSION)
    posted = await asyncio.to_thread(bob_app.status_post, f"hello @alice@{a.inst.domain}")
    assert posted.application == {"name": "Bob's Brush", "website": "https://brush.example/"}

    async def arrived() -> Status | None:
        return await a.status(posted.uri)

    copy = await a.eventually(arrived, what="bob's status")
    shown = await asyncio.to_thread(alice_app.status, copy.id)
    assert shown.application is None and "hello" in shown.content
    [note] = await asyncio.to_thread(alice_app.notifications)
    assert note.status.application is None
