"""`/api/v2/search` on a real running instance: accounts, statuses and hashtags (all three
keys always there), type, limit and offset, and the requests it refuses. Resolving remote
accounts over WebFinger is tested with two instances in test_api_accounts_remote.py."""

from __future__ import annotations

from outbox import actions
from tests.inbox_support import actor_doc, origin_server
from tests.test_api_accounts_support import Api, api  # noqa: F401


async def _content(api: Api):  # type: ignore[no-untyped-def]
    alice, token = await api.user("alice", display_name="Alice of Wonderland")
    bob, bob_token = await api.user("bob")
    await api.act(actions.post_status, alice, text="Wonderful #catsofwonder today")
    await api.act(actions.post_status, bob, text="wonder if #cats #catsofwonder are liquid")
    await api.act(actions.post_status, bob, text="a private wonder", visibility="private")
    return alice, token, bob, bob_token


async def test_search_finds_accounts_statuses_and_hashtags(api: Api) -> None:  # noqa: F811
    alice, token, bob, bob_token = await _content(api)
    client = api.mastodon(token)
    found = await api.call(client.search_v2, "wonder")
    assert [int(a.id) for a in found.accounts] == [alice.id]  # by display name
    assert [s.account.acct for s in found.statuses] == ["bob", "alice"]  # not the private one
    assert [t.name for t in found.hashtags] == []  # no tag starts with "wonder"
    tags = await api.call(client.search_v2, "#cats", result_type="hashtags")
    assert [t.name for t in tags.hashtags] == ["cats", "catsofwonder"]
    assert tags.accounts == [] and tags.statuses == []
    assert tags.hashtags[0].url == f"{api.base}/tags/cats"
    mine = await api.call(api.mastodon(bob_token).search_v2, "private wonder")
    assert len(mine.statuses) == 1  # one's own private posts are found
    by_name = await api.call(client.search_v2, "bo", result_type="accounts")
    assert [a.acct for a in by_name.accounts] == ["bob"]
    exact = await api.call(client.search_v2, f"@alice@{api.inst.domain}", result_type="accounts")
    assert [a.acct for a in exact.accounts] == ["alice"]
    answer = await api.http("GET", "/api/v2/search", token, params={
        "q": "wonder", "type": "statuses", "limit": 1, "offset": 1})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"accounts", "statuses", "hashtags"} and len(body["statuses"]) == 1
    assert "alice" in body["statuses"][0]["url"]


async def test_search_without_a_token(api: Api) -> None:  # noqa: F811
    await _content(api)
    answer = await api.http("GET", "/api/v2/search", params={"q": "alice"})
    assert answer.status_code == 200
    assert [a["acct"] for a in answer.json()["accounts"]] == ["alice"]
    assert answer.json()["statuses"] == []
    for extra in ({"resolve": "true"}, {"offset": "5"}):
        refused = await api.http("GET", "/api/v2/search", params={"q": "alice", **extra})
        assert refused.status_code == 401 and "error" in refused.json()


async def test_search_refuses_bad_input(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    _, no_search = await api.user("bob", scopes="read:statuses")
    assert (await api.http("GET", "/api/v2/search", token)).status_code == 400
    for bad in ({"type": "people"}, {"limit": "many"}, {"offset": "-1"}):
        answer = await api.http("GET", "/api/v2/search", token, params={"q": "a", **bad})
        assert answer.status_code == 422 and "error" in answer.json(), bad
    assert (await api.http("GET", "/api/v2/search", no_search, params={"q": "a"})).status_code == 403
    assert (await api.http("GET", "/api/v2/search", "bogus", params={"q": "a"})).status_code == 401


async def test_resolve_of_an_unreachable_handle_finds_nothing(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    found = await api.call(api.mastodon(token).search_v2, "@nobody@127.0.0.1:9", resolve=True)
    assert found.accounts == [] and found.statuses == [] and found.hashtags == []


async def test_resolving_an_actor_url_fetches_it_once(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    client = api.mastodon(token)
    async with origin_server() as origin:
        uri = f"{origin.base}/users/carol"
        origin.serve(actor_doc(uri, name="Carol"))
        found = await api.call(client.search_v2, uri, resolve=True)
        assert [a.acct for a in found.accounts] == [f"carol@127.0.0.1:{origin.port}"]
        assert found.statuses == []
        assert origin.hits.count("/users/carol") == 1
        again = await api.call(client.search_v2, uri, resolve=True)  # the stored copy
        assert [a.id for a in again.accounts] == [found.accounts[0].id]
        assert origin.hits.count("/users/carol") == 1
        note = {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{origin.base}/notes/1", "type": "Note", "attributedTo": uri,
                "content": "<p>found by its url</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "published": "2026-11-26T08:00:00Z"}
        origin.serve(note)
        post = await api.call(client.search_v2, note["id"], resolve=True)
        assert [s.uri for s in post.statuses] == [note["id"]] and post.accounts == []
        assert origin.hits.count("/notes/1") == 1
        origin.answer("/users/nobody", 404)
        missing = await api.call(client.search_v2, f"{origin.base}/users/nobody", resolve=True)
        assert missing.accounts == [] and missing.statuses == []
