"""Issue 3, Receiving: the behaviours no other test proved, on real payloads (GoToSocial,
Pleroma and Lemmy deletes, a GoToSocial report, Mastodon's boost of its own followers-only
post, a `Delete` naming a boost, a `Reject` of our follow, a poll through the client API)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from fediverse.api.entities import poll_entity
from models.accounts import create_account
from models.tables import (
    Account,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    Notification,
    Report,
    Status,
)
from tests.inbox_support import add, apply, federation, remote, row_counts, status_at, vector


async def _local(ctx, name: str) -> Account:
    async with ctx.sessions() as session:
        account = await create_account(session, name)
        await session.commit()
    return account


async def _rows(ctx, table):
    async with ctx.sessions() as session:
        return list(await session.exec(select(table)))


async def _apply_twice(ctx, activity) -> None:
    assert await apply(ctx, activity)
    before = await row_counts(ctx)
    await apply(ctx, activity)
    assert await row_counts(ctx) == before


async def _tombstoned_by(ctx, name: str, actor_uri: str) -> None:
    activity = vector(name)
    author = remote(actor_uri)
    await add(ctx, author)
    uri = activity["object"]
    await add(ctx, Status(uri=uri, account_id=author.id, local=False, content="<p>x</p>"))
    await _apply_twice(ctx, activity)
    status = await status_at(ctx, uri)
    assert status is not None and status.deleted_at is not None and status.content == ""


async def test_gotosocial_delete_without_an_id_tombstones_the_note(database_url):
    async with federation(database_url, "http://somewhere.com") as ctx:
        await _tombstoned_by(ctx, "gotosocial/delete-1.json", "http://example.org/users/admin")


async def test_gotosocial_direct_delete_tombstones_the_note(database_url):
    async with federation(database_url, "http://somewhere.com") as ctx:
        await _tombstoned_by(ctx, "gotosocial/delete-2.json", "http://example.org/users/1happyturtle")


async def test_pleroma_delete_tombstones_the_note(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        await _tombstoned_by(ctx, "pleroma/delete.json", "https://greenish.red/users/vpzom")


async def test_lemmy_delete_of_a_page_tombstones_it(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        await _tombstoned_by(ctx, "lemmy/delete_page.json", "http://ds9.lemmy.ml/u/lemmy_alpha")


async def test_delete_of_a_note_by_another_actor_changes_nothing(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        author, other = remote("http://example.org/users/admin"), remote("http://example.org/users/eve")
        await add(ctx, author, other)
        delete = vector("gotosocial/delete-1.json")
        await add(ctx, Status(uri=delete["object"], account_id=author.id, local=False))
        before = await row_counts(ctx)
        await apply(ctx, delete | {"actor": other.uri})
        assert await row_counts(ctx) == before
        assert (await status_at(ctx, delete["object"])).deleted_at is None


async def test_gotosocial_flag_becomes_a_report(database_url):
    async with federation(database_url, "http://fossbros-anonymous.io") as ctx:
        satan = await _local(ctx, "foss_satan")
        instance = remote("http://example.org/users/example.org")
        post = Status(uri="http://fossbros-anonymous.io/users/foss_satan/statuses/01FVW7JHQFSFK166WWKR8CBA6M",
                      account_id=satan.id, local=True)
        await add(ctx, instance, post)
        await _apply_twice(ctx, vector("gotosocial/flag.json"))
        [report] = await _rows(ctx, Report)
        assert (report.account_id, report.target_account_id) == (instance.id, satan.id)
        assert report.status_ids == [post.id]
        assert report.comment == "dark souls sucks, please yeet this nerd"


async def test_flag_of_nobody_here_is_not_stored(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        await add(ctx, remote("http://example.org/users/example.org"))
        before = await row_counts(ctx)
        await apply(ctx, vector("gotosocial/flag.json"))  # names accounts of another server
        assert await row_counts(ctx) == before


async def test_mastodon_boost_of_its_own_followers_only_post(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        admin = remote("http://mastodon.example.org/users/admin")
        await add(ctx, admin)
        await add(ctx, Follow(account_id=alice.id, target_account_id=admin.id, state="accepted"))
        announce = vector("mastodon/announce-private.json")
        await _apply_twice(ctx, announce)
        boost = await status_at(ctx, announce["id"])
        original = await status_at(ctx, announce["object"]["id"])
        assert original is not None and original.visibility == "private"
        assert "this is a private toot" in original.content
        assert boost.reblog_of_id == original.id and boost.visibility == "private"


async def test_boost_of_someone_elses_followers_only_post_is_refused(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        admin, eve = remote("http://mastodon.example.org/users/admin"), remote("http://mastodon.example.org/users/eve")
        await add(ctx, admin, eve)
        await add(ctx, Follow(account_id=alice.id, target_account_id=eve.id, state="accepted"))
        private = Status(uri="http://mastodon.example.org/@admin/99541947525187368",
                         account_id=admin.id, local=False, visibility="private")
        await add(ctx, private)
        announce = vector("mastodon/announce-private.json")
        announce |= {"actor": eve.uri, "object": private.uri,
                     "id": "http://mastodon.example.org/users/eve/statuses/1/activity"}
        before = await row_counts(ctx)
        await apply(ctx, announce)
        assert await row_counts(ctx) == before


async def test_delete_naming_a_boost_removes_the_boost_only(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        admin = remote("http://mastodon.example.org/users/admin")
        await add(ctx, admin)
        post = Status(uri="https://local.example/users/alice/statuses/1", account_id=alice.id,
                      local=True, visibility="public")
        await add(ctx, post)
        announce = {"id": admin.uri + "/statuses/9/activity", "type": "Announce",
                    "actor": admin.uri, "object": post.uri, "published": "2024-01-01T00:00:00Z",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"]}
        assert await apply(ctx, announce)
        assert (await status_at(ctx, announce["id"])).reblog_of_id == post.id
        await _apply_twice(ctx, {"id": admin.uri + "/statuses/9#delete", "type": "Delete",
                                 "actor": admin.uri, "object": announce["id"]})
        assert await status_at(ctx, announce["id"]) is None
        assert (await status_at(ctx, post.uri)).deleted_at is None
        assert [n for n in await _rows(ctx, Notification) if n.type == "reblog"] == []


@pytest.mark.parametrize("state", ["pending", "accepted"])  # accepted: removed as a follower
async def test_reject_of_our_follow_removes_it(database_url, state):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        admin = remote("http://mastodon.example.org/users/admin")
        await add(ctx, admin)
        uri = "https://local.example/users/alice#follows/7"
        await add(ctx, Follow(account_id=alice.id, target_account_id=admin.id, state=state,
                              uri=uri))
        reject = {"id": admin.uri + "#rejects/follows/7", "type": "Reject", "actor": admin.uri,
                  "object": {"id": uri, "type": "Follow", "actor": "https://local.example/users/alice",
                             "object": admin.uri}}
        await _apply_twice(ctx, reject)
        assert await _rows(ctx, Follow) == []


async def test_poll_reaches_the_client_api(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        rinpatch = remote("https://mastodon.sdf.org/users/rinpatch")
        await add(ctx, rinpatch)
        await add(ctx, Follow(account_id=alice.id, target_account_id=rinpatch.id, state="accepted"))
        question = vector("mastodon/question.json")
        await _apply_twice(ctx, question)
        status = await status_at(ctx, question["object"]["id"])
        poll = poll_entity(status)
        assert poll is not None and poll["expired"] is True and poll["multiple"] is False
        assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [
            ("Dunno", 0), ("Everyone knows that!", 1), ("25 char limit is dumb", 0),
            ("I can't even fit a funny", 1)]
        assert poll["votes_count"] == 2


async def test_lemmy_accept_of_our_follow_of_a_community(database_url):
    async with federation(database_url, "http://ds9.lemmy.ml") as ctx:
        alpha = await _local(ctx, "lemmy_alpha")
        main = remote("http://enterprise.lemmy.ml/c/main", actor_type="Group")
        await add(ctx, main)
        accept = vector("lemmy/accept.json")
        await add(ctx, Follow(account_id=alpha.id, target_account_id=main.id, state="pending",
                              uri=accept["object"]["id"]))
        await _apply_twice(ctx, accept)
        [follow] = await _rows(ctx, Follow)
        assert follow.state == "accepted"


async def test_lemmy_page_with_an_image_and_a_link(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        picard = remote("https://enterprise.lemmy.ml/u/picard")
        await add(ctx, picard)
        await add(ctx, Follow(account_id=alice.id, target_account_id=picard.id, state="accepted"))
        page = vector("lemmy/page_image_and_link.json")
        create = {"id": "https://enterprise.lemmy.ml/activities/create/55999", "type": "Create",
                  "actor": picard.uri, "object": page, "to": page["to"]}
        await _apply_twice(ctx, create)
        status = await status_at(ctx, page["id"])
        assert status is not None and status.visibility == "public"
        assert "Post with image and link" in status.content
        assert "both an image and a link attachment" in status.content
        [media] = await _rows(ctx, MediaAttachment)  # the Link is not media
        assert (media.type, media.mime_type, media.remote_url) == (
            "image", "image/png", "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png")


async def test_delete_of_an_actor_removes_their_boosts_likes_and_notifications(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        alice = await _local(ctx, "alice")
        admin = remote("http://mastodon.example.org/users/admin")
        await add(ctx, admin)
        post = Status(uri="https://local.example/users/alice/statuses/1", account_id=alice.id,
                      local=True)
        await add(ctx, post)
        boost = Status(uri=admin.uri + "/statuses/2/activity", account_id=admin.id, local=False,
                       reblog_of_id=post.id)
        await add(ctx, boost, Favourite(account_id=admin.id, status_id=post.id),
                  Notification(account_id=alice.id, from_account_id=admin.id, type="favourite",
                               status_id=post.id),
                  Mention(status_id=post.id, account_id=admin.id),
                  Follow(account_id=alice.id, target_account_id=admin.id, state="accepted"))
        await _apply_twice(ctx, vector("mastodon/delete-user.json"))
        counts = await row_counts(ctx)
        assert (counts["favourites"], counts["notifications"], counts["mentions"],
                counts["follows"]) == (0, 0, 0, 0)
        assert [s.uri for s in await _rows(ctx, Status)] == [post.uri]  # alice's post stays
        assert [a.id for a in await _rows(ctx, Account)] == [alice.id]
