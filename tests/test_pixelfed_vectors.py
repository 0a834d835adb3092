"""Issue 3: what Pixelfed sends, read by our inbox and seen through the client API.

The payloads in tests/vectors/activities/pixelfed/ are written after Pixelfed's transformers
(see the README there). A fake Pixelfed on loopback serves lens's actor document and takes
what we deliver; each payload is signed with lens's key as Pixelfed signs, posted to our
shared inbox, and what alice or bob see is read with Mastodon.py."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import pytest
from mastodon import MastodonNotFoundError
from sqlmodel import select

from activitypub.keys import generate_rsa_keypair
from tests.inbox_support import VECTORS, FakeServer, fake_server, jobs_settled, rsa_signature
from tests.instances import running_instance
from tests.test_api_accounts_support import Api

PIXELFED = "https://pixelfed.example"
LOCAL = "https://local.example"
ALICE_POST = LOCAL + "/users/alice/statuses/1"  # the placeholder for alice's post


@dataclass
class World:
    api: Api
    pixelfed: FakeServer
    private_pem: str

    @property
    def lens(self) -> str:
        return self.pixelfed.base + "/users/lens"

    def load(self, name: str, **placeholders: str) -> dict[str, Any]:
        """A Pixelfed payload with its hosts moved onto loopback and placeholders filled."""
        text = (VECTORS / "pixelfed" / name).read_text()
        for old, new in placeholders.items():
            text = text.replace(old, new)
        text = text.replace(PIXELFED, self.pixelfed.base).replace(LOCAL, self.api.base)
        return json.loads(text)

    async def send(self, activity: dict[str, Any]) -> None:
        """Post it signed as Pixelfed does, then wait until our workers have applied it."""
        body = json.dumps(activity).encode()
        headers = pixelfed_signed("/inbox", self.api.inst.domain, body, self.lens + "#main-key",
                                  self.private_pem)
        async with self.api.inst.client() as http:
            answer = await http.post("/inbox", content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        await jobs_settled(self.api)


def pixelfed_signed(path: str, host: str, body: bytes, key_id: str, pem: str) -> dict[str, str]:
    """Headers as Pixelfed's HttpSignature::sign makes them for a delivery (written here
    with `cryptography`, not with our signer): rsa-sha256 over (request-target), host, date,
    digest and the two headers its delivery jobs add, content-type and user-agent."""
    headers = {
        "Host": host,
        "Date": formatdate(usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "User-Agent": "(Pixelfed/0.11.13; +https://pixelfed.example)",
    }
    lines = [f"(request-target): post {path}", *(f"{k.lower()}: {v}" for k, v in headers.items())]
    signature = rsa_signature(pem, "\n".join(lines))
    headers["Signature"] = (f'keyId="{key_id}",headers="(request-target) host date digest '
                            f'content-type user-agent",algorithm="rsa-sha256",'
                            f'signature="{signature}"')
    return headers


@pytest.fixture
async def world(tmp_path, database_url) -> AsyncIterator[World]:
    private_pem, public_pem = generate_rsa_keypair()
    async with fake_server() as fake, \
            running_instance(tmp_path / "us", database_url, run_workers=True) as inst:
        found = World(Api(inst), fake, private_pem)
        person = found.load("person.json")
        person["publicKey"]["publicKeyPem"] = public_pem
        fake.serve(person)
        yield found


async def notifications(world: World, masto, kind: str) -> list[Any]:
    return [n for n in await world.api.call(masto.notifications) if n.type == kind]


async def follow_lens(world: World, masto) -> Any:
    """alice finds lens by her actor URL, follows her, and Pixelfed accepts; lens's account."""
    api = world.api
    [lens] = (await api.call(masto.search_v2, world.lens, resolve=True)).accounts
    relation = await api.call(masto.account_follow, lens.id)
    assert relation.requested is True and relation.following is False
    follow = await world.pixelfed.delivered("Follow")
    assert follow["object"] == world.lens
    # Pixelfed's Accept echoes our Follow's id in a Follow of its own making
    await world.send(world.load("accept-follow.json",
                                **{LOCAL + "/users/alice#follows/1": follow["id"]}))
    [relation] = await api.call(masto.account_relationships, lens.id)
    assert relation.following is True and relation.requested is False
    return lens


async def test_followed_pixelfed_account_posts_album_warning_and_followers_only(world):
    api = world.api
    _, token = await api.user("alice")
    masto = api.mastodon(token)
    lens = await follow_lens(world, masto)
    assert lens.username == "lens" and lens.display_name == "Lena Sørensen"
    assert lens.acct == f"lens@127.0.0.1:{world.pixelfed.port}" and lens.locked is False
    assert "Copenhagen harbour" in lens.note and lens.url == world.pixelfed.base + "/lens"

    album = world.load("create-album.json")
    await world.send(album)
    [status] = await api.call(masto.timeline_home)
    assert status.uri == album["object"]["id"] and status.url == album["object"]["id"]
    assert status.account.id == lens.id and status.visibility == "public"
    assert "Harbour at dawn, three frames on Portra 400" in status.content
    assert [t.name for t in status.tags] == ["filmphotography"]
    assert status.spoiler_text == "" and status.sensitive is False
    assert status.created_at.isoformat() == "2024-03-08T14:21:07+00:00"
    media = status.media_attachments
    sent = album["object"]["attachment"]
    assert [m.remote_url for m in media] == [a["url"] for a in sent]
    assert [m.type for m in media] == ["image", "image", "image"]
    assert [m.description for m in media] == [
        "Fishing boats moored in a harbour, mist over the water", "A gull on a bollard", None]
    assert [m.blurhash for m in media] == [sent[0]["blurhash"], sent[1]["blurhash"], None]
    assert [(m.meta.original.width, m.meta.original.height) for m in media] == \
        [(1080, 1350), (1350, 1080), (1080, 1080)]
    assert [(m.meta.focus.x, m.meta.focus.y) for m in media] == [(0.0, 0.0)] * 3  # none sent

    warned = world.load("create-content-warning.json")
    await world.send(warned)
    shown = await api.call(masto.status, (await api.call(masto.timeline_home))[0].id)
    assert shown.uri == warned["object"]["id"] and shown.visibility == "unlisted"
    assert shown.spoiler_text == "Needles and healing skin" and shown.sensitive is True
    [tattoo] = shown.media_attachments
    assert tattoo.description == "A healing forearm tattoo" and tattoo.blurhash.startswith("LKO2")

    private = world.load("create-followers-only.json")
    await world.send(private)
    newest = (await api.call(masto.timeline_home))[0]
    assert newest.uri == private["object"]["id"] and newest.visibility == "private"
    assert [(m.type, m.description) for m in newest.media_attachments] == [
        ("video", "Forty seconds of a film advance lever"), ("image", "The camera")]
    assert newest.media_attachments[1].meta.original.width == 1200

    _, stranger_token = await api.user("carol")  # not a follower: the private post is hidden
    stranger = api.mastodon(stranger_token)
    with pytest.raises(MastodonNotFoundError):
        await api.call(stranger.status, newest.id)

    # Pixelfed's Update lists the attachments without blurhash or sizes: those are kept
    update = world.load("update-album.json")
    await world.send(update)
    edited = await api.call(masto.status, status.id)
    assert "pushed one stop" in edited.content and edited.edited_at is not None
    assert [m.description for m in edited.media_attachments] == [
        "Fishing boats moored in a harbour, mist over the water",
        "A herring gull on a bollard", None]
    assert [m.blurhash for m in edited.media_attachments] == [m.blurhash for m in media]
    assert [m.meta.original.width for m in edited.media_attachments] == [1080, 1350, 1080]
    assert [m.id for m in edited.media_attachments] == [m.id for m in media]
    history = await api.call(masto.status_history, status.id)
    assert len(history) == 2 and "pushed one stop" not in history[0].content
    assert "pushed one stop" in history[1].content
    assert [m.description for m in history[0].media_attachments][1] == "A gull on a bollard"

    # lens boosts fjord's post, which we have not seen: it is fetched from Pixelfed
    fjord = world.load("person.json", **{"/users/lens": "/users/fjord", '"lens"': '"fjord"'})
    world.pixelfed.serve(fjord)
    note = world.load("note-fjord.json")
    world.pixelfed.serve(note)
    await world.send(world.load("announce-remote.json"))
    boost = (await api.call(masto.timeline_home))[0]
    assert boost.account.id == lens.id and boost.reblog.uri == note["id"]
    assert boost.reblog.account.acct.startswith("fjord@")
    assert [t.name for t in boost.reblog.tags] == ["fjord"]
    [tide] = boost.reblog.media_attachments
    assert (tide.type, tide.description) == ("image", "Wet sand and a line of seaweed")
    assert (tide.meta.original.width, tide.meta.original.height) == (1440, 1800)

    await world.send(world.load("delete-note.json"))  # a Tombstone, no to/cc at all
    with pytest.raises(MastodonNotFoundError):
        await api.call(masto.status, status.id)
    assert album["object"]["id"] not in [s.uri for s in await api.call(masto.timeline_home)]


async def test_pixelfed_reply_like_and_boost_of_a_local_post(world):
    api = world.api
    _, token = await api.user("alice")
    masto = api.mastodon(token)
    post = await api.call(masto.status_post, "first light over the water")
    here = {ALICE_POST: post.uri}

    reply = world.load("create-reply.json", **here)
    await world.send(reply)  # its `tag` is one object with the Mention's keys plus "0"
    [mention] = await notifications(world, masto, "mention")
    assert mention.account.acct.startswith("lens@")
    assert mention.status.uri == reply["object"]["id"]
    assert mention.status.in_reply_to_id == post.id
    assert mention.status.in_reply_to_account_id == post.account.id
    assert [m.username for m in mention.status.mentions] == ["alice"]
    assert "that light is lovely" in mention.status.content
    context = await api.call(masto.status_context, post.id)
    assert [s.uri for s in context.descendants] == [reply["object"]["id"]]

    await world.send(world.load("like.json", **here))
    [favourite] = await notifications(world, masto, "favourite")
    assert favourite.status.id == post.id and favourite.account.username == "lens"
    assert (await api.call(masto.status, post.id)).favourites_count == 1
    await world.send(world.load("undo-like.json", **here))
    assert (await api.call(masto.status, post.id)).favourites_count == 0

    announce = world.load("announce.json", **here)  # its `published` ends "+0000"
    await world.send(announce)
    [reblog] = await notifications(world, masto, "reblog")
    assert reblog.status.id == post.id and reblog.account.username == "lens"
    assert (await api.call(masto.status, post.id)).reblogs_count == 1
    assert [a.username for a in await api.call(masto.status_reblogged_by, post.id)] == ["lens"]
    await world.send(world.load("undo-announce.json", **here))
    assert (await api.call(masto.status, post.id)).reblogs_count == 0


async def test_pixelfed_follows_are_taken_and_undone_by_their_shape(world):
    api = world.api
    _, alice_token = await api.user("alice")
    alice = api.mastodon(alice_token)
    bob_account, bob_token = await api.user("bob", locked=True)
    bob = api.mastodon(bob_token)

    follow = world.load("follow.json")
    await world.send(follow)
    [followed] = await notifications(world, alice, "follow")
    assert followed.account.username == "lens"
    me = await api.call(alice.me)
    assert [a.username for a in await api.call(alice.account_followers, me.id)] == ["lens"]
    accept = await world.pixelfed.delivered("Accept")
    assert accept["object"]["id"] == follow["id"]

    # Pixelfed undoes "#follow/4087" with an Undo whose Follow is "#follows/4087"
    await world.send(world.load("undo-follow.json"))
    assert await api.call(alice.account_followers, me.id) == []

    to_bob = world.load("follow.json", **{"#follow/4087": "#follow/4088",
                                          LOCAL + "/users/alice": LOCAL + "/users/bob"})
    await world.send(to_bob)
    assert [a.username for a in await api.call(bob.follow_requests)] == ["lens"]
    assert [n.account.username for n in await notifications(world, bob, "follow_request")] == ["lens"]
    assert await api.call(bob.account_followers, bob_account.id) == []


def test_every_pixelfed_vector_names_pixelfed_hosts_only():
    """The vectors keep the hosts the tests move: nothing points anywhere real."""
    for path in sorted((VECTORS / "pixelfed").glob("*.json")):
        text = path.read_text()
        doc = json.loads(text)
        assert doc["id"].startswith(PIXELFED), path.name
        hosts = {word.split("/")[2] for word in text.replace('"', " ").split()
                 if word.startswith(("https://", "http://"))}
        assert hosts <= {"pixelfed.example", "local.example", "www.w3.org", "w3id.org",
                         "schema.org", "pixelfed.org", "joinmastodon.org"}, (path.name, hosts)


async def test_rows_left_by_a_pixelfed_post_are_one_status(world):
    """The album applied twice (Pixelfed retries) is one status with three attachments."""
    from models.tables import MediaAttachment, Status

    _, token = await world.api.user("alice")
    masto = world.api.mastodon(token)
    await follow_lens(world, masto)
    album = world.load("create-album.json")
    await world.send(album)
    await world.send(album)
    statuses = await world.api.rows(Status, Status.uri == album["object"]["id"])
    assert len(statuses) == 1
    media = await world.api.rows(MediaAttachment, MediaAttachment.status_id == statuses[0].id)
    assert len(media) == 3


async def test_an_edit_that_drops_and_adds_attachments(database_url):
    """Attachments kept by URL keep their rows; dropped ones go; new ones come."""
    from models.accounts import create_account
    from models.tables import Follow, MediaAttachment
    from tests.inbox_support import add, apply, federation, remote

    async with federation(database_url, LOCAL) as ctx:
        lens = remote(PIXELFED + "/users/lens")
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        await add(ctx, lens)
        await add(ctx, Follow(account_id=alice.id, target_account_id=lens.id, state="accepted"))
        album = json.loads((VECTORS / "pixelfed" / "create-album.json").read_text())
        assert await apply(ctx, album)

        async def media() -> list[MediaAttachment]:
            async with ctx.sessions() as session:
                return list((await session.exec(select(MediaAttachment).order_by(
                    MediaAttachment.position))).all())

        before = await media()
        update = json.loads((VECTORS / "pixelfed" / "update-album.json").read_text())
        third = update["object"]["attachment"][2]
        added = third | {"url": third["url"].replace("harbour3.png", "harbour4.png"),
                         "name": "Rope on a cleat"}
        update["object"]["attachment"] = [third, added]
        assert await apply(ctx, update)
        after = await media()
        assert [m.remote_url for m in after] == [third["url"], added["url"]]
        assert after[0].id == before[2].id and (after[0].width, after[0].height) == (1080, 1080)
        assert after[1].id not in {m.id for m in before} and after[1].description == "Rope on a cleat"
        assert [m.position for m in after] == [0, 1]
