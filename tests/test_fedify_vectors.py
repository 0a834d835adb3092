"""Issue 3: what Fedify sends, read by our inbox and seen through the client API.

The payloads in tests/vectors/activities/fedify/ were captured from a real Fedify 1.10 server
talking to ours on loopback (see the README there). A stand-in for that server serves fed's
actor document (with a key made here) and takes what we deliver; each payload is signed the way
Fedify signed it, with RFC 9421 (its first knock) or draft-cavage (its fallback), and posted to
the inbox it used; what alice sees is read with Mastodon.py."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import pytest

from activitypub.keys import generate_rsa_keypair
from tests.inbox_support import VECTORS, FakeServer, fake_server, jobs_settled, rsa_signature
from tests.instances import running_instance
from tests.test_api_accounts_support import Api

FEDIFY = "https://fedify.example"
LOCAL = "https://local.example"
ALICE_POST = LOCAL + "/users/alice/statuses/1"  # the placeholder for alice's post
OUR_FOLLOW = LOCAL + "/users/alice#follows/1"  # the placeholder for our Follow's id


def rfc9421_signed(url: str, host: str, body: bytes, key_id: str, pem: str) -> dict[str, str]:
    """Headers as Fedify 1.10 makes them on its first knock (written here with
    `cryptography`, not with our signer): `Content-Digest`, and one `sig1` over @method,
    @target-uri, @authority, host, date and content-digest, parameters alg, keyid, created."""
    headers = {
        "Content-Type": "application/activity+json",
        "Date": formatdate(usegmt=True),
        "Host": host,
        "Content-Digest": "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":",
    }
    params = ('("@method" "@target-uri" "@authority" "host" "date" "content-digest")'
              f';alg="rsa-v1_5-sha256";keyid="{key_id}";created={int(time.time())}')
    lines = ['"@method": POST', f'"@target-uri": {url}', f'"@authority": {host}',
             f'"host": {host}', f'"date": {headers["Date"]}',
             f'"content-digest": {headers["Content-Digest"]}', f'"@signature-params": {params}']
    signature = rsa_signature(pem, "\n".join(lines))
    headers["Signature-Input"] = "sig1=" + params
    headers["Signature"] = f"sig1=:{signature}:"
    return headers


def cavage_signed(path: str, host: str, body: bytes, key_id: str, pem: str) -> dict[str, str]:
    """Headers as Fedify 1.10 makes them for draft-cavage: rsa-sha256 over (request-target),
    content-type, date, digest and host, in that order."""
    headers = {
        "Content-Type": "application/activity+json",
        "Date": formatdate(usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Host": host,
    }
    lines = [f"(request-target): post {path}", *(f"{k.lower()}: {v}" for k, v in headers.items())]
    headers["Signature"] = (f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) '
                            f'content-type date digest host",signature="{rsa_signature(pem, chr(10).join(lines))}"')
    return headers


@dataclass
class World:
    api: Api
    fedify: FakeServer
    private_pem: str
    public_pem: str
    standard: str  # "rfc9421": to alice's inbox, as in the capture; "cavage": to the shared one

    @property
    def fed(self) -> str:
        return self.fedify.base + "/users/fed"

    def load(self, name: str, **placeholders: str) -> dict[str, Any]:
        """A Fedify payload with its hosts moved onto loopback and placeholders filled."""
        text = (VECTORS / "fedify" / name).read_text()
        for old, new in placeholders.items():
            text = text.replace(old, new)
        text = text.replace(FEDIFY, self.fedify.base).replace(LOCAL, self.api.base)
        text = text.replace("fedify.example", f"127.0.0.1:{self.fedify.port}")
        text = text.replace("local.example", self.api.inst.domain)
        return json.loads(text)

    async def send(self, activity: dict[str, Any]) -> None:
        """Post it signed as Fedify does, then wait until our workers have applied it."""
        body = json.dumps(activity).encode()
        host, key_id = self.api.inst.domain, self.fed + "#main-key"
        if self.standard == "rfc9421":
            path = "/users/alice/inbox"
            headers = rfc9421_signed(self.api.base + path, host, body, key_id, self.private_pem)
        else:
            path = "/inbox"
            headers = cavage_signed(path, host, body, key_id, self.private_pem)
        async with self.api.inst.client() as http:
            answer = await http.post(path, content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        await jobs_settled(self.api)


@pytest.fixture(params=["rfc9421", "cavage"])
async def world(request, tmp_path, database_url) -> AsyncIterator[World]:
    private_pem, public_pem = generate_rsa_keypair()
    async with fake_server() as fake, \
            running_instance(tmp_path / "us", database_url, run_workers=True) as inst:
        found = World(Api(inst), fake, private_pem, public_pem, request.param)
        person = found.load("person.json")
        person["publicKey"]["publicKeyPem"] = public_pem
        fake.docs["/users/fed"] = person
        yield found


async def test_fedify_follows_posts_likes_boosts_replies_edits_and_takes_back(world):
    """Every payload in the order Fedify sent it, each seen through the client API."""
    api = world.api
    _, token = await api.user("alice")
    masto = api.mastodon(token)
    me = await api.call(masto.me)

    follow = world.load("follow.json")
    await world.send(follow)
    [fed] = await api.call(masto.account_followers, me.id)
    assert fed.acct == f"fed@127.0.0.1:{world.fedify.port}" and fed.display_name == "Fedify Tester"
    accept = await world.fedify.delivered("Accept")
    assert accept["object"]["id"] == follow["id"] and accept["actor"] == me.uri

    # alice follows fed back; Fedify's Accept embeds our Follow with both actors expanded
    [found] = (await api.call(masto.search_v2, world.fed, resolve=True)).accounts
    assert found.id == fed.id
    assert (await api.call(masto.account_follow, fed.id)).requested is True
    ours = await world.fedify.delivered("Follow")
    await world.send(world.load("accept-follow.json", **{OUR_FOLLOW: ours["id"]}))
    [relation] = await api.call(masto.account_relationships, fed.id)
    assert relation.following is True and relation.followed_by is True

    post = await api.call(masto.status_post, "alice's post for Fedify")
    here = {ALICE_POST: post.uri}

    # `to` is the compact "as:Public"; the attachment is one object, not a list
    note = world.load("create-note.json")
    await world.send(note)
    [status] = [s for s in await api.call(masto.timeline_home) if s.uri == note["object"]["id"]]
    assert status.visibility == "public" and status.account.id == fed.id
    assert "hello alice, a sun for you" in status.content
    assert [t.name for t in status.tags] == ["fedifytest"]
    assert [m.acct for m in status.mentions] == ["alice"]
    [image] = status.media_attachments
    assert image.type == "image" and image.description == "A yellow sun on a blue sky"
    assert image.remote_url == note["object"]["attachment"]["url"]
    assert (image.meta.original.width, image.meta.original.height) == (320, 240)
    [mention] = await notifications(api, masto, "mention")
    assert mention.status.id == status.id

    like = world.load("like.json", **here)
    await world.send(like)
    await world.send(like)  # a retry changes nothing
    assert (await api.call(masto.status, post.id)).favourites_count == 1
    [favourite] = await notifications(api, masto, "favourite")
    assert favourite.account.id == fed.id and favourite.status.id == post.id

    await world.send(world.load("announce.json", **here))
    assert (await api.call(masto.status, post.id)).reblogs_count == 1
    [reblog] = await notifications(api, masto, "reblog")
    assert reblog.account.id == fed.id

    reply = world.load("create-reply.json", **here)
    await world.send(reply)
    context = await api.call(masto.status_context, post.id)
    assert [s.uri for s in context.descendants] == [reply["object"]["id"]]
    assert context.descendants[0].in_reply_to_id == post.id

    await world.send(world.load("update-note.json"))
    edited = await api.call(masto.status, status.id)
    assert "edited by Fedify" in edited.content and edited.edited_at is not None

    await world.send(world.load("undo-like.json", **here))
    assert (await api.call(masto.status, post.id)).favourites_count == 0
    await world.send(world.load("undo-announce.json", **here))
    assert (await api.call(masto.status, post.id)).reblogs_count == 0

    await world.send(world.load("delete-reply.json"))
    assert (await api.call(masto.status_context, post.id)).descendants == []
    await world.send(world.load("delete-note.json"))
    assert note["object"]["id"] not in [s.uri for s in await api.call(masto.timeline_home)]

    # a new display name, sent as Update(Person) with the actor embedded
    renamed = world.load("update-person.json")
    renamed["object"]["publicKey"]["publicKeyPem"] = world.public_pem
    await world.send(renamed)
    assert (await api.call(masto.account, fed.id)).display_name == "Fedify Renamed"

    await world.send(world.load("undo-follow.json"))
    assert await api.call(masto.account_followers, me.id) == []


async def notifications(api: Api, masto, kind: str) -> list[Any]:
    return [n for n in await api.call(masto.notifications) if n.type == kind]


def test_every_fedify_vector_names_placeholder_hosts_only():
    """The vectors keep the hosts the tests move: nothing points at a real server."""
    paths = sorted((VECTORS / "fedify").glob("*.json"))
    assert len(paths) == 14
    for path in paths:
        text = path.read_text()
        assert json.loads(text)["id"].startswith(FEDIFY), path.name
        assert "127.0.0.1" not in text, path.name
