"""Follow options as Mastodon keeps them: `notify` (a `status` notification for each new
post, local or arriving from another server), `reblogs` (boosts in the home timeline) and
`languages`, shown in the relationship and changed by following again."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlmodel import select

from models.accounts import create_account
from models.tables import Follow, Notification
from outbox import actions
from tests.inbox_support import add as add_rows
from tests.inbox_support import apply, federation, remote
from tests.test_api_accounts_support import Api, api  # noqa: F401


async def _post(api: Api, token: str, text: str, **more: Any) -> dict[str, Any]:  # noqa: F811
    answer = await api.http("POST", "/api/v1/statuses", token, json={"status": text, **more})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _follow(api: Api, token: str, target: int, pairs: list[tuple[str, str]]  # noqa: F811
                  ) -> Any:
    async with api.inst.client() as client:
        return await client.post(f"/api/v1/accounts/{target}/follow", content=urlencode(pairs),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/x-www-form-urlencoded"})


async def test_options_are_kept_shown_and_changed(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    answer = await _follow(api, token, bob.id, [("notify", "true"), ("reblogs", "false"),
                                                ("languages[]", "en"), ("languages[]", "DE")])
    assert answer.status_code == 200, answer.text
    rel = answer.json()
    assert rel["following"] is True and rel["notifying"] is True
    assert rel["showing_reblogs"] is False and rel["languages"] == ["en", "de"]
    [row] = await api.rows(Follow)
    assert (row.notify, row.show_reblogs, row.languages) == (True, False, ["en", "de"])
    listed = (await api.http("GET", f"/api/v1/accounts/relationships?id[]={bob.id}",
                             token)).json()
    assert listed[0]["notifying"] is True and listed[0]["showing_reblogs"] is False

    again = (await api.http("POST", f"/api/v1/accounts/{bob.id}/follow", token,
                            json={"notify": False})).json()
    assert again["notifying"] is False and again["showing_reblogs"] is False  # others kept
    assert again["languages"] == ["en", "de"]
    cleared = (await _follow(api, token, bob.id, [("languages[]", "")])).json()
    assert cleared["languages"] is None

    refused = await _follow(api, token, bob.id, [("languages[]", "english!")])
    assert refused.status_code == 422 and refused.json()["error"]
    bad = await api.http("POST", f"/api/v1/accounts/{bob.id}/follow", token,
                         json={"notify": "maybe"})
    assert bad.status_code == 422
    [row] = await api.rows(Follow)
    assert (row.notify, row.languages) == (False, None)  # nothing changed by refusals
    plain = (await api.http("POST", f"/api/v1/accounts/{alice.id}/follow",
                            (await api.user("carol"))[1])).json()
    assert plain["notifying"] is False and plain["showing_reblogs"] is True


async def test_notify_makes_status_notifications(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    await _follow(api, alice_token, bob.id, [("notify", "true")])
    await _follow(api, carol_token, bob.id, [])
    post = await _post(api, bob_token, "news from bob")
    self_reply = await _post(api, bob_token, "and more", in_reply_to_id=post["id"])
    other = await _post(api, carol_token, "carol speaks")
    await _post(api, bob_token, "@carol hi", in_reply_to_id=other["id"])
    await _post(api, bob_token, "secret", visibility="direct")
    await api.http("POST", f"/api/v1/statuses/{other['id']}/reblog", bob_token)

    notes = (await api.http("GET", "/api/v1/notifications?types[]=status", alice_token)).json()
    assert [n["status"]["id"] for n in notes] == [self_reply["id"], post["id"]]
    assert all(n["type"] == "status" and n["account"]["id"] == str(bob.id) for n in notes)
    assert (await api.http("GET", "/api/v1/notifications", carol_token)).json()[0][
        "type"] != "status"
    assert not [n for n in await api.rows(Notification)
                if n.type == "status" and n.account_id in (carol.id, bob.id)]
    assert alice.id


async def test_reblogs_off_hides_boosts_from_home(api: Api) -> None:  # noqa: F811
    _alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    _dave, dave_token = await api.user("dave")
    _carol, carol_token = await api.user("carol")
    await _follow(api, alice_token, bob.id, [("reblogs", "false")])
    await _follow(api, dave_token, bob.id, [])
    original = await _post(api, carol_token, "worth sharing")
    own = await _post(api, bob_token, "bob's own words")
    boost = (await api.http("POST", f"/api/v1/statuses/{original['id']}/reblog",
                            bob_token)).json()
    alice_home = [s["id"] for s in (await api.http("GET", "/api/v1/timelines/home",
                                                   alice_token)).json()]
    dave_home = [s["id"] for s in (await api.http("GET", "/api/v1/timelines/home",
                                                  dave_token)).json()]
    assert alice_home == [own["id"]]
    assert dave_home == [boost["id"], own["id"]]
    # a full page (read by id, newest first) skips the boost too
    first = (await api.http("GET", "/api/v1/timelines/home?limit=1", alice_token)).json()
    assert [s["id"] for s in first] == [own["id"]]
    await api.http("POST", f"/api/v1/accounts/{bob.id}/follow", alice_token,
                   json={"reblogs": True})
    alice_home = [s["id"] for s in (await api.http("GET", "/api/v1/timelines/home",
                                                   alice_token)).json()]
    assert alice_home == dave_home


async def test_remote_post_notifies_subscribers(database_url: str) -> None:
    async with federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            carol = await create_account(session, "carol")
            await session.commit()
        bob = remote("https://remote.example/users/bob")
        await add_rows(ctx, bob)
        await add_rows(ctx, Follow(account_id=alice.id, target_account_id=bob.id,
                                   state="accepted", notify=True,
                                   uri="https://local.example/users/alice#follows/1"),
                       Follow(account_id=carol.id, target_account_id=bob.id, state="accepted",
                              uri="https://local.example/users/carol#follows/1"))
        note = {"id": bob.uri + "/statuses/1", "type": "Note", "attributedTo": bob.uri,
                "content": "<p>hello</p>", "published": "2026-11-26T10:00:00Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [bob.uri + "/followers"]}
        create = {"id": bob.uri + "/statuses/1/activity", "type": "Create", "actor": bob.uri,
                  "object": note, "to": note["to"], "cc": note["cc"]}
        assert await apply(ctx, create, signer=bob.key_id)
        async with ctx.sessions() as session:
            found = list((await session.exec(select(Notification))).all())
        assert [(n.account_id, n.type, n.from_account_id) for n in found] == [
            (alice.id, "status", bob.id)]


async def test_a_post_waiting_for_its_image_notifies_once_published(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    await _follow(api, token, bob.id, [("notify", "true")])
    status = await api.act(actions.post_status, bob, text="a picture is coming", pending=True)
    assert await api.rows(Notification, Notification.type == "status") == []
    await api.act(actions.publish_pending, status)
    [note] = await api.rows(Notification, Notification.type == "status")
    assert (note.account_id, note.status_id) == (alice.id, status.id)
