"""Local actions end to end: rows written, activities delivered (signed) to a sink server."""

from __future__ import annotations

import pytest
from sqlmodel import select

from activitypub.vocab import PUBLIC
from models.tables import (
    Block,
    Follow,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusEdit,
    Tag,
)
from outbox import actions
from outbox.deliver import Deliverer
from tests.outbox_fixtures import (  # noqa: F401
    BASE,
    add_followers,
    ctx,
    local,
    remote_account,
    remote_follower,
    trust,
)
from tests.sinks import running_sink

ALICE = f"{BASE}/users/alice"


@pytest.fixture
async def world(ctx):  # noqa: F811
    """alice (local), bob on a sink (following alice), and a deliver() that drains the queue."""
    alice = await local(ctx, "alice")
    async with running_sink() as sink:
        trust([sink], ctx, alice)
        bob = await remote_follower(ctx, sink, alice)
        deliverer = Deliverer(ctx)

        async def deliver() -> list[dict]:
            from models.queue import Worker
            worker = Worker(ctx.sessions, deliverer.handlers(), ["deliver"], concurrency=8)
            while await worker.run_once():
                pass
            bodies = list(sink.bodies())
            sink.received.clear()
            return bodies

        yield ctx, alice, bob, sink, deliver
        await deliverer.aclose()


async def rows(ctx, model, *where):  # noqa: F811
    async with ctx.sessions() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def test_post_with_image_mention_and_hashtag(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        image = MediaAttachment(account_id=alice.id, mime_type="image/webp", file_path="1/fox.webp",
                                description="a fox", blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                                width=640, height=480, focus_x=0.1, focus_y=0.2)
        session.add(image)
        await session.flush()
        status = await actions.post_status(
            ctx, session, alice, text="Look @bob@" + bob.domain + " #Foxes", media=[image],
            mentions=[bob], spoiler_text="animals", language="en")
    [create] = await deliver()  # bob follows and is mentioned: one POST to his shared inbox
    assert sink.received == [] and not sink.rejected
    note = create["object"]
    assert create["type"] == "Create" and create["actor"] == ALICE
    assert create["id"] == status.uri + "/activity"
    assert note["id"] == status.uri and note["to"] == [PUBLIC]
    assert note["cc"] == [ALICE + "/followers", bob.uri]
    assert note["summary"] == "animals" and note["sensitive"] is True
    assert 'class="u-url mention"' in note["content"] and "#<span>Foxes</span>" in note["content"]
    assert note["attachment"] == [{
        "type": "Document", "mediaType": "image/webp", "url": f"{BASE}/media/1/fox.webp",
        "name": "a fox", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        "focalPoint": [0.1, 0.2], "width": 640, "height": 480}]
    assert {"type": "Mention", "href": bob.uri, "name": f"@bob@{bob.domain}"} in note["tag"]
    assert {"type": "Hashtag", "href": f"{BASE}/tags/foxes", "name": "#Foxes"} in note["tag"]
    assert len(await rows(ctx, Mention, Mention.status_id == status.id)) == 1
    assert [t.name for t in await rows(ctx, Tag)] == ["Foxes"]


async def test_reply_mentions_the_parent_author_and_joins_the_thread(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        parent = Status(uri=f"{sink.base}/notes/1", account_id=bob.id, local=False,
                        conversation=f"{sink.base}/contexts/1")
        session.add(parent)
        await session.flush()
        reply = await actions.post_status(ctx, session, alice, text="yes!", in_reply_to=parent,
                                          visibility="unlisted")
    [create] = await deliver()
    note = create["object"]
    assert note["inReplyTo"] == parent.uri and note["conversation"] == parent.conversation
    assert note["to"] == [ALICE + "/followers"] and note["cc"] == [PUBLIC, bob.uri]
    assert note["tag"] == [{"type": "Mention", "href": bob.uri, "name": f"@bob@{bob.domain}"}]
    assert reply.in_reply_to_id == parent.id and reply.in_reply_to_account_id == bob.id


async def test_direct_message_goes_only_to_the_mentioned(ctx) -> None:  # noqa: F811
    alice, carol = await local(ctx, "alice"), await local(ctx, "carol")
    async with running_sink() as follower_host, running_sink() as dm_host:
        trust([follower_host, dm_host], ctx, alice)
        async with ctx.sessions() as session:
            eve, dan = remote_account(follower_host, "eve"), remote_account(dm_host, "dan")
            session.add_all([eve, dan])
            await session.flush()
            await add_followers(session, alice, [eve])
            await actions.post_status(ctx, session, alice, text="@dan @carol psst",
                                      visibility="direct", mentions=[dan, carol])
        deliverer = Deliverer(ctx)
        from models.queue import Worker
        while await Worker(ctx.sessions, deliverer.handlers(), ["deliver"]).run_once():
            pass
        await deliverer.aclose()
    assert follower_host.received == []
    [create] = dm_host.bodies()
    assert create["object"]["to"] == [dan.uri, f"{BASE}/users/carol"]
    assert create["object"]["cc"] == []
    [note] = await rows(ctx, Notification, Notification.account_id == carol.id)
    assert note.type == "mention"


async def test_edit_then_delete(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        status = await actions.post_status(ctx, session, alice, text="frist")
        await actions.edit_status(ctx, session, status, text="first")
    # deliveries run concurrently, so they may arrive in either order
    sent = {body["type"]: body for body in await deliver()}
    create, update = sent["Create"], sent["Update"]
    assert len(sent) == 2 and update["object"]["id"] == status.uri
    assert update["object"]["content"] == "<p>first</p>"
    assert update["object"]["updated"] > create["object"]["published"]
    [edit] = await rows(ctx, StatusEdit)
    assert edit.content == "<p>frist</p>"
    async with ctx.sessions() as session:
        status = await session.get(Status, status.id)
        await actions.delete_status(ctx, session, status)
    [delete] = await deliver()
    assert delete["type"] == "Delete" and delete["actor"] == ALICE
    assert delete["object"] == {"id": status.uri, "type": "Tombstone", "atomUri": status.uri}
    assert (await rows(ctx, Status, Status.id == status.id))[0].deleted_at is not None


async def test_follow_remote_then_unfollow(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        row = await actions.follow(ctx, session, alice, bob)
        assert row.state == "pending"
    [follow] = await deliver()
    assert follow == {"@context": follow["@context"], "id": row.uri, "type": "Follow",
                      "actor": ALICE, "object": bob.uri}
    async with ctx.sessions() as session:
        assert await actions.unfollow(ctx, session, alice, bob)
    [undo] = await deliver()
    assert undo["type"] == "Undo" and undo["object"]["id"] == row.uri
    assert undo["object"]["type"] == "Follow"
    assert await rows(ctx, Follow, Follow.account_id == alice.id) == []


async def test_follow_local_accounts(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    open_, locked = await local(ctx, "open"), await local(ctx, "shy", locked=True)
    async with ctx.sessions() as session:
        assert (await actions.follow(ctx, session, alice, open_)).state == "accepted"
        assert (await actions.follow(ctx, session, alice, locked)).state == "pending"
        assert (await actions.accept_follow_request(ctx, session, locked, alice)).state == "accepted"
    kinds = {(n.account_id, n.type) for n in await rows(ctx, Notification)}
    assert kinds == {(open_.id, "follow"), (locked.id, "follow_request")}


async def test_accept_and_reject_remote_follow_requests(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        [row] = await rows(ctx, Follow)
        row.state, row.uri = "pending", f"{sink.base}/follows/1"
        session.add(row)
        await session.commit()
        await actions.accept_follow_request(ctx, session, alice, bob)
    [accept] = await deliver()
    assert accept["type"] == "Accept" and accept["actor"] == ALICE
    assert accept["object"] == {"id": f"{sink.base}/follows/1", "type": "Follow",
                                "actor": bob.uri, "object": ALICE}
    async with ctx.sessions() as session:
        assert await actions.reject_follow_request(ctx, session, alice, bob)
    [reject] = await deliver()
    assert reject["type"] == "Reject" and reject["object"]["id"] == f"{sink.base}/follows/1"
    assert await rows(ctx, Follow) == []


async def test_like_and_boost_a_remote_status_then_undo(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        note = Status(uri=f"{sink.base}/notes/2", account_id=bob.id, local=False)
        session.add(note)
        await session.flush()
        fav = await actions.favourite(ctx, session, alice, note)
        boost = await actions.reblog(ctx, session, alice, note)
    like, announce = sorted(await deliver(), key=lambda a: a["type"] != "Like")
    assert like == {"@context": like["@context"], "id": fav.uri, "type": "Like", "actor": ALICE,
                    "object": note.uri}
    assert announce["type"] == "Announce" and announce["object"] == note.uri
    assert announce["id"] == boost.uri and announce["to"] == [PUBLIC]
    assert announce["cc"] == [ALICE + "/followers", bob.uri]
    async with ctx.sessions() as session:
        assert await actions.unfavourite(ctx, session, alice, note)
        assert await actions.unreblog(ctx, session, alice, note)
    undos = await deliver()
    assert sorted(u["object"]["type"] for u in undos) == ["Announce", "Like"]
    assert all(u["type"] == "Undo" and u["actor"] == ALICE for u in undos)


async def test_like_and_boost_of_a_local_status_notify(ctx) -> None:  # noqa: F811
    alice, carol = await local(ctx, "alice"), await local(ctx, "carol")
    async with ctx.sessions() as session:
        status = await actions.post_status(ctx, session, carol, text="hello")
        await actions.favourite(ctx, session, alice, status)
        await actions.reblog(ctx, session, alice, status)
    kinds = sorted(n.type for n in await rows(ctx, Notification, Notification.account_id == carol.id))
    assert kinds == ["favourite", "reblog"]


async def test_block_ends_follows_both_ways(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        await actions.follow(ctx, session, alice, bob)
    await deliver()
    async with ctx.sessions() as session:
        row = await actions.block(ctx, session, alice, bob)
    sent = {body["type"]: body for body in await deliver()}
    undo, block = sent["Undo"], sent["Block"]
    assert len(sent) == 2 and undo["object"]["type"] == "Follow"
    assert block == {"@context": block["@context"], "id": row.uri, "type": "Block",
                     "actor": ALICE, "object": bob.uri}
    assert await rows(ctx, Follow) == []
    async with ctx.sessions() as session:
        assert await actions.unblock(ctx, session, alice, bob)
    [undo_block] = await deliver()
    assert undo_block["type"] == "Undo" and undo_block["object"]["type"] == "Block"
    assert await rows(ctx, Block) == []


async def test_profile_update_goes_to_followers(world) -> None:
    ctx, alice, bob, sink, deliver = world
    async with ctx.sessions() as session:
        await actions.update_profile(ctx, session, alice, display_name="Alice A.",
                                     note="I draw foxes")
    [update] = await deliver()
    assert update["type"] == "Update" and update["actor"] == ALICE
    actor = update["object"]
    assert actor["id"] == ALICE and actor["type"] == "Person" and "@context" not in actor
    assert actor["name"] == "Alice A." and actor["summary"] == "<p>I draw foxes</p>"
    assert actor["publicKey"]["publicKeyPem"] == alice.public_key_pem
