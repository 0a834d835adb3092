"""Hostile activities: each is a no-op here (the database unchanged, every table counted),
or a 4xx at the front door."""

from __future__ import annotations

import pytest

from activitypub.errors import BlockedAddress
from inbox.receive import MAX_DEPTH, parse_activity, read_capped
from models.accounts import create_account
from models.tables import Follow, Status
from tests.inbox_support import (
    actor_doc,
    add,
    apply,
    federation,
    origin_server,
    remote,
    row_counts,
    status_at,
    vector,
)

ANNOUNCER = "http://localhost:{port}/users/admin"  # another host than the origin's 127.0.0.1


@pytest.fixture
async def world(database_url):
    """An instance with alice, who follows `admin` on an announcer host."""
    async with origin_server() as origin, \
            federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        admin = remote(ANNOUNCER.format(port=origin.port))
        await add(ctx, admin)
        await add(ctx, Follow(account_id=alice.id, target_account_id=admin.id, state="accepted"))
        yield ctx, origin, admin, alice


def forged_announce(origin, admin) -> dict:
    """Pleroma's bogus announce, its embedded post moved to our origin server."""
    activity = vector("hostile/bogus-mastodon-announce.json")
    activity["actor"] = admin.uri
    activity["id"] = admin.uri + "/statuses/99542391527669785/activity"
    activity["object"]["id"] = origin.base + "/users/emelie/statuses/101849165031453404"
    activity["object"]["attributedTo"] = origin.base + "/users/emelie"
    return activity


@pytest.mark.parametrize("served", ["missing", "other", "gone"])
async def test_announce_embedding_a_forged_post_stores_nothing(world, served):
    ctx, origin, admin, _ = world
    activity = forged_announce(origin, admin)
    note_id = activity["object"]["id"]
    if served == "other":  # the origin has something else at that address
        origin.answer(note_id.removeprefix(origin.base), 200,
                      {"@context": "https://www.w3.org/ns/activitystreams",
                       "id": origin.base + "/somewhere/else", "type": "Note", "content": "x"})
    elif served == "gone":
        origin.answer(note_id.removeprefix(origin.base), 410)
    before = await row_counts(ctx)
    await apply(ctx, activity)
    assert await row_counts(ctx) == before
    assert note_id.removeprefix(origin.base) in origin.hits  # it was asked, not trusted


async def test_announce_is_fetched_from_the_origin_not_the_embedded_copy(world):
    ctx, origin, admin, _ = world
    activity = forged_announce(origin, admin)
    real = {"@context": "https://www.w3.org/ns/activitystreams", "id": activity["object"]["id"],
            "type": "Note", "attributedTo": activity["object"]["attributedTo"],
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>the real one</p>"}
    origin.serve(real)
    origin.serve(actor_doc(real["attributedTo"]))
    await apply(ctx, activity)
    stored = await status_at(ctx, real["id"])
    assert stored is not None and stored.content == "<p>the real one</p>"
    boost = await status_at(ctx, activity["id"])
    assert boost is not None and boost.reblog_of_id == stored.id


async def test_note_on_another_host_than_its_actor(world):
    ctx, origin, admin, _ = world
    activity = vector("mastodon/create-with-image-attachment.json")
    activity["actor"] = activity["object"]["attributedTo"] = admin.uri
    activity["id"] = admin.uri + "/statuses/1/activity"
    activity["object"]["id"] = origin.base + "/users/admin/statuses/1"  # not admin's host
    before = await row_counts(ctx)
    await apply(ctx, activity)
    assert await row_counts(ctx) == before


async def test_note_attributed_to_someone_else(world):
    ctx, origin, admin, _ = world
    activity = vector("mastodon/create-with-image-attachment.json")
    activity["actor"] = admin.uri
    activity["id"] = admin.uri + "/statuses/1/activity"
    activity["object"]["id"] = admin.uri + "/statuses/1"
    activity["object"]["attributedTo"] = admin.uri.replace("admin", "victim")
    before = await row_counts(ctx)
    await apply(ctx, activity)
    assert await row_counts(ctx) == before


async def test_delete_of_someone_elses_note(world):
    ctx, origin, admin, _ = world
    victim = remote(admin.uri.replace("admin", "victim"))
    await add(ctx, victim)
    note = Status(uri=victim.uri + "/statuses/7", account_id=victim.id, local=False,
                  content="<p>mine</p>")
    await add(ctx, note)
    before = await row_counts(ctx)
    await apply(ctx, {"id": admin.uri + "#delete/7", "type": "Delete", "actor": admin.uri,
                      "object": note.uri})
    assert await row_counts(ctx) == before
    kept = await status_at(ctx, note.uri)
    assert kept.deleted_at is None and kept.content == "<p>mine</p>"


async def test_update_of_someone_elses_note(world):
    ctx, origin, admin, _ = world
    victim = remote(admin.uri.replace("admin", "victim"))
    await add(ctx, victim)
    note = Status(uri=victim.uri + "/statuses/8", account_id=victim.id, local=False,
                  content="<p>mine</p>")
    await add(ctx, note)
    await apply(ctx, {"id": admin.uri + "#update/8", "type": "Update", "actor": admin.uri,
                      "object": {"id": note.uri, "type": "Note", "attributedTo": admin.uri,
                                 "content": "pwned", "updated": "2030-01-01T00:00:00Z"}})
    assert (await status_at(ctx, note.uri)).content == "<p>mine</p>"


async def test_signer_on_another_host_than_the_actor(world):
    ctx, origin, admin, _ = world
    activity = vector("mastodon/create-with-image-attachment.json")
    activity["actor"] = activity["object"]["attributedTo"] = admin.uri
    activity["id"] = admin.uri + "/statuses/2/activity"
    activity["object"]["id"] = admin.uri + "/statuses/2"
    before = await row_counts(ctx)
    assert not await apply(ctx, activity, signer="https://mallory.example/users/m#main-key")
    assert await row_counts(ctx) == before


async def test_actor_update_cannot_take_another_actors_key(world):
    ctx, origin, admin, _ = world
    doc = actor_doc(admin.uri)
    doc["publicKey"] = {"id": "https://victim.example/users/v#main-key", "owner": admin.uri,
                        "publicKeyPem": "EVIL"}
    await apply(ctx, {"id": admin.uri + "#updates/1", "type": "Update", "actor": admin.uri,
                      "object": doc})
    async with ctx.sessions() as session:
        from models.remote import get_remote_actor_by_key
        assert await get_remote_actor_by_key(session, "https://victim.example/users/v#main-key") is None


async def test_loopback_ids_are_not_fetched_without_allow_private(database_url):
    async with origin_server() as origin, \
            federation(database_url, "https://local.example", allow_private=False) as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        admin = remote("https://public.example/users/admin")
        await add(ctx, admin)
        await add(ctx, Follow(account_id=alice.id, target_account_id=admin.id, state="accepted"))
        note = {"@context": "https://www.w3.org/ns/activitystreams",
                "id": origin.base + "/notes/1", "type": "Note",
                "attributedTo": origin.base + "/users/x", "content": "internal"}
        origin.serve(note)
        origin.serve(actor_doc(origin.base + "/users/x"))
        before = await row_counts(ctx)
        await apply(ctx, {"id": admin.uri + "/boosts/1", "type": "Announce", "actor": admin.uri,
                          "object": note["id"]})
        # an actor living on loopback is not fetched either
        await apply(ctx, {"id": origin.base + "/users/x#follows/1", "type": "Follow",
                          "actor": origin.base + "/users/x",
                          "object": "https://local.example/users/alice"})
        assert await row_counts(ctx) == before
        assert origin.hits == []
        with pytest.raises(BlockedAddress):
            await ctx.fetcher.get_object(note["id"])


async def test_oversized_and_deeply_nested_bodies_are_refused():
    async def chunks():
        for _ in range(3):
            yield b"x" * 600_000
    assert await read_capped(chunks(), None, 1_000_000) is None
    deep = b'{"type": "Create", "actor": "https://a.example/u", "object": ' + \
        b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2) + b"}"
    activity, reason = parse_activity(deep)
    assert activity is None and "deeper" in reason


async def test_replayed_signature_is_refused_at_the_front_door():
    """A signature whose Date is hours old is refused, even if it once verified."""
    import json
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from activitypub.httpsig import sign_cavage, verify_request
    from activitypub.keys import PublicKey, generate_rsa_keypair

    pem, public = generate_rsa_keypair()
    key = PublicKey(key_id="https://b.example/users/bob#main-key",
                    owner="https://b.example/users/bob", pem=public)

    async def lookup(key_id: str, refresh: bool = False):
        return key if key_id == key.key_id else None

    body = json.dumps({"type": "Follow", "actor": key.owner}).encode()
    old = format_datetime(datetime.now(UTC) - timedelta(hours=3), usegmt=True)
    headers = sign_cavage("POST", "https://a.example/inbox",
                          {"Content-Type": "application/activity+json", "Date": old}, body,
                          key_id=key.key_id, private_key_pem=pem)
    result = await verify_request("POST", "https://a.example/inbox", list(headers.items()),
                                  body, lookup)
    assert not result.ok and "date" in result.reason.lower(), result.reason
