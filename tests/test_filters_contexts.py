"""Filters v2 in each of their contexts, through the client API (Mastodon.py reads what an
app shows): `thread` marks a status asked for by id (never left out) and filters its context,
`account` an account's statuses, `notifications` the statuses notifications carry, `public`
the tag timeline too; bookmarks and favourites are in no context."""

from __future__ import annotations

from typing import Any

from tests.test_api_accounts_support import Api, api  # noqa: F401

CONTEXTS = ["home", "notifications", "public", "thread", "account"]


async def _post(api: Api, token: str, text: str, **more: Any) -> dict[str, Any]:  # noqa: F811
    answer = await api.http("POST", "/api/v1/statuses", token, json={"status": text, **more})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _filter(api: Api, token: str, title: str, context: list[str],  # noqa: F811
                  action: str = "warn", keyword: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "context": context, "filter_action": action}
    if keyword:
        body["keywords_attributes"] = [{"keyword": keyword}]
    answer = await api.http("POST", "/api/v2/filters", token, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _titles(status: Any) -> list[str]:
    return [result["filter"]["title"] for result in status["filtered"]]


async def test_a_status_asked_for_is_marked_and_never_left_out(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    warned = await _post(api, bob_token, "the finale tonight")
    hidden = await _post(api, bob_token, "a troll speaks")
    homely = await _post(api, bob_token, "tea time")
    named = await _post(api, bob_token, "nothing special")
    mine = await _post(api, token, "my own troll joke")
    await _filter(api, token, "TV", ["thread"], keyword="finale")
    await _filter(api, token, "Trolls", ["thread"], "hide", keyword="troll")
    await _filter(api, token, "Tea", ["home"], "hide", keyword="tea")
    by_id = await _filter(api, token, "Named", ["thread"], "hide")
    added = await api.http("POST", f"/api/v2/filters/{by_id['id']}/statuses", token,
                           data={"status_id": named["id"]})
    assert added.status_code == 200, added.text

    client = api.mastodon(token)
    shown = await api.call(client.status, warned["id"])
    assert _titles(shown) == ["TV"] and shown["filtered"][0]["keyword_matches"] == ["finale"]
    shown = await api.call(client.status, hidden["id"])  # `hide` still answers it, marked
    assert _titles(shown) == ["Trolls"]
    assert shown["filtered"][0]["filter"]["filter_action"] == "hide"
    shown = await api.call(client.status, named["id"])
    assert _titles(shown) == ["Named"] and shown["filtered"][0]["status_matches"] == [named["id"]]
    assert (await api.call(client.status, homely["id"]))["filtered"] == []  # a home filter
    assert (await api.call(client.status, mine["id"]))["filtered"] == []  # never one's own
    anonymous = (await api.http("GET", f"/api/v1/statuses/{hidden['id']}")).json()
    assert anonymous["filtered"] == []
    # what an action answers is the status as the viewer sees it, marks included
    faved = await api.call(client.status_favourite, hidden["id"])
    assert faved["favourited"] is True and _titles(faved) == ["Trolls"]


async def test_a_threads_context_leaves_out_hidden_replies(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    _carol, carol_token = await api.user("carol")
    root = await _post(api, bob_token, "a thread about tea")
    spoiler = await _post(api, bob_token, "the finale!", in_reply_to_id=root["id"])
    rude = await _post(api, carol_token, "you troll", in_reply_to_id=root["id"])
    under = await _post(api, bob_token, "calm down", in_reply_to_id=rude["id"])
    await _filter(api, token, "Tea", ["home", "public"], "hide", keyword="tea")  # not thread
    await _filter(api, token, "TV", ["thread"], keyword="finale")
    await _filter(api, token, "Trolls", ["thread"], "hide", keyword="troll")

    client = api.mastodon(token)
    context = await api.call(client.status_context, root["id"])
    assert [s["id"] for s in context["descendants"]] == [spoiler["id"], under["id"]]
    assert _titles(context["descendants"][0]) == ["TV"]
    assert context["descendants"][1]["filtered"] == []
    context = await api.call(client.status_context, under["id"])
    assert [s["id"] for s in context["ancestors"]] == [root["id"]]  # the troll's reply is out
    assert context["ancestors"][0]["filtered"] == []  # `Tea` is not a thread filter
    others = (await api.http("GET", f"/api/v1/statuses/{under['id']}/context")).json()
    assert [s["id"] for s in others["ancestors"]] == [root["id"], rude["id"]]


async def test_an_accounts_statuses_are_filtered_in_the_account_context(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    _carol, carol_token = await api.user("carol")
    plain = await _post(api, bob_token, "a quiet day")
    rude = await _post(api, bob_token, "you troll")
    named = await _post(api, bob_token, "named by id")
    boosted = await _post(api, carol_token, "the finale was wild")
    boost = (await api.http("POST", f"/api/v1/statuses/{boosted['id']}/reblog",
                            bob_token)).json()
    await _filter(api, token, "TV", ["account"], keyword="finale")
    await _filter(api, token, "Trolls", ["account"], "hide", keyword="troll")
    by_id = await _filter(api, token, "Named", ["account"], "hide")
    await api.http("POST", f"/api/v2/filters/{by_id['id']}/statuses", token,
                   data={"status_id": named["id"]})
    await _filter(api, token, "Quiet", ["home", "thread"], "hide", keyword="quiet")

    shown = await api.call(api.mastodon(token).account_statuses, bob.id)
    assert [s["id"] for s in shown] == [boost["id"], plain["id"]]
    assert _titles(shown[0]) == ["TV"] and _titles(shown[0]["reblog"]) == ["TV"]
    assert shown[1]["filtered"] == []
    everyone = (await api.http("GET", f"/api/v1/accounts/{bob.id}/statuses")).json()
    assert {s["id"] for s in everyone} == {boost["id"], plain["id"], rude["id"], named["id"]}


async def test_notifications_carry_marks_and_lose_hidden_statuses(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    own = await _post(api, token, "my troll joke")
    await api.http("POST", f"/api/v1/accounts/{alice.id}/follow", bob_token)
    faved = await api.http("POST", f"/api/v1/statuses/{own['id']}/favourite", bob_token)
    assert faved.status_code == 200, faved.text
    rude = await _post(api, bob_token, "@alice you troll")
    spoiler = await _post(api, bob_token, "@alice the finale!")
    tea = await _post(api, bob_token, "@alice tea?")
    await _filter(api, token, "Trolls", ["notifications"], "hide", keyword="troll")
    await _filter(api, token, "TV", ["notifications"], keyword="finale")
    await _filter(api, token, "Tea", ["home", "thread", "account", "public"], "hide",
                  keyword="tea")

    client = api.mastodon(token)
    notes = await api.call(client.notifications)
    kinds = [(n["type"], n["status"]["id"] if n.get("status") else None) for n in notes]
    assert kinds == [("mention", tea["id"]), ("mention", spoiler["id"]),
                     ("favourite", own["id"]), ("follow", None)]  # one's own: never filtered
    assert _titles(notes[1]["status"]) == ["TV"] and notes[0]["status"]["filtered"] == []
    assert notes[2]["status"]["filtered"] == []
    mentions = await api.call(client.notifications, types=["mention"])
    assert [n["status"]["id"] for n in mentions] == [tea["id"], spoiler["id"]]

    grouped = (await api.http("GET", "/api/v2/notifications", token)).json()
    assert rude["id"] not in [g["status_id"] for g in grouped["notification_groups"]]
    assert {s["id"] for s in grouped["statuses"]} == {tea["id"], spoiler["id"], own["id"]}
    assert len(grouped["notification_groups"]) == 4
    assert bob.id


async def test_a_hidden_notification_is_not_found_by_id(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    rude = await _post(api, bob_token, "@alice you troll")
    [note] = (await api.http("GET", "/api/v1/notifications", token)).json()
    assert note["status"]["id"] == rude["id"]
    await _filter(api, token, "Trolls", ["notifications"], "hide", keyword="troll")
    gone = await api.http("GET", f"/api/v1/notifications/{note['id']}", token)
    assert gone.status_code == 404 and set(gone.json()) == {"error"}
    assert (await api.http("GET", "/api/v1/notifications", token)).json() == []
    assert alice.id


async def test_the_tag_timeline_is_in_the_public_context(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    plain = await _post(api, bob_token, "#tea is good")
    rude = await _post(api, bob_token, "#tea for trolls")
    spoiler = await _post(api, bob_token, "#tea and the finale")
    await _filter(api, token, "Trolls", ["public"], "hide", keyword="trolls")
    await _filter(api, token, "TV", ["home"], "hide", keyword="finale")  # not public

    tagged = await api.call(api.mastodon(token).timeline_hashtag, "tea")
    assert [s["id"] for s in tagged] == [spoiler["id"], plain["id"]]
    assert all(s["filtered"] == [] for s in tagged)
    anonymous = (await api.http("GET", "/api/v1/timelines/tag/tea")).json()
    assert [s["id"] for s in anonymous] == [spoiler["id"], rude["id"], plain["id"]]


async def test_bookmarks_and_favourites_are_in_no_context(api: Api) -> None:  # noqa: F811
    """As in Mastodon's web app, whose bookmark and favourite columns match no filter
    context: what was saved is shown, whatever the filters."""
    _alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    rude = await _post(api, bob_token, "you troll")
    spoiler = await _post(api, bob_token, "the finale")
    await _filter(api, token, "Trolls", CONTEXTS, "hide", keyword="troll")
    await _filter(api, token, "TV", CONTEXTS, keyword="finale")
    client = api.mastodon(token)
    for status in (rude, spoiler):
        await api.call(client.status_bookmark, status["id"])
        await api.call(client.status_favourite, status["id"])

    for listing in (client.bookmarks, client.favourites):
        saved = await api.call(listing)
        assert [s["id"] for s in saved] == [spoiler["id"], rude["id"]]
        assert all(s["filtered"] == [] for s in saved)
