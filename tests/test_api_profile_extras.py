"""Private notes on accounts, endorsed accounts and featured hashtags, through Mastodon.py
on a running instance, and the featured hashtags as other servers read them (the actor's
`featuredTags` collection)."""

from __future__ import annotations

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from models.tables import AccountNote, AccountPin, FeaturedTag
from tests.test_api_accounts_support import Api, api  # noqa: F401


async def test_a_private_note_on_an_account(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    client = api.mastodon(token)
    relation = await api.call(client.account_note_set, bob.id, "met at the <b>fair</b>")
    assert relation.note == "met at the <b>fair</b>" and int(relation.id) == bob.id
    [again] = await api.call(client.account_relationships, [bob.id])
    assert again.note == "met at the <b>fair</b>"
    # bob sees no note of alice's on him, nor on her
    _, bob_token = await api.user("bob2")
    [theirs] = await api.call(api.mastodon(bob_token).account_relationships, [alice.id])
    assert theirs.note == ""
    await api.call(client.account_note_set, bob.id, "")  # empty: removed
    assert await api.rows(AccountNote) == []
    # too long, unknown account, no token: refused, nothing stored
    answer = await api.http("POST", f"/api/v1/accounts/{bob.id}/note", token,
                            data={"comment": "x" * 2001})
    assert answer.status_code == 422 and "comment" in answer.json()["error"]
    assert (await api.http("POST", "/api/v1/accounts/99999/note", token,
                           data={"comment": "hi"})).status_code == 404
    assert (await api.http("POST", f"/api/v1/accounts/{bob.id}/note",
                           data={"comment": "x" * 2001})).status_code == 401
    _, reader = await api.user("reader", scopes="read")
    assert (await api.http("POST", f"/api/v1/accounts/{bob.id}/note", reader,
                           data={"comment": "hi"})).status_code == 403
    assert await api.rows(AccountNote) == []


async def test_endorsing_followed_accounts(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    carol, _ = await api.user("carol")
    client = api.mastodon(token)
    with pytest.raises(MastodonAPIError) as refused:  # not followed: 422, nothing kept
        await api.call(client.account_pin, bob.id)
    assert refused.value.args[1] == 422 and await api.rows(AccountPin) == []
    for account in (bob, carol):
        await api.call(client.account_follow, account.id)
        relation = await api.call(client.account_pin, account.id)
        assert relation.endorsed is True and relation.following is True
    await api.call(client.account_pin, bob.id)  # twice: still once
    assert [int(a.id) for a in await api.call(client.endorsements)] == [carol.id, bob.id]
    # the profile shows them to anyone, without a token
    listed = (await api.http("GET", f"/api/v1/accounts/{alice.id}/endorsements")).json()
    assert [a["id"] for a in listed] == [str(carol.id), str(bob.id)]
    page = await api.http("GET", "/api/v1/endorsements?limit=1", token)
    assert [a["id"] for a in page.json()] == [str(carol.id)] and 'rel="next"' in page.headers["link"]
    relation = await api.call(client.account_unpin, carol.id)
    assert relation.endorsed is False
    # the newer names do the same
    assert (await api.http("POST", f"/api/v1/accounts/{carol.id}/endorse", token)).json()[
        "endorsed"] is True
    assert (await api.http("POST", f"/api/v1/accounts/{carol.id}/unendorse", token)).json()[
        "endorsed"] is False
    assert [int(a.id) for a in await api.call(client.endorsements)] == [bob.id]
    _, writer = await api.user("writer", scopes="write")
    assert (await api.http("GET", "/api/v1/endorsements", writer)).status_code == 403
    assert (await api.http("GET", "/api/v1/accounts/99999/endorsements")).status_code == 404


async def test_featured_hashtags(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    client = api.mastodon(token)
    for text, visibility in (("#Cats are here", "public"), ("more #cats", "unlisted"),
                             ("#cats only for friends", "private"), ("#dogs too", "public")):
        await api.call(client.status_post, text, visibility=visibility)
    suggested = await api.call(client.featured_tag_suggestions)
    assert [t.name.lower() for t in suggested] == ["cats", "dogs"]  # most used first

    made = await api.call(client.featured_tag_create, "#cats")
    assert made.name == "Cats" and made.statuses_count == "2"  # public and unlisted ones
    assert made.url == f"{api.base}/@alice/tagged/cats"
    raw = (await api.http("GET", "/api/v1/featured_tags", token)).json()
    assert raw[0]["statuses_count"] == "2" and len(raw[0]["last_status_at"]) == 10  # a date
    fresh = await api.call(client.featured_tag_create, "painting")  # nothing carries it yet
    assert fresh.statuses_count == "0" and fresh.last_status_at is None
    assert [t.name for t in await api.call(client.featured_tags)] == ["Cats", "painting"]
    assert [t.name for t in await api.call(client.featured_tag_suggestions)] == ["dogs"]
    listed = (await api.http("GET", f"/api/v1/accounts/{alice.id}/featured_tags")).json()
    assert [t["name"] for t in listed] == ["Cats", "painting"]

    # other servers read them from the actor's featuredTags collection
    async with api.inst.client() as http:
        accept = {"Accept": "application/activity+json"}
        actor = (await http.get("/users/alice", headers=accept)).json()
        collection = (await http.get(actor["featuredTags"], headers=accept)).json()
    assert collection["totalItems"] == 2
    assert collection["items"][0] == {"type": "Hashtag", "href": f"{api.base}/tags/cats",
                                      "name": "#Cats"}

    # refused: taken, invalid, too many; nothing stored
    for name, why in (("CATS", "taken"), ("#", "invalid"), ("12", "invalid")):
        answer = await api.http("POST", "/api/v1/featured_tags", token, data={"name": name})
        assert answer.status_code == 422 and why in answer.json()["error"], name
    for i in range(8):
        await api.call(client.featured_tag_create, f"tag{i}x")
    answer = await api.http("POST", "/api/v1/featured_tags", token, data={"name": "eleventh"})
    assert answer.status_code == 422 and "10" in answer.json()["error"]
    assert len(await api.rows(FeaturedTag)) == 10

    await api.call(client.featured_tag_delete, fresh.id)
    assert "painting" not in [t.name for t in await api.call(client.featured_tags)]
    with pytest.raises(MastodonNotFoundError):  # gone, or another's: 404
        await api.call(client.featured_tag_delete, fresh.id)
    _, bob_token = await api.user("bob")
    with pytest.raises(MastodonNotFoundError):
        await api.call(api.mastodon(bob_token).featured_tag_delete, made.id)
    _, reader = await api.user("reader", scopes="read")
    assert (await api.http("POST", "/api/v1/featured_tags", reader,
                           data={"name": "x"})).status_code == 403


async def test_featuring_a_hashtag_from_its_tag(api: Api) -> None:  # noqa: F811
    """Mastodon 4.4's `tags/:name/feature` and `unfeature`, as masto.js (Elk, Phanpy) call
    them: a Tag with `featuring`, the same featured tags as `/api/v1/featured_tags`."""
    alice, token = await api.user("alice")
    answer = await api.http("POST", "/api/v1/tags/%23Knitting/feature", token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Knitting" and answer.json()["featuring"] is True
    again = await api.http("POST", "/api/v1/tags/knitting/feature", token)
    assert again.status_code == 200 and again.json()["featuring"] is True  # no second row
    listed = (await api.http("GET", f"/api/v1/accounts/{alice.id}/featured_tags")).json()
    assert [t["name"] for t in listed] == ["Knitting"]
    assert len(await api.rows(FeaturedTag)) == 1
    shown = (await api.http("GET", "/api/v1/tags/knitting", token)).json()
    assert shown["featuring"] is True and shown["following"] is False
    assert "featuring" not in (await api.http("GET", "/api/v1/tags/knitting")).json()

    gone = await api.http("POST", "/api/v1/tags/KNITTING/unfeature", token)
    assert gone.status_code == 200 and gone.json()["featuring"] is False
    assert await api.rows(FeaturedTag) == []
    assert (await api.http("POST", "/api/v1/tags/knitting/unfeature", token)).status_code == 200
    for path in ("/api/v1/tags/nosuchtag/unfeature", "/api/v1/tags/12/feature"):
        assert (await api.http("POST", path, token)).status_code == 404, path
    _, reader = await api.user("reader", scopes="read")
    assert (await api.http("POST", "/api/v1/tags/knitting/feature", reader)).status_code == 403
    assert (await api.http("POST", "/api/v1/tags/knitting/feature")).status_code == 401
    assert await api.rows(FeaturedTag) == []
