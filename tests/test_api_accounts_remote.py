"""Following an account of a second real instance through the client API: found with
`search_v2(resolve=True)` over WebFinger, followed with `account_follow`, accepted there."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from models.tables import Account, Follow
from outbox import actions
from tests.instances import running_instance
from tests.test_api_accounts_support import Api

WAIT = 10.0


@pytest.fixture
async def two(tmp_path, new_database_url) -> AsyncIterator[tuple[Api, Api]]:
    async with running_instance(tmp_path / "a", await new_database_url(), run_workers=True) as a, \
            running_instance(tmp_path / "b", await new_database_url(), run_workers=True) as b:
        yield Api(a), Api(b)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT} s")
        await asyncio.sleep(0.05)


async def test_search_resolve_and_follow_a_remote_account(two: tuple[Api, Api]) -> None:
    a, b = two
    alice, token = await a.user("alice")
    bob, _ = await b.user("bob", display_name="Bob on B")
    client = a.mastodon(token)
    handle = f"bob@{b.inst.domain}"

    unresolved = await a.call(client.search_v2, handle, resolve=False)
    assert unresolved.accounts == [] and unresolved.statuses == [] and unresolved.hashtags == []
    found = await a.call(client.search_v2, "@" + handle, resolve=True)
    [remote] = found.accounts
    assert remote.acct == handle and remote.display_name == "Bob on B"
    assert remote.url == f"{b.base}/@bob"
    assert int((await a.call(client.account_lookup, handle)).id) == int(remote.id)

    rel = await a.call(client.account_follow, remote.id)
    assert rel.requested is True or rel.following is True

    async def arrived() -> bool:
        rows = await b.rows(Follow, Follow.target_account_id == bob.id)
        return len(rows) == 1 and rows[0].state == "accepted"

    await eventually(arrived, "the Follow arriving on the second instance")

    async def accepted() -> bool:
        [rel] = await a.call(client.account_relationships, [remote.id])
        return bool(rel.following)

    await eventually(accepted, "the Accept coming back")
    assert [int(x.id) for x in await a.call(client.account_following, alice.id)] == [
        int(remote.id)]
    [alice_on_b] = await b.rows(Account, Account.uri == f"{a.base}/users/alice")
    assert alice_on_b.kind == "remote"

    await a.call(client.account_unfollow, remote.id)

    async def undone() -> bool:
        return await b.rows(Follow, Follow.target_account_id == bob.id) == []

    await eventually(undone, "the Undo of the follow arriving")


async def test_search_resolves_a_remote_post_by_url(two: tuple[Api, Api]) -> None:
    a, b = two
    _, token = await a.user("alice")
    bob, _ = await b.user("bob")
    post = await b.act(actions.post_status, bob, text="a post to be found #found")
    client = a.mastodon(token)
    assert (await a.call(client.search_v2, post.uri, resolve=False)).statuses == []
    found = await a.call(client.search_v2, post.uri, resolve=True)
    [status] = found.statuses
    assert status.uri == post.uri and "a post to be found" in status.content
    assert status.account.acct == f"bob@{b.inst.domain}"
    assert found.accounts == [] and found.hashtags == []
    actor = await a.call(client.search_v2, f"{b.base}/users/bob", resolve=True)
    assert [x.acct for x in actor.accounts] == [f"bob@{b.inst.domain}"]
