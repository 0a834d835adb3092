"""Posts between two real instances: an image post with every attachment field, a reply, a like,
a boost (also of a post the other side must fetch from its origin), their undoing, an edit
and a delete."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from models.tables import (
    Account,
    Favourite,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusEdit,
)
from outbox import actions
from tests.flows_support import Side, following, pair  # noqa: F401

BLURHASH = "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"


async def _image(side: Side, owner: Account, name: str = "fox.png") -> tuple[MediaAttachment, bytes]:
    """A real 64×48 PNG in the side's media dir, and its (unattached) media row."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="PNG")
    data = buffer.getvalue()
    path = side.inst.settings.media_dir / str(owner.id) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    media = MediaAttachment(account_id=owner.id, mime_type="image/png",
                            file_path=f"{owner.id}/{name}", description="a fox in the snow",
                            blurhash=BLURHASH, width=64, height=48, focus_x=0.25, focus_y=-0.5)
    async with side.writer() as session:
        session.add(media)
        await session.commit()
    return media, data


def _stored(side: Side, uri: str):  # type: ignore[no-untyped-def]
    return lambda: side.status(uri)


async def test_image_post_arrives_with_every_attachment_field(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    await following(b, bob, a, alice)
    media, data = await _image(a, alice)

    post = await a.act(actions.post_status, alice, text="a fox #winter", media=[media],
                       language="en")

    copy = await b.eventually(_stored(b, post.uri), what="the image post")
    alice_on_b = await b.by_uri(a.actor("alice"))
    assert copy.account_id == alice_on_b.id and not copy.local
    assert copy.visibility == "public" and copy.language == "en"
    assert copy.url == post.url and "a fox" in copy.content
    [item] = await b.rows(MediaAttachment, MediaAttachment.status_id == copy.id)
    assert item.remote_url == f"{a.base}/media/{alice.id}/fox.png"
    assert (item.type, item.mime_type, item.description) == ("image", "image/png", "a fox in the snow")
    assert (item.blurhash, item.width, item.height) == (BLURHASH, 64, 48)
    assert (item.focus_x, item.focus_y) == (0.25, -0.5)
    async with httpx.AsyncClient() as http:
        response = await http.get(item.remote_url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/png"

    async def copied() -> MediaAttachment | None:
        [row] = await b.rows(MediaAttachment, MediaAttachment.id == item.id)
        return row if row.file_path else None

    # B copies the image (re-encoded, the same pixels) and keeps where it came from
    copy_row = await b.eventually(copied, what="B's copy of the image")
    assert copy_row.remote_url == item.remote_url
    assert (copy_row.blurhash, copy_row.width, copy_row.height) == (BLURHASH, 64, 48)
    async with httpx.AsyncClient() as http:
        ours = await http.get(f"{b.base}/media/{copy_row.file_path}")
    assert ours.status_code == 200 and ours.headers["content-type"] == "image/png"
    assert (Image.open(io.BytesIO(ours.content)).convert("RGB").tobytes()
            == Image.open(io.BytesIO(data)).convert("RGB").tobytes())


async def test_reply_like_boost_edit_delete(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    alice_on_b = await following(b, bob, a, alice)
    bob_on_a = await a.eventually(lambda: a.by_uri(b.actor("bob")), what="bob's actor")
    post = await a.act(actions.post_status, alice, text="first light")
    copy = await b.eventually(_stored(b, post.uri), what="alice's post")

    reply = await b.act(actions.post_status, bob, text="lovely", in_reply_to=copy)
    theirs = await a.eventually(_stored(a, reply.uri), what="bob's reply")
    assert (theirs.account_id, theirs.in_reply_to_id) == (bob_on_a.id, post.id)
    assert theirs.in_reply_to_account_id == alice.id and theirs.in_reply_to_uri == post.uri
    assert theirs.conversation == post.conversation
    assert [m.account_id for m in await a.rows(Mention, Mention.status_id == theirs.id)] == [alice.id]

    await b.act(actions.favourite, bob, copy)
    like = await a.eventually(lambda: a.one(Favourite, Favourite.status_id == post.id),
                              what="the like")
    assert like.account_id == bob_on_a.id and like.uri.startswith(b.actor("bob") + "#likes/")

    boost = await b.act(actions.reblog, bob, copy)
    boosted = await a.eventually(_stored(a, boost.uri), what="the boost")
    assert (boosted.account_id, boosted.reblog_of_id) == (bob_on_a.id, post.id)
    assert boosted.visibility == "public"

    notes = await a.rows(Notification, Notification.account_id == alice.id)
    assert sorted((n.type, n.status_id) for n in notes if n.from_account_id == bob_on_a.id) == sorted(
        [("follow", None), ("mention", theirs.id), ("favourite", post.id), ("reblog", post.id)])

    await b.act(actions.unfavourite, bob, copy)

    async def unliked() -> bool:
        return not await a.rows(Favourite, Favourite.status_id == post.id)

    await a.eventually(unliked, what="the Undo of the like")

    await a.act(actions.edit_status, post, text="first light, edited")

    async def edited() -> Status | None:
        found = await b.status(post.uri)
        return found if found and found.edited_at else None

    copy = await b.eventually(edited, what="the edit")
    assert copy.content == "<p>first light, edited</p>"
    [old] = await b.rows(StatusEdit, StatusEdit.status_id == copy.id)
    assert old.content == "<p>first light</p>"

    await a.act(actions.delete_status, post)

    async def deleted() -> Status | None:
        found = await b.status(post.uri)
        return found if found and found.deleted_at else None

    gone = await b.eventually(deleted, what="the delete")
    assert gone.content == "" and gone.account_id == alice_on_b.id
    # bob's own boost of it goes with it, as on Mastodon
    assert await b.status(boost.uri) is None
    async with httpx.AsyncClient() as http:
        response = await http.get(post.uri, headers={"Accept": "application/activity+json"})
    assert response.status_code == 410 and response.json()["type"] == "Tombstone"


async def test_boost_of_a_post_the_other_side_fetches_from_its_origin(pair) -> None:  # noqa: F811
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob")
    await following(b, bob, a, carol)  # bob follows the booster only
    media, _ = await _image(a, alice)
    mentioned = await a.account("dave")
    post = await a.act(actions.post_status, alice, text="seen from afar #far", media=[media],
                       mentions=[mentioned], spoiler_text="long view")
    await a.settled()
    assert await b.status(post.uri) is None  # nobody on B follows alice

    boost = await a.act(actions.reblog, carol, post)

    stored = await b.eventually(_stored(b, boost.uri), what="carol's boost")
    carol_on_b = await b.by_uri(a.actor("carol"))
    original = await b.one(Status, Status.id == stored.reblog_of_id)
    alice_on_b = await b.by_uri(a.actor("alice"))
    assert stored.account_id == carol_on_b.id and original is not None
    assert (original.uri, original.account_id) == (post.uri, alice_on_b.id)
    assert original.spoiler_text == "long view" and original.sensitive
    assert "seen from afar" in original.content and original.visibility == "public"
    [item] = await b.rows(MediaAttachment, MediaAttachment.status_id == original.id)
    assert (item.remote_url, item.description) == (f"{a.base}/media/{alice.id}/fox.png",
                                                   "a fox in the snow")
    assert (item.blurhash, item.width, item.height) == (BLURHASH, 64, 48)

    await a.act(actions.unreblog, carol, post)

    async def unboosted() -> bool:
        return await b.status(boost.uri) is None

    await b.eventually(unboosted, what="the Undo of the boost")
    assert await b.status(post.uri) is not None  # the post itself stays
