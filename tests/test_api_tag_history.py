"""A hashtag's `history`, as apps show it ("N people in the past days"): uses and distinct
accounts on each of the last seven days, newest first, from public and unlisted statuses
that are not deleted; through Mastodon.py on a running instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.ids import new_id
from models.tables import Status, StatusTag, Tag
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def test_history_counts_the_last_seven_days(api: Api) -> None:  # noqa: F811
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    carol, _ = await api.user("carol")
    for token, text in ((alice_token, "#cats one"), (alice_token, "#cats two"),
                        (bob_token, "#Cats three")):
        await api.call(api.mastodon(token).status_post, text)
    await api.call(api.mastodon(bob_token).status_post, "#cats hidden", visibility="private")
    gone = await api.call(api.mastodon(bob_token).status_post, "#cats gone")
    await api.act(actions.delete_status, await api.get(Status, int(gone.id)))
    [tag] = await api.rows(Tag)
    # carol's, three days ago, and one eight days ago (out of the window)
    async with api.inst.state.writer() as session:
        for days in (3, 8):
            at = datetime.now(UTC) - timedelta(days=days)
            status = Status(id=new_id(at), uri=f"{api.base}/users/carol/statuses/{days}",
                            account_id=carol.id, content="<p>#cats</p>", local=True,
                            created_at=at)
            session.add(status)
            await session.flush()
            session.add(StatusTag(status_id=status.id, tag_id=tag.id))
        await session.commit()

    shown = await api.call(api.mastodon(alice_token).tag, "cats")
    history = shown.history
    assert len(history) == 7
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert [int(d.day.timestamp()) if isinstance(d.day, datetime) else int(d.day)
            for d in history] == [int((midnight - timedelta(days=n)).timestamp())
                                  for n in range(7)]
    raw = (await api.http("GET", "/api/v1/tags/cats", alice_token)).json()["history"]
    assert raw[0] == {"day": str(int(midnight.timestamp())), "uses": "3", "accounts": "2"}
    assert raw[3] == {"day": str(int((midnight - timedelta(days=3)).timestamp())),
                      "uses": "1", "accounts": "1"}
    assert all(d["uses"] == "0" and d["accounts"] == "0"
               for n, d in enumerate(raw) if n not in (0, 3))
    found = (await api.http("GET", "/api/v2/search", alice_token,
                            params={"q": "cats", "type": "hashtags"})).json()
    assert found["hashtags"][0]["history"] == raw
