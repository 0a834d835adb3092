"""Inbox forwarding as Mastodon does it: an LD-signed public reply to a local post, from a
remote actor, goes on to the local author's followers with its original body (whose LD
signature still verifies), never to the replier's own host, and only once. And the other
way: our public status activities carry the LD signature others need to forward them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from activitypub.keys import generate_rsa_keypair
from activitypub.ldsig import sign_ld, verify_ld
from inbox.apply import apply_activity
from inbox.batch import make_inbox_batch_handler
from models.queue import Worker, enqueue
from models.tables import Account, Job, Status
from outbox import activities
from outbox.deliver import Deliverer, publish
from tests.outbox_fixtures import BASE, add_followers, ctx, local, remote_account, trust  # noqa: F401
from tests.sinks import running_sinks
from tests.test_fanout_delivery import drain

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]


async def world(ctx, sinks):  # noqa: F811
    """alice here with a public post and followers on every sink; carol, on the first sink,
    with a key of her own."""
    alice = await local(ctx, "alice")
    trust(sinks, ctx, alice)
    private, public = generate_rsa_keypair()
    async with ctx.sessions() as session:
        followers = [remote_account(sink, f"f{n}") for n, sink in enumerate(sinks)]
        carol = remote_account(sinks[0], "carol")
        carol.public_key_pem, carol.fetched_at = public, datetime.now(UTC)
        session.add_all([*followers, carol])
        await session.flush()
        await add_followers(session, alice, followers)
        post = Status(account_id=alice.id, local=True, visibility="public",
                      content="<p>a picture</p>", uri=f"{BASE}/users/alice/statuses/1")
        session.add(post)
        await session.commit()
    return alice, carol, post, private


def reply(carol: Account, post: Status, private: str | None, *, n: int = 1,
          to: list[str] | None = None, in_reply_to: str | None = None,
          cc: list[str] | None = None) -> dict:
    note = {"id": f"{carol.uri}/statuses/{n}", "type": "Note", "attributedTo": carol.uri,
            "inReplyTo": in_reply_to or post.uri, "content": "<p>lovely</p>",
            "to": to or [PUBLIC], "cc": cc or [carol.uri + "/followers", BASE + "/users/alice"],
            "published": "2026-11-01T10:00:00Z"}
    activity = {"@context": CONTEXT, "id": note["id"] + "/activity", "type": "Create",
                "actor": carol.uri, "to": note["to"], "cc": note["cc"], "object": note}
    if private is None:
        return activity
    return sign_ld(activity, creator=carol.key_id, private_key_pem=private)


async def apply(ctx, activity, carol) -> None:  # noqa: F811
    async with ctx.sessions() as session:
        assert await apply_activity(ctx, session, activity, signer=carol.key_id)
        await session.commit()


async def deliveries(ctx) -> list[Job]:  # noqa: F811
    async with ctx.sessions() as session:
        return list((await session.exec(select(Job).where(Job.queue == "deliver"))).all())


async def test_an_ld_signed_reply_reaches_the_authors_followers_as_sent(ctx) -> None:  # noqa: F811
    async with running_sinks(3) as sinks:
        alice, carol, post, private = await world(ctx, sinks)
        activity = reply(carol, post, private)
        await apply(ctx, activity, carol)
        await apply(ctx, activity, carol)  # delivered twice: forwarded once
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sinks[0].attempts == 0  # carol's own server has it
    for sink in sinks[1:]:
        [body] = sink.bodies()
        assert body == activity
        assert verify_ld(body, carol.public_key_pem).ok
        assert sink.received[0].headers["signature"].startswith(
            f'keyId="{BASE}/users/alice#main-key"')  # we send it; its LD signature vouches


async def test_a_reply_in_a_batch_is_forwarded_too(ctx) -> None:  # noqa: F811
    """The inbox worker's batch path hands such a reply to the path that forwards."""
    async with running_sinks(2) as sinks:
        alice, carol, post, private = await world(ctx, sinks)
        activity = reply(carol, post, private)
        async with ctx.sessions() as session:
            await enqueue(session, "inbox", "activity",
                          {"activity": activity, "recipient": None, "signer": carol.key_id})
            await session.commit()
        worker = Worker(ctx.sessions, {}, ["inbox"],
                        batches={"activity": make_inbox_batch_handler(ctx)})
        while await worker.run_once():
            pass
        [job] = await deliveries(ctx)
        assert job.payload["inbox"] == f"{sinks[1].base}/inbox"
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sinks[1].bodies() == [activity]


async def test_what_is_not_forwarded(ctx) -> None:  # noqa: F811
    async with running_sinks(2) as sinks:
        alice, carol, post, private = await world(ctx, sinks)
        async with ctx.sessions() as session:
            other = Status(account_id=carol.id, local=False, visibility="public",
                           uri=f"{carol.uri}/statuses/99", content="<p>hers</p>")
            session.add(other)
            await session.commit()
        cases = [
            reply(carol, post, None, n=1),  # no LD signature: nobody could trust it
            reply(carol, post, private, n=2, to=[carol.uri + "/followers"]),  # followers-only
            reply(carol, post, private, n=3, in_reply_to=other.uri),  # not a reply to ours
        ]
        for activity in cases:
            await apply(ctx, activity, carol)
        async with ctx.sessions() as session:
            stored = (await session.exec(select(Status).where(Status.account_id == carol.id))).all()
        assert len(stored) == 4  # each applied...
        assert await deliveries(ctx) == []  # ...and none forwarded


def delete_of(n: int, to: list[str]) -> dict:
    uri = f"{BASE}/users/alice/statuses/{n}"
    return activities.delete_note(uri, f"{BASE}/users/alice", to, [f"{BASE}/users/alice/followers"])


async def test_our_public_status_activities_carry_an_ld_signature(ctx) -> None:  # noqa: F811
    """So that the servers that got them can forward them, as Mastodon's do; a like, or a
    direct message, goes without one."""
    async with running_sinks(1) as sinks:
        alice, carol, post, private = await world(ctx, sinks)
        public, direct = delete_of(1, [PUBLIC]), delete_of(2, [carol.uri])
        like = activities.like(f"{BASE}/users/alice#likes/1", f"{BASE}/users/alice",
                               carol.uri + "/statuses/1")
        async with ctx.sessions() as session:
            for activity in (public, direct, like):
                await publish(ctx, session, activity, sender=alice, recipients=[carol])
            await session.commit()
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    bodies = {body["id"]: body for body in sinks[0].bodies()}
    signed = bodies[public["id"]]
    assert signed["signature"]["creator"] == f"{BASE}/users/alice#main-key"
    assert verify_ld(signed, alice.public_key_pem).ok
    assert {k: v for k, v in signed.items() if k != "signature"} == public
    assert bodies[direct["id"]] == direct and bodies[like["id"]] == like


async def test_no_ld_signature_in_authorized_fetch_mode(ctx) -> None:  # noqa: F811
    """As Mastodon: a signed copy could be passed on to those the mode keeps out."""
    ctx.authorized_fetch = True
    async with running_sinks(1) as sinks:
        alice, carol, post, private = await world(ctx, sinks)
        public = delete_of(1, [PUBLIC])
        async with ctx.sessions() as session:
            await publish(ctx, session, public, sender=alice, recipients=[carol])
            await session.commit()
        deliverer = Deliverer(ctx)
        await drain(ctx, deliverer)
        await deliverer.aclose()
    assert sinks[0].bodies() == [public]


async def test_a_reply_to_someone_followed_here_is_kept(ctx) -> None:  # noqa: F811
    """Mastodon's rule, which a forwarded reply needs: kept when it replies to a post of
    someone followed here, though nobody here follows its author; else not kept."""
    async with running_sinks(2) as sinks:
        alice = await local(ctx, "alice")
        async with ctx.sessions() as session:
            dave, erin = remote_account(sinks[0], "dave"), remote_account(sinks[1], "erin")
            carol = remote_account(sinks[1], "carol")
            carol.fetched_at = datetime.now(UTC)
            session.add_all([dave, erin, carol])
            await session.flush()
            await add_followers(session, dave, [alice])  # alice follows dave, not erin
            posts = [Status(account_id=who.id, local=False, visibility="public",
                            uri=f"{who.uri}/statuses/1", content="<p>hi</p>")
                     for who in (dave, erin)]
            session.add_all(posts)
            await session.commit()
        to_dave = reply(carol, posts[0], None, n=1, cc=[dave.uri])  # nobody here addressed
        to_erin = reply(carol, posts[1], None, n=2, cc=[erin.uri])
        await apply(ctx, to_dave, carol)
        await apply(ctx, to_erin, carol)
        async with ctx.sessions() as session:
            kept = (await session.exec(select(Status.uri).where(Status.account_id == carol.id))).all()
        assert kept == [to_dave["object"]["id"]]
