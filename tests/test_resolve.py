"""Resolving actors, handles and statuses: ours from the database, others fetched and cached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activitypub.errors import Gone
from inbox.resolve import ResolveError, resolve_actor, resolve_handle, resolve_status
from models.accounts import create_account
from models.remote import get_account_by_uri
from models.tables import Account
from tests.inbox_support import actor_doc, add, federation, origin_server, remote


@pytest.fixture
async def world(database_url):
    async with origin_server() as origin, \
            federation(database_url, "https://local.example") as ctx:
        yield ctx, origin


async def test_local_uris_resolve_without_http(world):
    ctx, origin = world
    async with ctx.sessions() as session:
        alice = await create_account(session, "alice")
        assert (await resolve_actor(ctx, session, "https://local.example/users/alice")).id == alice.id
        assert (await resolve_handle(ctx, session, "@alice@local.example")).id == alice.id
        assert await resolve_status(ctx, session, "https://local.example/users/alice/statuses/1") is None
        with pytest.raises(ResolveError):
            await resolve_actor(ctx, session, "https://local.example/users/nobody")
    assert origin.hits == []


async def test_remote_actor_is_fetched_once_then_cached(world):
    ctx, origin = world
    uri = origin.base + "/users/bob"
    origin.serve(actor_doc(uri, name="Bob <b>B</b>", summary="<p>hi<script>x</script></p>"))
    async with ctx.sessions() as session:
        bob = await resolve_actor(ctx, session, uri)
        again = await resolve_actor(ctx, session, uri)
        await session.commit()
    assert again.id == bob.id and origin.hits == ["/users/bob"]
    assert (bob.kind, bob.username, bob.display_name, bob.note) == \
        ("remote", "bob", "Bob B", "<p>hi</p>")
    assert bob.key_id == uri + "#main-key" and bob.inbox == uri + "/inbox"


async def test_stale_actor_is_refreshed_and_kept_when_unreachable(world):
    ctx, origin = world
    uri = origin.base + "/users/carol"
    await add(ctx, remote(uri, display_name="old",
                          fetched_at=datetime.now(UTC) - timedelta(days=2)))
    origin.answer("/users/carol", 500)
    async with ctx.sessions() as session:
        assert (await resolve_actor(ctx, session, uri)).display_name == "old"
    origin.serve(actor_doc(uri, name="new"))
    async with ctx.sessions() as session:
        assert (await resolve_actor(ctx, session, uri)).display_name == "new"


async def test_gone_actor_is_removed(world):
    ctx, origin = world
    uri = origin.base + "/users/dave"
    await add(ctx, remote(uri, fetched_at=datetime.now(UTC) - timedelta(days=2)))
    origin.answer("/users/dave", 410)
    async with ctx.sessions() as session:
        with pytest.raises(Gone):
            await resolve_actor(ctx, session, uri)
        await session.commit()
    async with ctx.sessions() as session:
        assert await get_account_by_uri(session, uri) is None


async def test_handle_resolves_through_webfinger(world):
    ctx, origin = world
    host = f"127.0.0.1:{origin.port}"
    uri = origin.base + "/users/erin"
    origin.answer(f"/.well-known/webfinger?resource=acct:erin@{host}", 200, {
        "subject": f"acct:erin@{host}",
        "links": [{"rel": "self", "type": "application/activity+json", "href": uri}]})
    origin.serve(actor_doc(uri))
    async with ctx.sessions() as session:
        erin = await resolve_handle(ctx, session, f"@erin@{host}")
    assert isinstance(erin, Account) and erin.uri == uri


async def test_status_is_fetched_with_its_author(world):
    ctx, origin = world
    author = origin.base + "/users/fay"
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": origin.base + "/notes/1",
            "type": "Note", "attributedTo": author, "content": "<p>hello #tag</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "tag": {"type": "Hashtag", "name": "#Tag"},
            "attachment": {"type": "Document", "mediaType": "image/png", "url": origin.base + "/a.png",
                           "name": "a cat", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                           "width": 640, "height": 480, "focalPoint": [-0.5, 0.25]}}
    origin.serve(note)
    origin.serve(actor_doc(author))
    async with ctx.sessions() as session:
        status = await resolve_status(ctx, session, note["id"])
        await session.commit()
    assert status is not None and status.visibility == "public"
    from sqlmodel import select

    from models.tables import MediaAttachment, StatusTag, Tag
    async with ctx.sessions() as session:
        [media] = list(await session.exec(select(MediaAttachment)))
        [tag] = list(await session.exec(select(Tag)))
        assert len(list(await session.exec(select(StatusTag)))) == 1
    assert (media.description, media.width, media.height, media.focus_x, media.focus_y) == \
        ("a cat", 640, 480, -0.5, 0.25)
    assert media.blurhash == note["attachment"]["blurhash"] and tag.name == "Tag"


async def test_status_attributed_to_another_host_is_refused(world):
    ctx, origin = world
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": origin.base + "/notes/2",
            "type": "Note", "attributedTo": "https://elsewhere.example/users/x", "content": "x"}
    origin.serve(note)
    async with ctx.sessions() as session:
        with pytest.raises(ResolveError):
            await resolve_status(ctx, session, note["id"])
