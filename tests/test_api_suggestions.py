"""Accounts to follow, through Mastodon.py on a running instance: those most followed by
whom the viewer follows first, then this server's most followed; never whom the viewer
follows, blocks, mutes or dismissed, nor accounts that would rather not be found."""

from __future__ import annotations

from models.tables import Account, SuggestionDismissal
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def test_suggestions_in_order_and_what_is_left_out(api: Api) -> None:  # noqa: F811
    names = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "helen", "ivan",
             "x", "y")
    made: dict[str, Account] = {}
    for name in names:
        made[name] = (await api.user(name))[0]
    _, token = await api.user("viewer")
    viewer = (await api.rows(Account, Account.username == "viewer"))[0]
    follows = [("viewer", "alice"), ("viewer", "bob"), ("alice", "carol"), ("bob", "carol"),
               ("bob", "dave"), ("x", "frank"), ("y", "frank"), ("x", "erin"),
               ("alice", "grace"), ("bob", "grace"), ("alice", "helen"), ("bob", "helen"),
               ("alice", "ivan")]
    for who, whom in follows:
        source = viewer if who == "viewer" else made[who]
        await api.act(actions.follow, source, made[whom])
    async with api.inst.state.writer() as session:
        hidden = await session.get(Account, made["grace"].id)
        hidden.discoverable = False
        session.add(hidden)
        await session.commit()
    client = api.mastodon(token)
    await api.call(client.account_block, made["helen"].id)

    found = await api.call(client.suggestions_v2)
    usernames = [s.account.username for s in found]
    assert usernames[:5] == ["carol", "dave", "ivan", "frank", "erin"]
    assert [s.sources for s in found[:5]] == [["friends_of_friends"]] * 3 + [["most_followed"]] * 2
    assert found[0].source == "past_interactions" and found[3].source == "global"
    for left_out in ("viewer", "alice", "bob", "grace", "helen"):
        assert left_out not in usernames, left_out
    v1 = (await api.http("GET", "/api/v1/suggestions?limit=3", token)).json()
    assert [a["username"] for a in v1] == ["carol", "dave", "ivan"]

    await api.call(client.suggestion_delete, made["carol"].id)
    again = [a.username for a in await api.call(client.suggestions)]  # v2, unpacked
    assert again[:2] == ["dave", "ivan"] and "carol" not in again
    assert len(await api.rows(SuggestionDismissal)) == 1
    assert (await api.http("DELETE", "/api/v1/suggestions/99999", token)).status_code == 404
    assert (await api.http("GET", "/api/v2/suggestions")).status_code == 401
    _, push_only = await api.user("pusher", scopes="push")
    assert (await api.http("GET", "/api/v2/suggestions", push_only)).status_code == 403
