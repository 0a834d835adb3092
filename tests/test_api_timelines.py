"""Timelines, bookmarks and favourites through the client API, with pagination."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.db import session_factory
from models.tables import Account, MediaAttachment, Mute, Status
from models.types import utcnow
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def _remote_status(api: Api, text: str) -> Status:
    """A public status of a cached remote actor, stored as the inbox would store it."""
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        remote = Account(kind="remote", username="zed", domain="remote.example",
                         uri="https://remote.example/users/zed", url="https://remote.example/@zed")
        session.add(remote)
        await session.flush()
        status = Status(uri=f"https://remote.example/notes/{text}", account_id=remote.id,
                        local=False, content=f"<p>{text}</p>", visibility="public")
        session.add(status)
        await session.commit()
    return status


async def test_home_timeline_with_pagination(api: Api) -> None:
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    await api.act(actions.follow, alice, bob)
    a, b, c = (api.mastodon(t) for t in (alice_token, bob_token, carol_token))
    mine = await api.call(a.status_post, "my own")
    posts = [await api.call(b.status_post, f"bob {i}") for i in range(5)]
    private = await api.call(b.status_post, "for followers", visibility="private")
    await api.call(c.status_post, "carol is not followed")
    await api.call(c.status_post, "@alice not followed: not at home", visibility="direct")
    dm = await api.call(b.status_post, "@alice direct to you", visibility="direct")
    await api.call(b.status_post, "@carol direct to another", visibility="direct")
    boost = await api.call(b.status_reblog, mine.id)

    home = await api.call(a.timeline_home, limit=4)
    expected = [boost.id, dm.id, private.id, posts[4].id, posts[3].id, posts[2].id,
                posts[1].id, posts[0].id, mine.id]
    assert [s.id for s in home] == expected[:4]
    assert home[0].reblog.id == mine.id
    following = await api.call(a.fetch_next, home)
    assert [s.id for s in following] == expected[4:8]
    last = await api.call(a.fetch_next, following)
    assert [s.id for s in last] == expected[8:]
    newer = await api.call(a.timeline_home, min_id=posts[1].id, limit=2)
    assert [s.id for s in newer] == [posts[3].id, posts[2].id]  # the oldest after min_id
    since = await api.call(a.timeline_home, since_id=posts[3].id, limit=2)
    assert [s.id for s in since] == [boost.id, dm.id]  # the newest after since_id
    answer = await api.http("GET", "/api/v1/timelines/home?limit=2", alice_token)
    assert 'rel="next"' in answer.headers["link"] and 'rel="prev"' in answer.headers["link"]
    assert all({"favourited", "reblogged", "bookmarked", "pinned", "muted"} <= s.keys()
               for s in answer.json())

    await api.call(b.status_delete, posts[4].id)
    assert posts[4].id not in [s.id for s in await api.call(a.timeline_home, limit=40)]
    assert (await api.http("GET", "/api/v1/timelines/home")).status_code == 401
    _, app_token = await api.user("dave", scopes="write")
    assert (await api.http("GET", "/api/v1/timelines/home", app_token)).status_code == 403
    assert (await api.http("GET", "/api/v1/timelines/home?limit=x", alice_token)
            ).status_code == 422


async def test_public_and_tag_timelines(api: Api) -> None:
    alice, token = await api.user("alice")
    m = api.mastodon(token)
    local = await api.call(m.status_post, "local #Cats post")
    await api.call(m.status_post, "quiet #cats", visibility="unlisted")
    remote = await _remote_status(api, "faraway")
    with_media = await api.call(m.status_post, "a picture")
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        session.add(MediaAttachment(account_id=alice.id, status_id=int(with_media.id),
                                    remote_url="https://example.com/a.png", width=4, height=3))
        await session.commit()

    everything = await api.call(m.timeline_public)
    assert [s.id for s in everything] == [with_media.id, str(remote.id), local.id]
    assert [s.id for s in await api.call(m.timeline_public, local=True)] == [with_media.id, local.id]
    assert [s.id for s in await api.call(m.timeline_public, remote=True)] == [str(remote.id)]
    only_media = await api.call(m.timeline_public, only_media=True)
    assert [s.id for s in only_media] == [with_media.id]
    assert only_media[0].media_attachments[0].meta.original.size == "4x3"
    anonymous = await api.http("GET", "/api/v1/timelines/public")
    assert anonymous.status_code == 200 and len(anonymous.json()) == 3
    assert [s.id for s in await api.call(m.timeline_hashtag, "cats")] == [local.id]
    assert (await api.http("GET", "/api/v1/timelines/tag/nothing")).json() == []


async def test_bookmarks_and_favourites_lists(api: Api) -> None:
    _, token = await api.user("alice")
    m = api.mastodon(token)
    posts = [await api.call(m.status_post, f"post {i}") for i in range(3)]
    for post in (posts[0], posts[2], posts[1]):
        await api.call(m.status_bookmark, post.id)
        await api.call(m.status_favourite, post.id)
    bookmarks = await api.call(m.bookmarks, limit=2)
    assert [s.id for s in bookmarks] == [posts[1].id, posts[2].id]  # newest bookmark first
    assert all(s.bookmarked for s in bookmarks)
    assert [s.id for s in await api.call(m.fetch_next, bookmarks)] == [posts[0].id]
    favourites = await api.call(m.favourites)
    assert [s.id for s in favourites] == [posts[1].id, posts[2].id, posts[0].id]
    assert all(s.favourited for s in favourites)
    _, read_statuses = await api.user("bob", scopes="read:statuses")
    assert (await api.http("GET", "/api/v1/bookmarks", read_statuses)).status_code == 403


async def test_muted_followees_leave_home_until_the_mute_ends(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    for followee in (bob, carol):
        await api.act(actions.follow, alice, followee)
    a, b, c = (api.mastodon(t) for t in (token, bob_token, carol_token))
    await api.call(b.status_post, "bob speaks")
    await api.call(c.status_post, "carol speaks")

    async def home() -> list[str]:
        return [s.content for s in await api.call(a.timeline_home)]

    assert await home() == ["<p>carol speaks</p>", "<p>bob speaks</p>"]
    await api.call(a.account_mute, bob.id, duration=3600)
    assert await home() == ["<p>carol speaks</p>"]
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        [mute] = (await session.exec(select(Mute))).all()
        mute.expires_at = utcnow() - timedelta(seconds=1)  # the mute has ended
        session.add(mute)
        await session.commit()
    assert await home() == ["<p>carol speaks</p>", "<p>bob speaks</p>"]
    await api.call(a.account_mute, carol.id)  # no end
    assert await home() == ["<p>bob speaks</p>"]
    await api.call(a.account_unmute, carol.id)
    assert await home() == ["<p>carol speaks</p>", "<p>bob speaks</p>"]
