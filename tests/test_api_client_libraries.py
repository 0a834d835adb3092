"""What masto.js (Elk) and megalodon (Whalebird) call beyond Mastodon.py's usual paths, found
by driving a live server with them: several statuses or accounts by `id[]`, familiar
followers, a hashtag, translation languages, and schedules too soon (and bad polls) refused
rather than dropped. Driven here with Mastodon.py and raw HTTP against a running instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from models.tables import ScheduledStatus, Status
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def test_a_too_soon_schedule_and_bad_polls_are_refused_and_store_nothing(api: Api) -> None:
    _, token = await api.user("alice")
    m = api.mastodon(token)
    soon = datetime.now(UTC) + timedelta(minutes=2)  # Mastodon wants 5 minutes or more
    with pytest.raises(MastodonAPIError, match="must be in the future"):
        await api.call(m.status_post, "later", scheduled_at=soon)
    for body in ({"status": "x", "poll": {"options": ["a"], "expires_in": 600}},
                 {"status": "x", "scheduled_at": "tomorrow"}):
        answer = await api.http("POST", "/api/v1/statuses", token, json=body)
        assert answer.status_code == 422 and isinstance(answer.json()["error"], str), body
    form = {"status": "x", "poll[options][]": ["a", "b"], "poll[expires_in]": "60"}
    assert (await api.http("POST", "/api/v1/statuses", token, data=form)).status_code == 422
    assert await api.rows(Status) == [] and await api.rows(ScheduledStatus) == []

    # what Mastodon also takes: no poll (`null`), and a time already past, which posts now
    plain = await api.http("POST", "/api/v1/statuses", token, json={"status": "a", "poll": None})
    assert plain.status_code == 200 and plain.json()["poll"] is None
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    now = await api.http("POST", "/api/v1/statuses", token, json={"status": "b", "scheduled_at": past})
    assert now.status_code == 200 and now.json()["content"] == "<p>b</p>"
    posted = await api.rows(Status)
    assert len(posted) == 2
    # an edit is checked the same way and leaves the status as it was
    edit = await api.http("PUT", f"/api/v1/statuses/{plain.json()['id']}", token,
                          json={"status": "c", "poll": {"options": ["a", "b"], "expires_in": 6}})
    assert edit.status_code == 422
    assert (await api.get(Status, posted[0].id)).content == posted[0].content


async def test_statuses_by_ids(api: Api) -> None:
    _, alice = await api.user("alice")
    _, carol = await api.user("carol")
    m = api.mastodon(alice)
    first = await api.call(m.status_post, "first")
    hidden = await api.call(m.status_post, "followers only", visibility="private")
    second = await api.call(m.status_post, "second")
    odd = ["nope", "\u00b2", "9" * 19, "9" * 5000, "-1"]  # not ids: left out, never a 500
    ids = [second.id, "12345", first.id, hidden.id, *odd, second.id]

    mine = await api.call(m.statuses, ids)
    assert [s.id for s in mine] == [second.id, first.id, hidden.id]
    assert mine[0].favourited is False  # as the viewer sees them
    theirs = await api.call(api.mastodon(carol).statuses, ids)
    assert [s.id for s in theirs] == [second.id, first.id]
    anonymous = await api.http("GET", "/api/v1/statuses", params={"id[]": [str(first.id)]})
    assert anonymous.status_code == 200 and [s["id"] for s in anonymous.json()] == [str(first.id)]
    assert (await api.http("GET", "/api/v1/statuses", alice)).json() == []
    many = await api.http("GET", "/api/v1/statuses", alice,
                          params={"id[]": [str(i) for i in range(1, 22)]})
    assert many.status_code == 422 and "at most 20" in many.json()["error"]


async def test_accounts_by_ids_and_familiar_followers(api: Api) -> None:
    alice_row, alice = await api.user("alice")
    bob_row, bob = await api.user("bob")
    carol_row, carol = await api.user("carol")
    _, dave = await api.user("dave")
    m = api.mastodon(alice)

    found = await api.call(m.accounts, [bob_row.id, 999999, carol_row.id, bob_row.id])
    assert [str(a.id) for a in found] == [str(bob_row.id), str(carol_row.id)]
    assert [a.acct for a in found] == ["bob", "carol"]
    odd = await api.http("GET", "/api/v1/accounts", alice, params={"id[]": ["x", "9" * 30]})
    assert odd.status_code == 200 and odd.json() == []
    too_many = await api.http("GET", "/api/v1/accounts", alice,
                              params={"id[]": [str(i) for i in range(1, 42)]})
    assert too_many.status_code == 422 and "error" in too_many.json()

    # alice follows bob; bob follows carol: bob is a familiar follower of carol for alice
    await api.call(m.account_follow, bob_row.id)
    await api.call(api.mastodon(bob).account_follow, carol_row.id)
    await api.call(api.mastodon(dave).account_follow, carol_row.id)  # alice doesn't follow dave
    familiar = await api.call(m.account_familiar_followers, [carol_row.id, bob_row.id])
    assert [str(f.id) for f in familiar] == [str(carol_row.id), str(bob_row.id)]
    assert [str(a.id) for a in familiar[0].accounts] == [str(bob_row.id)]
    assert familiar[1].accounts == []
    anonymous = await api.http("GET", "/api/v1/accounts/familiar_followers",
                               params={"id[]": [str(carol_row.id)]})
    assert anonymous.status_code == 401
    assert str(alice_row.id) not in [str(a.id) for f in familiar for a in f.accounts]


async def test_a_hashtag_and_the_lists_kept_none_of(api: Api) -> None:
    bob_row, bob = await api.user("bob")
    _, alice = await api.user("alice")
    await api.call(api.mastodon(alice).status_post, "about #Fediverse")

    for token in (alice, None):
        tag = await api.http("GET", "/api/v1/tags/fediverse", token)
        assert tag.status_code == 200
        body = tag.json()
        assert body["name"] == "Fediverse" and body["id"].isdigit()
        assert (body["history"][0]["uses"], len(body["history"])) == ("1", 7)
        assert body["url"].startswith(api.base) and body["url"].endswith("/tags/fediverse")
        assert body.get("following") is (False if token else None)
    assert (await api.call(api.mastodon(bob).tag, "FEDIVERSE")).name == "Fediverse"
    for missing in ("nothere", "12345", "no-dash"):
        answer = await api.http("GET", f"/api/v1/tags/{missing}", alice)
        assert answer.status_code == 404 and "error" in answer.json()

    m = api.mastodon(alice)
    assert await api.call(m.account_featured_tags, bob_row.id) == []  # none yet
    assert await api.call(m.account_lists, bob_row.id) == []
    assert await api.call(m.featured_tags) == []
    assert await api.call(m.endorsements) == []
    assert await api.call(m.scheduled_statuses) == []
    assert (await api.http("GET", f"/api/v1/accounts/{bob_row.id}/endorsements")).json() == []
    with pytest.raises(MastodonNotFoundError):
        await api.call(m.account_lists, 999999)
    assert (await api.http("GET", "/api/v1/accounts/999999/featured_tags")).status_code == 404
    assert (await api.http("GET", "/api/v1/scheduled_statuses")).status_code == 401
    assert (await api.http("GET", f"/api/v1/accounts/{bob_row.id}/lists")).status_code == 401
    # no translation service: an empty map, as Mastodon answers with translation off
    assert (await api.http("GET", "/api/v1/instance/translation_languages")).json() == {}


async def test_notification_policy_and_requests_and_account_roles(api: Api) -> None:
    """Mastodon 4.3's notification policy (Elk and Phanpy read it on start): nothing is ever
    held back as a request here, so every kind is accepted and nothing is pending."""
    _, token = await api.user("alice")
    nothing = {"pending_requests_count": 0, "pending_notifications_count": 0}
    v2 = await api.http("GET", "/api/v2/notifications/policy", token)
    assert v2.status_code == 200
    assert v2.json() == {"for_not_following": "accept", "for_not_followers": "accept",
                         "for_new_accounts": "accept", "for_private_mentions": "accept",
                         "for_limited_accounts": "accept", "summary": nothing}
    v1 = await api.http("GET", "/api/v1/notifications/policy", token)
    assert v1.status_code == 200 and v1.json()["summary"] == nothing
    assert v1.json()["filter_private_mentions"] is False
    requests = await api.http("GET", "/api/v1/notifications/requests", token)
    assert requests.status_code == 200 and requests.json() == []
    for path in ("/api/v2/notifications/policy", "/api/v1/notifications/requests"):
        assert (await api.http("GET", path, "bogus")).status_code == 401
    me = await api.call(api.mastodon(token).account_verify_credentials)
    assert me["roles"] == []
