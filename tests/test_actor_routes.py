"""Actors and their collections as other servers and browsers fetch them."""

from __future__ import annotations

import pytest

from models.accounts import create_account
from tests.instances import Instance, running_instance

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}


@pytest.fixture
async def instance(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        async with inst.state.sessions() as session:
            await create_account(session, "alice", display_name="Alice <script>x</script>")
            await create_account(session, "painter", generator=True, bot=True)
            await session.commit()
        yield inst


async def test_actor_document_has_what_mastodon_reads(instance: Instance):
    base = instance.base_url
    async with instance.client() as http:
        r = await http.get("/users/alice", headers=AP)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/activity+json")
    actor = r.json()
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    assert actor["id"] == f"{base}/users/alice"
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["name"] == "Alice <script>x</script>"
    assert actor["url"] == f"{base}/@alice"
    for key, path in [("inbox", "/inbox"), ("outbox", "/outbox"), ("followers", "/followers"),
                      ("following", "/following"), ("featured", "/collections/featured")]:
        assert actor[key] == f"{base}/users/alice{path}"
    assert actor["endpoints"]["sharedInbox"] == f"{base}/inbox"
    assert actor["publicKey"] == {
        "id": f"{base}/users/alice#main-key",
        "owner": f"{base}/users/alice",
        "publicKeyPem": actor["publicKey"]["publicKeyPem"],
    }
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["manuallyApprovesFollowers"] is False
    assert actor["discoverable"] is True
    assert "indexable" in actor and "published" in actor
    assert actor["attachment"] == []


async def test_generator_accounts_are_services(instance: Instance):
    async with instance.client() as http:
        actor = (await http.get("/users/painter", headers=LD)).json()
    assert actor["type"] == "Service"


async def test_browsers_get_an_escaped_html_page(instance: Instance):
    async with instance.client() as http:
        page = await http.get("/users/alice", headers={"Accept": "text/html"})
        profile = await http.get("/@alice", headers={"Accept": "text/html"})
    for r in (page, profile):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "<script>x</script>" not in r.text
        assert "&lt;script&gt;" in r.text
        assert f'href="{instance.base_url}/users/alice"' in r.text


async def test_unknown_actor_is_404(instance: Instance):
    async with instance.client() as http:
        r = await http.get("/users/nobody", headers=AP)
    assert r.status_code == 404 and r.json()["error"]


@pytest.mark.parametrize("path", ["outbox", "followers", "following"])
async def test_collections_are_paged_ordered_collections(instance: Instance, path):
    url = f"{instance.base_url}/users/alice/{path}"
    async with instance.client() as http:
        coll = (await http.get(url, headers=AP)).json()
        page = (await http.get(coll["first"], headers=AP)).json()
    assert coll["type"] == "OrderedCollection" and coll["id"] == url
    assert coll["totalItems"] == 0
    assert page["type"] == "OrderedCollectionPage" and page["partOf"] == url
    assert page["orderedItems"] == []


async def test_outbox_pages_public_statuses(instance: Instance):
    from models.accounts import get_account
    from models.tables import Status

    async with instance.state.sessions() as session:
        alice = await get_account(session, "alice")
        for i, visibility in enumerate(["public", "unlisted", "private", "direct", "public"]):
            session.add(Status(uri=f"{instance.base_url}/users/alice/statuses/{i}", account_id=alice.id,
                               content=f"<p>post {i}</p>", visibility=visibility))
        await session.commit()
    url = f"{instance.base_url}/users/alice/outbox"
    async with instance.client() as http:
        coll = (await http.get(url, headers=AP)).json()
        page = (await http.get(coll["first"], headers=AP)).json()
    assert coll["totalItems"] == 3  # followers-only and direct posts stay out
    contents = [item["object"]["content"] for item in page["orderedItems"]]
    assert contents == ["<p>post 4</p>", "<p>post 1</p>", "<p>post 0</p>"]
    assert all(item["type"] == "Create" for item in page["orderedItems"])
