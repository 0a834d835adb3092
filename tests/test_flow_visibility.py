"""The visibility rules across three real instances: alice on A posts; bob on B follows her;
carol on C does not, but knows her. What each side stores, and what an unsigned GET answers."""

from __future__ import annotations

import httpx

from activitypub.httpsig import sign_cavage
from models.tables import Account, Mention, Notification, Status
from outbox import actions
from tests.flows_support import Side, following, trio  # noqa: F401

AP = {"Accept": "application/activity+json"}


async def _unsigned(uri: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(uri, headers=AP)).status_code


async def _signed_by(side: Side, account: Account, uri: str) -> int:
    """The status of a GET of `uri` signed with `account`'s key (it lives on `side`)."""
    headers = sign_cavage("GET", uri, dict(AP), None, key_id=side.actor(account.username) + "#main-key",
                          private_key_pem=account.private_key_pem or "")
    async with httpx.AsyncClient() as http:
        return (await http.get(uri, headers=headers)).status_code


async def _stored_visibility(side: Side, uri: str) -> str | None:
    found = await side.status(uri)
    return found.visibility if found else None


async def test_public_unlisted_followers_only_and_direct(trio) -> None:  # noqa: F811
    a, b, c = trio
    alice = await a.account("alice")
    bob, carol = await b.account("bob"), await c.account("carol")
    await following(b, bob, a, alice)
    await c.resolve(a.handle("alice"))
    carol_on_a = await a.resolve(c.handle("carol"))
    bob_on_a = await a.resolve(b.handle("bob"))

    public = await a.act(actions.post_status, alice, text="for all")
    unlisted = await a.act(actions.post_status, alice, text="quietly", visibility="unlisted")
    private = await a.act(actions.post_status, alice, text="friends only", visibility="private")
    direct = await a.act(actions.post_status, alice, text="psst", visibility="direct",
                         mentions=[carol_on_a])
    mentioned = await a.act(actions.post_status, alice, text="friends, and carol",
                            visibility="private", mentions=[carol_on_a])

    for post, expected in ((public, "public"), (unlisted, "unlisted"), (private, "private"),
                           (mentioned, "private")):
        assert await b.eventually(lambda u=post.uri: _stored_visibility(b, u),
                                  what=f"the {expected} post") == expected
    assert await c.eventually(lambda: _stored_visibility(c, direct.uri),
                              what="the direct message") == "direct"
    assert await c.eventually(lambda: _stored_visibility(c, mentioned.uri),
                              what="the private post mentioning carol") == "private"
    await a.settled()
    await b.settled()
    await c.settled()

    # only followers' servers get followers-only posts; only the mentioned get direct ones
    assert await b.status(direct.uri) is None
    assert await c.status(private.uri) is None
    # C keeps nothing public from someone nobody there follows (and nobody sent it)
    assert await c.status(public.uri) is None and await c.status(unlisted.uri) is None

    [dm] = await c.rows(Status, Status.uri == direct.uri)
    [mention] = await c.rows(Mention, Mention.status_id == dm.id)
    assert mention.account_id == carol.id
    notes = await c.rows(Notification, Notification.account_id == carol.id)
    assert sorted(n.type for n in notes) == ["mention", "mention"]
    assert not await b.rows(Notification, Notification.account_id == bob.id,
                            Notification.type == "mention")

    assert await _unsigned(public.uri) == 200
    assert await _unsigned(unlisted.uri) == 200
    assert await _unsigned(private.uri) == 404
    assert await _unsigned(direct.uri) == 404
    assert await _unsigned(mentioned.uri) == 404
    # signed: a follower reads followers-only posts, the mentioned read what names them
    assert bob_on_a.kind == "remote"
    assert await _signed_by(b, bob, private.uri) == 200
    assert await _signed_by(c, carol, private.uri) == 404
    assert await _signed_by(b, bob, direct.uri) == 404
    assert await _signed_by(c, carol, direct.uri) == 200
    assert await _signed_by(c, carol, mentioned.uri) == 200
