"""The accounts API on a real running instance, through Mastodon.py and raw HTTP: the
signed-in account, profiles, statuses, follows, and refused requests that store nothing."""

from __future__ import annotations

import io

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError, MastodonUnauthorizedError
from PIL import Image

from models.tables import Account, Follow, MediaAttachment, Pin
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401


def idlist(items: list) -> list[int]:
    """Mastodon.py's ids (strings) as ours."""
    return [int(item.id) for item in items]


ids = idlist


def _png(size: tuple[int, int] = (800, 600), *, exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 60))
    buffer = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCamera"  # Make
        image.save(buffer, "JPEG", exif=data.tobytes())
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


async def test_verify_credentials_has_source(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice", display_name="Alice")
    me = await api.call(api.mastodon(token).account_verify_credentials)
    assert int(me.id) == alice.id and me.username == "alice" and me.acct == "alice"
    assert me.display_name == "Alice" and me.statuses_count == 0
    assert me.source.privacy == "public" and me.source.sensitive is False
    assert me.source.note == "" and me.source.fields == []
    assert me.avatar.startswith("http") and me.header.startswith("http")
    raw = (await api.http("GET", "/api/v1/accounts/verify_credentials", token)).json()
    assert raw["id"] == str(alice.id) and raw["created_at"].endswith("Z")


async def test_update_credentials_with_avatar_and_fields(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    client = api.mastodon(token)
    me = await api.call(
        client.account_update_credentials, display_name="Alice A.", note="Hi <there>\nfriends",
        avatar=_png(exif=True), avatar_mime_type="image/jpeg", locked=True, bot=True,
        fields=[("Web", "https://example.com"), ("Pronouns", "she/her")])
    assert me.display_name == "Alice A." and me.locked is True and me.bot is True
    assert "&lt;there&gt;" in me.note and me.source.note == "Hi <there>\nfriends"
    assert [(f.name, f.value) for f in me.fields] == [
        ("Web", "https://example.com"), ("Pronouns", "she/her")]
    stored = await api.get(Account, alice.id)
    assert stored.avatar_path and stored.avatar_path.endswith(".jpg")
    assert me.avatar == f"{api.base}/media/{stored.avatar_path}"
    served = await api.http("GET", f"/media/{stored.avatar_path}")
    image = Image.open(io.BytesIO(served.content))
    assert image.size == (400, 400) and not image.getexif()  # cropped square, EXIF gone

    raw = await api.http("PATCH", "/api/v1/accounts/update_credentials", token, data={
        "source[privacy]": "unlisted", "source[sensitive]": "true", "source[language]": "de"})
    assert raw.status_code == 200
    assert raw.json()["source"] | {"fields": []} == {
        "privacy": "unlisted", "sensitive": True, "language": "de",
        "note": "Hi <there>\nfriends", "fields": [], "follow_requests_count": 0,
        "discoverable": True, "indexable": False, "hide_collections": False}
    header = await api.http("PATCH", "/api/v1/accounts/update_credentials", token,
                            files={"header": ("h.png", _png((3000, 1000)), "image/png")})
    assert header.status_code == 200
    stored = await api.get(Account, alice.id)
    assert stored.header_path.endswith(".png")
    assert Image.open(stored_file(api, stored.header_path)).size == (1500, 500)


def stored_file(api: Api, path: str) -> str:
    return str(api.inst.settings.media_dir / path)


@pytest.mark.parametrize("data, files", [
    ({"display_name": "x" * 31}, None),
    ({"note": "y" * 501}, None),
    ({"locked": "maybe"}, None),
    ({"source[privacy]": "direct"}, None),
    ({"source[language]": "not a language"}, None),
    ({f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}, None),
    ({"display_name": "Changed"}, {"avatar": ("a.png", b"not an image", "image/png")}),
])
async def test_update_credentials_refuses_bad_input_storing_nothing(
        api: Api, data: dict, files: dict | None) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    answer = await api.http("PATCH", "/api/v1/accounts/update_credentials", token,
                            data=data, files=files)
    assert answer.status_code == 422 and "error" in answer.json()
    stored = await api.get(Account, alice.id)
    assert (stored.display_name, stored.note, stored.locked, stored.avatar_path) == (
        "", "", False, None)
    assert stored.default_privacy == "public" and stored.fields == []
    assert not (api.inst.settings.media_dir / "accounts").exists()


async def test_tokens_and_scopes(api: Api) -> None:  # noqa: F811
    alice, read_only = await api.user("alice", scopes="read")
    bob, _ = await api.user("bob")
    assert (await api.http("GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    assert (await api.http("GET", "/api/v1/accounts/verify_credentials", "bogus")).status_code == 401
    with pytest.raises(MastodonUnauthorizedError):
        await api.call(api.mastodon("bogus").account_verify_credentials)
    for method, path in [("PATCH", "/api/v1/accounts/update_credentials"),
                         ("POST", f"/api/v1/accounts/{bob.id}/follow"),
                         ("POST", f"/api/v1/accounts/{bob.id}/block"),
                         ("POST", f"/api/v1/accounts/{bob.id}/mute")]:
        answer = await api.http(method, path, read_only, data={"display_name": "Nope"})
        assert answer.status_code == 403, path
        assert (await api.http(method, path)).status_code == 401, path
    assert await api.rows(Follow) == [] and (await api.get(Account, alice.id)).display_name == ""
    profile_only = (await api.user("carol", scopes="profile"))[1]
    answer = await api.http("GET", "/api/v1/accounts/verify_credentials", profile_only)
    assert answer.status_code == 200  # `profile` reads the signed-in account, nothing else
    answer = await api.http("GET", f"/api/v1/accounts/{bob.id}/following", profile_only)
    assert answer.status_code == 200  # public
    answer = await api.http("GET", "/api/v1/accounts/search?q=a", profile_only)
    assert answer.status_code == 403


async def test_account_lookup_and_search(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice", display_name="Alice Liddell")
    await api.user("alfred")
    await api.user("bob", display_name="Bob, friend of Alice")
    client = api.mastodon(token)
    assert (await api.call(client.account, alice.id)).acct == "alice"
    assert int((await api.call(client.account_lookup, "alice")).id) == alice.id
    assert int((await api.call(client.account_lookup, f"@alice@{api.inst.domain}")).id) == alice.id
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.account_lookup, "nobody")
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.account, 12345)
    found = await api.call(client.account_search, "al")
    assert [a.acct for a in found] == ["alfred", "alice", "bob"]  # by name; bob by display name
    assert [a.acct for a in await api.call(client.account_search, "alice")][0] == "alice"
    assert [a.acct for a in await api.call(client.account_search, "al", limit=1)] == ["alfred"]
    anonymous = await api.http("GET", f"/api/v1/accounts/{alice.id}")
    assert anonymous.status_code == 200 and anonymous.json()["username"] == "alice"
    for path in ("/api/v1/accounts/nope", "/api/v1/accounts/99999999"):
        answer = await api.http("GET", path, token)
        assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}
    assert (await api.http("GET", "/api/v1/accounts/lookup", token)).status_code == 422
    assert (await api.http("GET", "/api/v1/accounts/search", token)).status_code == 422


async def test_account_statuses_with_filters_and_pages(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    posts = [await api.act(actions.post_status, alice, text=f"post {i} #cats" if i % 2 else
                           f"post {i}") for i in range(5)]
    reply = await api.act(actions.post_status, alice, text="@bob hi", in_reply_to=await api.act(
        actions.post_status, bob, text="bob's"))
    hidden = await api.act(actions.post_status, alice, text="followers only", visibility="private")
    await api.act(actions.reblog, alice, (await api.rows(type(posts[0])))[0])
    async with api.inst.state.sessions() as session:
        session.add(MediaAttachment(account_id=alice.id, status_id=posts[1].id,
                                    file_path="x.png"))
        session.add(Pin(account_id=alice.id, status_id=posts[3].id))
        await session.commit()
    client = api.mastodon(bob_token)
    seen = await api.call(client.account_statuses, alice.id)
    seen_ids = idlist(seen)
    assert hidden.id not in seen_ids and reply.id in seen_ids
    assert len(seen_ids) == 7  # five posts, the reply, the boost
    assert seen_ids == sorted(seen_ids, reverse=True)
    no_replies = await api.call(client.account_statuses, alice.id, exclude_replies=True,
                                exclude_reblogs=True)
    assert idlist(no_replies) == [p.id for p in reversed(posts)]
    assert ids(await api.call(client.account_statuses, alice.id, only_media=True)) == [
        posts[1].id]
    assert ids(await api.call(client.account_statuses, alice.id, pinned=True)) == [
        posts[3].id]
    tagged = await api.call(client.account_statuses, alice.id, tagged="cats")
    assert idlist(tagged) == [posts[3].id, posts[1].id]
    first = await api.call(client.account_statuses, alice.id, limit=3)
    second = await api.call(client.fetch_next, first)
    assert len(first) == 3 and len(second) == 3 and max(idlist(second)) < min(idlist(first))
    own = await api.call(api.mastodon(token).account_statuses, alice.id)
    assert hidden.id in idlist(own)
    answer = await api.http("GET", f"/api/v1/accounts/{alice.id}/statuses?limit=x", token)
    assert answer.status_code == 422


async def test_follow_local_accounts_and_requests(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol", locked=True)
    client = api.mastodon(token)
    rel = await api.call(client.account_follow, bob.id, reblogs=False, notify=True)
    assert int(rel.id) == bob.id and rel.following is True and rel.requested is False
    rel = await api.call(client.account_follow, carol.id)
    assert rel.following is False and rel.requested is True
    [both] = await api.call(client.account_relationships, [carol.id])
    assert both.requested is True
    rels = await api.call(client.account_relationships, [bob.id, carol.id, 999])
    assert [(int(r.id), r.following, r.requested) for r in rels] == [
        (bob.id, True, False), (carol.id, False, True)]
    assert ids(await api.call(client.account_followers, alice.id)) == []
    assert ids(await api.call(client.account_following, alice.id)) == [bob.id]
    assert ids(await api.call(api.mastodon(bob_token).account_followers, bob.id)) == [
        alice.id]

    carols = api.mastodon(carol_token)
    assert ids(await api.call(carols.follow_requests)) == [alice.id]
    assert (await api.call(carols.account_verify_credentials)).source.follow_requests_count == 1
    rel = await api.call(carols.follow_request_authorize, alice.id)
    assert rel.followed_by is True and rel.requested_by is False
    assert await api.call(carols.follow_requests) == []
    with pytest.raises(MastodonNotFoundError):  # nothing pending any more
        await api.call(carols.follow_request_reject, alice.id)
    assert (await api.call(client.account_relationships, [carol.id]))[0].following is True

    rel = await api.call(client.account_unfollow, bob.id)
    assert rel.following is False
    assert await api.rows(Follow, Follow.target_account_id == bob.id) == []


async def test_follow_refusals_store_nothing(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    client = api.mastodon(token)
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.account_follow, 424242)
    with pytest.raises(MastodonNotFoundError):  # oneself: Mastodon answers 404 too
        await api.call(client.account_follow, alice.id)
    await api.call(api.mastodon(bob_token).account_block, alice.id)
    with pytest.raises(MastodonAPIError) as refused:
        await api.call(client.account_follow, bob.id)
    assert refused.value.args[1] == 403
    answer = await api.http("POST", f"/api/v1/accounts/{bob.id}/follow", token,
                            data={"reblogs": "perhaps"})
    assert answer.status_code == 422
    assert await api.rows(Follow) == []
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.follow_request_authorize, bob.id)


async def test_block_mute_and_their_lists(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    carol, _ = await api.user("carol")
    client = api.mastodon(token)
    await api.call(client.account_follow, bob.id)
    rel = await api.call(client.account_block, bob.id)
    assert rel.blocking is True and rel.following is False
    rel = await api.call(client.account_mute, carol.id, notifications=False)
    assert rel.muting is True and rel.muting_notifications is False
    assert ids(await api.call(client.blocks)) == [bob.id]
    assert ids(await api.call(client.mutes)) == [carol.id]
    rel = await api.call(client.account_mute, carol.id, duration=3600)
    assert rel.muting_notifications is True
    assert (await api.call(client.account_unblock, bob.id)).blocking is False
    assert (await api.call(client.account_unmute, carol.id)).muting is False
    assert await api.call(client.blocks) == [] and await api.call(client.mutes) == []
    answer = await api.http("POST", f"/api/v1/accounts/{carol.id}/mute", token,
                            data={"duration": "-5"})
    assert answer.status_code == 422 and await api.call(client.mutes) == []


async def test_update_credentials_from_a_json_body(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    answer = await api.http("PATCH", "/api/v1/accounts/update_credentials", token, json={
        "display_name": "Jay", "discoverable": False, "source": {"privacy": "private"},
        "fields_attributes": [{"name": "a", "value": "b"}, {"name": "", "value": ""}]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["display_name"] == "Jay" and body["discoverable"] is False
    assert body["fields"] == [{"name": "a", "value": "b", "verified_at": None}]
    assert body["source"]["privacy"] == "private"
    stored = await api.get(Account, alice.id)
    assert stored.fields == [{"name": "a", "value": "b"}] and stored.default_privacy == "private"
