"""Followers, following, outbox and featured collections with real rows, paged, on a real instance."""

from __future__ import annotations

import pytest

from models.accounts import create_account, get_account
from models.tables import Account, Follow, Pin
from tests.instances import Instance, running_instance
from tests.test_objects import add_status, get

REMOTE = "https://remote.example"


@pytest.fixture
async def instance(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        async with inst.state.sessions() as session:
            await create_account(session, "alice")
            await create_account(session, "bob")
            await session.commit()
        yield inst


async def add_remote_followers(inst: Instance, n: int, *, state: str = "accepted",
                               prefix: str = "f") -> list[str]:
    """`n` remote actors following alice, in the order they followed; their ids."""
    uris = []
    async with inst.state.sessions() as session:
        alice = await get_account(session, "alice")
        for i in range(n):
            uri = f"{REMOTE}/users/{prefix}{i}"
            actor = Account(kind="remote", username=f"{prefix}{i}", domain="remote.example", uri=uri,
                            inbox=uri + "/inbox")
            session.add(actor)
            await session.flush()
            session.add(Follow(account_id=actor.id, target_account_id=alice.id, state=state))
            await session.flush()
            uris.append(uri)
        await session.commit()
    return uris


async def test_followers_paged_by_number_newest_first(instance: Instance):
    uris = await add_remote_followers(instance, 25)
    await add_remote_followers(instance, 2, state="pending", prefix="p")
    url = f"{instance.base_url}/users/alice/followers"
    coll = (await get(instance, url)).json()
    assert coll["type"] == "OrderedCollection" and coll["totalItems"] == 25
    assert coll["first"] == url + "?page=1"
    one = (await get(instance, coll["first"])).json()
    assert one["type"] == "OrderedCollectionPage" and one["partOf"] == url
    assert one["totalItems"] == 25 and "prev" not in one
    assert one["orderedItems"] == uris[::-1][:20]
    two = (await get(instance, one["next"])).json()
    assert two["orderedItems"] == uris[::-1][20:] and "next" not in two
    assert two["prev"] == url + "?page=1"


async def test_followers_paged_by_max_id(instance: Instance):
    uris = await add_remote_followers(instance, 23)
    url = f"{instance.base_url}/users/alice/followers"
    one = (await get(instance, url + "?page=true")).json()
    assert one["orderedItems"] == uris[::-1][:20] and "max_id=" in one["next"]
    two = (await get(instance, one["next"])).json()
    assert two["orderedItems"] == uris[::-1][20:] and "next" not in two


async def test_following_names_local_and_remote_accounts(instance: Instance):
    async with instance.state.sessions() as session:
        alice, bob = await get_account(session, "alice"), await get_account(session, "bob")
        remote = Account(kind="remote", username="zed", domain="remote.example", uri=f"{REMOTE}/users/zed")
        session.add(remote)
        await session.flush()
        session.add(Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"))
        await session.flush()
        session.add(Follow(account_id=alice.id, target_account_id=remote.id, state="accepted"))
        session.add(Follow(account_id=bob.id, target_account_id=alice.id, state="accepted"))
        await session.commit()
    url = f"{instance.base_url}/users/alice/following"
    coll = (await get(instance, url)).json()
    assert coll["totalItems"] == 2
    page = (await get(instance, coll["first"])).json()
    assert page["orderedItems"] == [f"{REMOTE}/users/zed", f"{instance.base_url}/users/bob"]
    followers = (await get(instance, f"{instance.base_url}/users/alice/followers?page=1")).json()
    assert followers["orderedItems"] == [f"{instance.base_url}/users/bob"]


async def test_bad_page_numbers_are_400(instance: Instance):
    for query in ("?page=x", "?max_id=-1"):
        r = await get(instance, f"{instance.base_url}/users/alice/followers{query}")
        assert r.status_code == 400 and r.json()["error"]


async def test_outbox_pages_with_totals(instance: Instance):
    made = [await add_status(instance, "alice", content=f"<p>{i}</p>") for i in range(23)]
    await add_status(instance, "alice", content="<p>private</p>", visibility="private")
    url = f"{instance.base_url}/users/alice/outbox"
    coll = (await get(instance, url)).json()
    assert coll["totalItems"] == 23
    one = (await get(instance, coll["first"])).json()
    newest = [s.uri for s in made[::-1]]
    assert [item["object"]["id"] for item in one["orderedItems"]] == newest[:20]
    two = (await get(instance, one["next"])).json()
    assert [item["object"]["id"] for item in two["orderedItems"]] == newest[20:]
    back = (await get(instance, two["prev"])).json()
    assert [item["object"]["id"] for item in back["orderedItems"]] == newest[:20]
    oldest = (await get(instance, coll["last"])).json()
    assert [item["object"]["id"] for item in oldest["orderedItems"]] == newest[3:]


async def test_featured_holds_pinned_notes_inline(instance: Instance):
    first = await add_status(instance, "alice", content="<p>pinned first</p>")
    second = await add_status(instance, "alice", content="<p>pinned second</p>")
    hidden = await add_status(instance, "alice", content="<p>private</p>", visibility="private")
    await add_status(instance, "alice", content="<p>not pinned</p>")
    async with instance.state.sessions() as session:
        for status in (first, second, hidden):
            session.add(Pin(account_id=status.account_id, status_id=status.id))
            await session.flush()
        await session.commit()
    url = f"{instance.base_url}/users/alice/collections/featured"
    doc = (await get(instance, url)).json()
    assert doc["id"] == url and doc["type"] == "OrderedCollection" and doc["totalItems"] == 2
    assert [n["id"] for n in doc["orderedItems"]] == [second.uri, first.uri]
    assert all(n["type"] == "Note" and "@context" not in n for n in doc["orderedItems"])


async def test_collections_of_unknown_accounts_are_404(instance: Instance):
    for path in ("outbox", "followers", "following", "collections/featured", "collections/tags"):
        assert (await get(instance, f"{instance.base_url}/users/nobody/{path}")).status_code == 404
