"""Local statuses at their ids: notes, activities, boosts, tombstones, replies and web pages,
served by a real instance over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.vocab import PUBLIC
from models.accounts import create_account
from models.ids import new_id
from models.tables import Account, MediaAttachment, Status, StatusTag, Tag
from tests.instances import Instance, running_instance

AP = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}


@pytest.fixture
async def instance(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        async with inst.state.sessions() as session:
            await create_account(session, "alice", display_name="<script>x</script> Alice")
            await create_account(session, "bob")
            await session.commit()
        yield inst


async def add_status(inst: Instance, username: str, **fields) -> Status:
    """A local status of `username` stored directly, at the URL the routes serve it from."""
    async with inst.state.sessions() as session:
        from models.accounts import get_account

        author = await get_account(session, username)
        sid = new_id()
        status = Status(id=sid, uri=inst.state.urls.status(username, sid),
                        url=f"{inst.base_url}/@{username}/{sid}", account_id=author.id, **fields)
        session.add(status)
        await session.commit()
        return status


async def get(inst: Instance, url: str, headers=AP, **kwargs):
    async with inst.client() as http:
        return await http.get(url, headers=headers, **kwargs)


async def test_note_is_served_at_its_id(instance: Instance):
    status = await add_status(instance, "alice", content="<p>hello</p>")
    r = await get(instance, status.uri)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/activity+json")
    note = r.json()
    assert "https://www.w3.org/ns/activitystreams" in note["@context"]
    assert note["type"] == "Note" and note["id"] == status.uri
    assert note["attributedTo"] == f"{instance.base_url}/users/alice"
    assert note["content"] == "<p>hello</p>" and note["to"] == [PUBLIC]


async def test_create_is_served_at_activity(instance: Instance):
    status = await add_status(instance, "alice", content="<p>hi</p>", visibility="unlisted")
    activity = (await get(instance, status.uri + "/activity")).json()
    assert activity["type"] == "Create" and activity["id"] == status.uri + "/activity"
    assert activity["actor"] == f"{instance.base_url}/users/alice"
    assert activity["object"]["id"] == status.uri and activity["cc"] == [PUBLIC]


async def test_html_page_is_escaped_with_images_and_alternate(instance: Instance):
    status = await add_status(instance, "alice", content="<p>a <em>cat</em></p>",
                              spoiler_text="<b>cw</b>")
    async with instance.state.sessions() as session:
        session.add(MediaAttachment(account_id=status.account_id, status_id=status.id,
                                    remote_url="https://cdn.example/cat.png",
                                    description='a "cat" <drawn>', width=64, height=32))
        await session.commit()
    r = await get(instance, status.uri, headers=HTML)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt; Alice" in page
    assert "<p>a <em>cat</em></p>" in page  # sanitised content goes in as it is
    assert "&lt;b&gt;cw&lt;/b&gt;" in page and "<b>cw</b>" not in page
    assert '<img src="https://cdn.example/cat.png" alt="a &quot;cat&quot; &lt;drawn&gt;"' in page
    assert f'<link rel="alternate" type="application/activity+json" href="{status.uri}">' in page


async def test_mastodon_url_form(instance: Instance):
    status = await add_status(instance, "alice", content="<p>url form</p>")
    page = await get(instance, status.url, headers=HTML)
    assert page.status_code == 200 and "<p>url form</p>" in page.text
    r = await get(instance, status.url, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == status.uri


async def test_deleted_note_is_a_tombstone(instance: Instance):
    status = await add_status(instance, "alice", content="<p>gone</p>", deleted_at=datetime.now(UTC))
    r = await get(instance, status.uri)
    assert r.status_code == 410
    assert r.json() == {"@context": "https://www.w3.org/ns/activitystreams", "id": status.uri,
                        "type": "Tombstone"}
    page = await get(instance, status.uri, headers=HTML)
    assert page.status_code == 410 and "<p>gone</p>" not in page.text


async def test_unknown_and_misplaced_statuses_are_404(instance: Instance):
    status = await add_status(instance, "alice", content="<p>mine</p>")
    assert (await get(instance, f"{instance.base_url}/users/alice/statuses/123")).status_code == 404
    misplaced = f"{instance.base_url}/users/bob/statuses/{status.id}"
    assert (await get(instance, misplaced)).status_code == 404


@pytest.mark.parametrize("visibility", ["private", "direct"])
async def test_non_public_statuses_do_not_exist_for_anonymous(instance: Instance, visibility):
    status = await add_status(instance, "alice", content="<p>secret</p>", visibility=visibility)
    for url in (status.uri, status.uri + "/activity", status.uri + "/replies", status.url):
        for headers in (AP, HTML):
            r = await get(instance, url, headers=headers, follow_redirects=True)
            assert r.status_code == 404, url
            assert "secret" not in r.text


async def test_boost_is_served_as_announce(instance: Instance):
    original = await add_status(instance, "bob", content="<p>boost me</p>")
    boost = await add_status(instance, "alice", reblog_of_id=original.id)
    for url in (boost.uri, boost.uri + "/activity"):
        announce = (await get(instance, url)).json()
        assert announce["type"] == "Announce" and announce["object"] == original.uri
        assert announce["id"] == boost.uri + "/activity"
        assert announce["to"] == [PUBLIC]
        assert f"{instance.base_url}/users/bob" in announce["cc"]
    page = await get(instance, boost.uri, headers=HTML, follow_redirects=False)
    assert page.status_code == 302 and page.headers["location"] == original.uri
    outbox = (await get(instance, f"{instance.base_url}/users/alice/outbox?page=true")).json()
    assert [item["type"] for item in outbox["orderedItems"]] == ["Announce"]


async def test_replies_collection(instance: Instance):
    parent = await add_status(instance, "alice", content="<p>parent</p>")
    url = parent.uri + "/replies"
    empty = (await get(instance, url)).json()
    assert empty["type"] == "Collection" and empty["id"] == url
    assert empty["first"] == {"id": url + "?page=true", "type": "CollectionPage", "partOf": url,
                              "items": []}
    first = await add_status(instance, "bob", content="<p>r1</p>", in_reply_to_id=parent.id)
    await add_status(instance, "bob", content="<p>hidden</p>", in_reply_to_id=parent.id,
                     visibility="private")
    await add_status(instance, "bob", content="<p>del</p>", in_reply_to_id=parent.id,
                     deleted_at=datetime.now(UTC))
    second = await add_status(instance, "alice", content="<p>r2</p>", in_reply_to_id=parent.id,
                              visibility="unlisted")
    full = (await get(instance, url)).json()
    assert full["first"]["items"] == [first.uri, second.uri]
    page = (await get(instance, url + "?page=true")).json()
    assert page["@context"] == "https://www.w3.org/ns/activitystreams"
    assert page["type"] == "CollectionPage" and page["items"] == [first.uri, second.uri]
    later = (await get(instance, f"{url}?page=true&min_id={first.id}")).json()
    assert later["items"] == [second.uri]


async def test_tag_page(instance: Instance):
    status = await add_status(instance, "alice", content="<p>#cats rule</p>")
    hidden = await add_status(instance, "alice", content="<p>#cats secret</p>", visibility="private")
    async with instance.state.sessions() as session:
        tag = Tag(name="Cats")
        session.add(tag)
        await session.flush()
        session.add_all([StatusTag(status_id=status.id, tag_id=tag.id),
                         StatusTag(status_id=hidden.id, tag_id=tag.id)])
        await session.commit()
    r = await get(instance, f"{instance.base_url}/tags/cats", headers=HTML)
    assert r.status_code == 200 and "<h1>#cats</h1>" in r.text
    assert "<p>#cats rule</p>" in r.text and "secret" not in r.text
    odd = await get(instance, f"{instance.base_url}/tags/%3Cb%3E", headers=HTML)
    assert "&lt;b&gt;" in odd.text and "<b>" not in odd.text


async def test_accounts_table_is_untouched_by_reads(instance: Instance):
    """Serving objects to anonymous readers stores nothing (no remote actors appear)."""
    from sqlalchemy import func
    from sqlmodel import select

    status = await add_status(instance, "alice", content="<p>x</p>")
    await get(instance, status.uri)
    async with instance.state.sessions() as session:
        count = (await session.exec(select(func.count()).select_from(Account))).one()
    assert count == 3  # alice, bob and the instance actor
