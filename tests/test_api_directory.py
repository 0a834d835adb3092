"""The profile directory (`GET /api/v1/directory`) on a running instance, driven with
Mastodon.py: discoverable accounts that are not suspended, local and known remote ones,
by latest status or newest first, in offset pages; open without a token; a viewer's blocks
and mutes left out; bad parameters refused."""

from __future__ import annotations

import asyncio

import pytest
from mastodon import Mastodon, MastodonAPIError

from models.tables import Account
from models.types import utcnow
from tests.flows_support import pair  # noqa: F401
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


def _names(accounts: list) -> list[str]:  # type: ignore[type-arg]
    return [a.acct for a in accounts]


async def test_directory_lists_discoverable_accounts(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    dave, dave_token = await api.user("dave")
    eve, eve_token = await api.user("eve")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    await api.call(bob_client.status_post, "bob was here first")
    await api.call(alice_client.status_post, "alice posts later")
    await api.call(api.mastodon(dave_token).account_update_credentials, discoverable=False)
    async with api.inst.state.writer() as session:  # an admin suspended eve
        row = await session.get(Account, eve.id)
        assert row is not None
        row.suspended_at = utcnow()
        await session.commit()

    anonymous = Mastodon(api_base_url=api.base, mastodon_version=MASTODON_VERSION)
    active = await api.call(anonymous.directory)
    assert _names(active) == ["alice", "bob", "carol"]  # latest status first, none last
    assert active[0].statuses_count == 1 and active[0].last_status_at is not None
    newest = await api.call(anonymous.directory, order="new")
    assert _names(newest) == ["carol", "bob", "alice"]
    assert _names(await api.call(anonymous.directory, local=True)) == ["alice", "bob", "carol"]

    page = await api.http("GET", "/api/v1/directory?order=new&limit=1&offset=1")
    assert [a["acct"] for a in page.json()] == ["bob"]
    assert 'offset=2' in page.headers["link"] and 'rel="next"' in page.headers["link"]
    last = await api.http("GET", "/api/v1/directory?limit=40&offset=2&order=new")
    assert [a["acct"] for a in last.json()] == ["alice"] and "link" not in last.headers
    assert (await api.http("GET", "/api/v1/directory?offset=9")).json() == []
    assert len((await api.http("GET", "/api/v1/directory?limit=500")).json()) == 3

    # a viewer does not see whom they block, who blocks them, or whom they mute
    await api.call(alice_client.account_block, carol.id)
    await api.call(api.mastodon(carol_token).account_block, bob.id)
    assert _names(await api.call(alice_client.directory)) == ["alice", "bob"]
    assert _names(await api.call(bob_client.directory)) == ["alice", "bob"]
    await api.call(bob_client.account_mute, alice.id)
    assert _names(await api.call(bob_client.directory)) == ["bob"]
    assert _names(await api.call(anonymous.directory)) == ["alice", "bob", "carol"]


async def test_directory_refusals(api: Api) -> None:  # noqa: F811
    await api.user("alice")
    for query in ("order=oldest", "limit=x", "offset=-1", "local=maybe"):
        answer = await api.http("GET", f"/api/v1/directory?{query}")
        assert answer.status_code == 422, query
        assert answer.json()["error"].startswith("Validation failed"), query
    answer = await api.http("GET", "/api/v1/directory", "not-a-token")
    assert answer.status_code == 401 and "error" in answer.json()
    anonymous = Mastodon(api_base_url=api.base, mastodon_version=MASTODON_VERSION)
    with pytest.raises(MastodonAPIError):
        await api.call(anonymous.directory, order="popular")


async def test_known_remote_accounts_are_listed_unless_local(pair) -> None:  # noqa: F811
    a, b = pair
    await a.account("alice")
    await b.account("bob")
    await a.resolve(b.handle("bob"))
    anonymous = Mastodon(api_base_url=a.base, mastodon_version=MASTODON_VERSION)
    listed = await asyncio.to_thread(anonymous.directory, order="new")
    assert _names(listed) == [f"bob@{b.inst.domain}", "alice"]
    assert _names(await asyncio.to_thread(anonymous.directory, local=True)) == ["alice"]
