"""Statuses through the client API: Mastodon.py and raw HTTP against a running instance."""

from __future__ import annotations

from mastodon import MastodonAPIError, MastodonNotFoundError

from models.tables import (
    Bookmark,
    Favourite,
    IdempotencyKey,
    Mention,
    Notification,
    Pin,
    Status,
    StatusEdit,
)
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

# the documented Status keys; the viewer's flags come with a signed-in viewer
STATUS_KEYS = {
    "id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
    "spoiler_text", "media_attachments", "application", "mentions", "tags", "emojis",
    "reblogs_count", "favourites_count", "replies_count", "edited_at", "in_reply_to_id",
    "in_reply_to_account_id", "reblog", "poll", "card", "language", "filtered",
}
VIEWER_KEYS = {"favourited", "reblogged", "muted", "bookmarked", "pinned"}
ACCOUNT_KEYS = {
    "id", "username", "acct", "url", "uri", "display_name", "note", "avatar", "avatar_static",
    "header", "header_static", "locked", "fields", "emojis", "bot", "group", "discoverable",
    "indexable", "created_at", "last_status_at", "statuses_count", "followers_count",
    "following_count",
}


async def test_post_read_edit_delete_with_mastodon_py(api: Api) -> None:
    alice, token = await api.user("alice")
    m = api.mastodon(token)
    posted = await api.call(m.status_post, "Hello #fediverse world", spoiler_text="cw here",
                            visibility="unlisted", language="en")
    assert posted.spoiler_text == "cw here" and posted.sensitive is True
    assert posted.visibility == "unlisted" and posted.language == "en"
    assert [t.name for t in posted.tags] == ["fediverse"]
    raw = (await api.http("GET", f"/api/v1/statuses/{posted.id}", token)).json()
    assert STATUS_KEYS | VIEWER_KEYS <= raw.keys()
    assert ACCOUNT_KEYS <= raw["account"].keys()
    assert raw["created_at"].endswith("Z") and len(raw["created_at"]) == 24
    assert raw["account"]["statuses_count"] == 1 and raw["account"]["acct"] == "alice"
    assert raw["account"]["avatar"].startswith("http")
    anonymous = (await api.http("GET", f"/api/v1/statuses/{posted.id}")).json()
    assert STATUS_KEYS <= anonymous.keys() and "favourited" not in anonymous

    edited = await api.call(m.status_update, posted.id, "Hello again", spoiler_text="")
    assert edited.edited_at is not None and "again" in edited.content
    history = await api.call(m.status_history, posted.id)
    assert ["Hello" in h.content for h in history] == [True, True]
    assert "again" in history[-1].content and "again" not in history[0].content
    source = await api.call(m.status_source, posted.id)
    assert source.text == "Hello again"

    deleted = await api.call(m.status_delete, posted.id)
    assert deleted.text == "Hello again"
    try:
        await api.call(m.status, posted.id)
        raise AssertionError("a deleted status is gone")
    except MastodonNotFoundError:
        pass
    assert len(await api.rows(StatusEdit)) == 1


async def test_replies_context_mentions_and_notifications(api: Api) -> None:
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    a, b = api.mastodon(alice_token), api.mastodon(bob_token)
    root = await api.call(a.status_post, "root post")
    reply = await api.call(b.status_post, "@alice a reply", in_reply_to_id=root.id)
    assert reply.in_reply_to_id == root.id and int(reply.in_reply_to_account_id) == alice.id
    assert [x.acct for x in reply.mentions] == ["alice"]
    deeper = await api.call(a.status_post, "@bob and a reply to it", in_reply_to_id=reply.id)
    context = await api.call(a.status_context, reply.id)
    assert [s.id for s in context.ancestors] == [root.id]
    assert [s.id for s in context.descendants] == [deeper.id]
    context = await api.call(b.status_context, root.id)
    assert [s.id for s in context.descendants] == [reply.id, deeper.id]
    mentions = await api.rows(Notification, Notification.type == "mention")
    assert {(n.account_id, n.status_id) for n in mentions} == {(alice.id, int(reply.id)),
                                                                (bob.id, int(deeper.id))}
    assert (await api.call(a.status, root.id)).replies_count == 1


async def test_favourite_reblog_bookmark_pin(api: Api) -> None:
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    a, b = api.mastodon(alice_token), api.mastodon(bob_token)
    post = await api.call(a.status_post, "like me")
    faved = await api.call(b.status_favourite, post.id)
    assert faved.favourited is True and faved.favourites_count == 1
    assert [int(x.id) for x in await api.call(a.status_favourited_by, post.id)] == [bob.id]
    boost = await api.call(b.status_reblog, post.id)
    assert boost.reblog.id == post.id and boost.reblog.reblogged is True
    assert int(boost.account.id) == bob.id
    assert [int(x.id) for x in await api.call(a.status_reblogged_by, post.id)] == [bob.id]
    again = await api.call(b.status_reblog, post.id)  # boosting twice keeps one boost
    assert again.id == boost.id
    seen = await api.call(a.status, post.id)
    assert (seen.reblogs_count, seen.favourites_count) == (1, 1)
    assert {n.type for n in await api.rows(Notification, Notification.account_id == alice.id)} \
        == {"favourite", "reblog"}
    unboosted = await api.call(b.status_unreblog, post.id)
    assert unboosted.id == post.id and unboosted.reblogged is False
    unfaved = await api.call(b.status_unfavourite, post.id)
    assert unfaved.favourited is False and unfaved.favourites_count == 0
    assert await api.rows(Favourite) == []

    assert (await api.call(b.status_bookmark, post.id)).bookmarked is True
    assert len(await api.rows(Bookmark)) == 1
    assert (await api.call(b.status_unbookmark, post.id)).bookmarked is False
    assert (await api.call(a.status_pin, post.id)).pinned is True
    try:
        await api.call(b.status_pin, post.id)  # someone else's
        raise AssertionError("pinned another's status")
    except MastodonAPIError as exc:
        assert exc.args[1] == 422
    assert (await api.call(a.status_unpin, post.id)).pinned is False
    assert await api.rows(Pin) == []


async def test_visibility_decides_who_reads(api: Api) -> None:
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    await api.act(actions.follow, bob, alice)  # alice is not locked: accepted at once
    a = api.mastodon(alice_token)
    private = await api.call(a.status_post, "followers only", visibility="private")
    direct = await api.call(a.status_post, "@carol psst", visibility="direct")
    path = "/api/v1/statuses/{}"
    assert (await api.http("GET", path.format(private.id), bob_token)).status_code == 200
    assert (await api.http("GET", path.format(private.id), carol_token)).status_code == 404
    assert (await api.http("GET", path.format(private.id))).status_code == 404
    assert (await api.http("GET", path.format(direct.id), carol_token)).status_code == 200
    assert (await api.http("GET", path.format(direct.id), bob_token)).status_code == 404
    # a private status cannot be boosted; an invisible one cannot be favourited
    assert (await api.http("POST", path.format(private.id) + "/reblog", bob_token)).status_code == 403
    assert (await api.http("POST", path.format(private.id) + "/favourite", carol_token)
            ).status_code == 404
    # deleting or editing another's status is a 404
    assert (await api.http("DELETE", path.format(private.id), bob_token)).status_code == 404
    assert (await api.http("PUT", path.format(private.id), bob_token,
                           data={"status": "mine now"})).status_code == 404
    assert await api.rows(Favourite) == [] and len(await api.rows(Status)) == 2


async def test_idempotency_key_posts_once(api: Api) -> None:
    _, token = await api.user("alice")

    async def post(key: str, **body: object) -> dict:  # type: ignore[type-arg]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        async with api.inst.client() as client:
            answer = await client.post("/api/v1/statuses", headers=headers, **body)  # type: ignore[arg-type]
        assert answer.status_code == 200
        return answer.json()  # type: ignore[no-any-return]

    first = await post("abc-123", data={"status": "once"})
    second = await post("abc-123", data={"status": "once"})
    assert first["id"] == second["id"]
    other = await post("other", json={"status": "twice"})
    assert other["id"] != first["id"]
    assert len(await api.rows(Status)) == 2 and len(await api.rows(IdempotencyKey)) == 2


async def test_refused_requests_store_nothing(api: Api) -> None:
    alice, token = await api.user("alice")
    _, read_only = await api.user("reader", scopes="read")
    post = "/api/v1/statuses"
    assert (await api.http("POST", post, data={"status": "x"})).status_code == 401
    assert (await api.http("POST", post, "not-a-token", data={"status": "x"})).status_code == 401
    refused = await api.http("POST", post, read_only, data={"status": "x"})
    assert refused.status_code == 403 and "error" in refused.json()
    bad = [
        {"status": ""},
        {"status": "x" * 501},
        {"status": "x", "visibility": "everyone"},
        {"status": "x", "media_ids[]": ["12345"]},
        {"status": "x", "media_ids[]": ["1", "2", "3", "4", "5"]},
        {"status": "x", "media_ids[]": ["abc"]},
    ]
    for form in bad:
        answer = await api.http("POST", post, token, data=form)
        assert answer.status_code == 422, form
        assert isinstance(answer.json()["error"], str)
    assert (await api.http("POST", post, token, data={"status": "x", "in_reply_to_id": "99"})
            ).status_code == 404
    assert (await api.http("GET", "/api/v1/statuses/12345", token)).status_code == 404
    assert (await api.http("GET", "/api/v1/statuses/nope", token)).status_code == 404
    assert (await api.http("POST", "/api/v1/statuses/12345/favourite", token)).status_code == 404
    assert await api.rows(Status) == [] and await api.rows(Mention) == []
