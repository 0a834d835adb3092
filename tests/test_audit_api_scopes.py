"""Issue 4 audit: Mastodon's granular scopes, enforced per endpoint on a running instance.

For each endpoint, a token holding only a neighbouring scope gets a 403 JSON error and stores
nothing; a token holding exactly the scope Mastodon documents for it is let through. The
legacy `follow` scope and the `profile` scope cover what they do in Mastodon.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import SQLModel

from models.db import session_factory
from models.tables import (
    Account,
    Block,
    Bookmark,
    ConversationMark,
    ConversationMute,
    DomainBlock,
    Favourite,
    Follow,
    List,
    Marker,
    MediaAttachment,
    Mute,
    PollVote,
    PushSubscription,
    Report,
    Status,
    TagFollow,
)
from models.tokens import create_token
from outbox import actions
from tests.media_samples import image_bytes
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

# (method, path, the scope Mastodon asks, a neighbouring scope that must not do, request)
# {bob}: another account; {theirs}: bob's status; {mine}: the caller's own status;
# {list}: the caller's list; {poll}: bob's poll
ENDPOINTS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/accounts/verify_credentials", "read:accounts", "read:statuses", {}),
    ("PATCH", "/api/v1/accounts/update_credentials", "write:accounts", "write:statuses",
     {"data": {"display_name": "Changed"}}),
    ("GET", "/api/v1/accounts/search", "read:accounts", "read:statuses",
     {"params": {"q": "bob"}}),
    ("GET", "/api/v1/accounts/relationships", "read:follows", "read:accounts",
     {"params": {"id[]": "{bob}"}}),
    ("GET", "/api/v1/follow_requests", "read:follows", "read:accounts", {}),
    ("GET", "/api/v1/blocks", "read:blocks", "read:mutes", {}),
    ("GET", "/api/v1/mutes", "read:mutes", "read:blocks", {}),
    ("GET", "/api/v1/domain_blocks", "read:blocks", "read:mutes", {}),
    ("POST", "/api/v1/domain_blocks", "write:blocks", "write:mutes",
     {"data": {"domain": "example.com"}}),
    ("DELETE", "/api/v1/domain_blocks", "write:blocks", "write:mutes",
     {"data": {"domain": "example.com"}}),
    ("GET", "/api/v1/followed_tags", "read:follows", "read:accounts", {}),
    ("POST", "/api/v1/tags/cats/follow", "write:follows", "write:accounts", {}),
    ("POST", "/api/v1/tags/cats/unfollow", "write:follows", "write:accounts", {}),
    ("GET", "/api/v1/preferences", "read:accounts", "read:statuses", {}),
    ("POST", "/api/v1/accounts/{bob}/note", "write:accounts", "write:follows",
     {"data": {"comment": "met at the fair"}}),
    ("POST", "/api/v1/accounts/{bob}/unpin", "write:accounts", "write:follows", {}),
    ("GET", "/api/v1/endorsements", "read:accounts", "read:follows", {}),
    ("GET", "/api/v1/featured_tags", "read:accounts", "read:statuses", {}),
    ("POST", "/api/v1/featured_tags", "write:accounts", "write:statuses",
     {"data": {"name": "scoped"}}),
    ("GET", "/api/v1/featured_tags/suggestions", "read:accounts", "read:statuses", {}),
    ("POST", "/api/v1/tags/cats/feature", "write:accounts", "write:statuses", {}),
    ("GET", "/api/v1/scheduled_statuses", "read:statuses", "read:accounts", {}),
    ("POST", "/api/v1/statuses", "write:statuses", "write:accounts",
     {"data": {"status": "later", "scheduled_at": "2099-01-01T12:00:00Z"}}),
    ("GET", "/api/v1/timelines/home", "read:statuses", "read:accounts", {}),
    ("GET", "/api/v1/bookmarks", "read:bookmarks", "read:favourites", {}),
    ("GET", "/api/v1/favourites", "read:favourites", "read:bookmarks", {}),
    ("GET", "/api/v1/notifications", "read:notifications", "read:statuses", {}),
    ("GET", "/api/v2/notifications", "read:notifications", "read:statuses", {}),
    ("GET", "/api/v1/markers", "read:statuses", "read:notifications",
     {"params": {"timeline[]": "home"}}),
    ("GET", "/api/v2/search", "read:search", "read:accounts", {"params": {"q": "bob"}}),
    ("GET", "/api/v1/lists", "read:lists", "read:follows", {}),
    ("POST", "/api/v1/lists", "write:lists", "read:lists", {"data": {"title": "Friends"}}),
    ("GET", "/api/v1/lists/{list}", "read:lists", "read:follows", {}),
    ("PUT", "/api/v1/lists/{list}", "write:lists", "write:follows", {"data": {"title": "Pals"}}),
    ("GET", "/api/v1/lists/{list}/accounts", "read:lists", "read:accounts", {}),
    ("DELETE", "/api/v1/lists/{list}/accounts", "write:lists", "write:follows",
     {"params": {"account_ids[]": "{bob}"}}),
    ("GET", "/api/v1/accounts/{bob}/lists", "read:lists", "read:follows", {}),
    ("GET", "/api/v1/timelines/list/{list}", "read:lists", "read:statuses", {}),
    ("GET", "/api/v2/filters", "read:filters", "read:lists", {}),
    ("GET", "/api/v1/filters", "read:filters", "read:lists", {}),
    ("GET", "/api/v1/statuses/{mine}/source", "read:statuses", "read:accounts", {}),
    ("POST", "/api/v1/markers", "write:statuses", "write:notifications",
     {"data": {"home[last_read_id]": "{theirs}"}}),
    ("POST", "/api/v1/statuses", "write:statuses", "write:media",
     {"data": {"status": "hello"}}),
    ("POST", "/api/v2/media", "write:media", "write:statuses",
     {"files": {"file": ("a.png", image_bytes("PNG"), "image/png")}}),
    ("POST", "/api/v1/statuses/{theirs}/favourite", "write:favourites", "write:bookmarks", {}),
    ("POST", "/api/v1/statuses/{theirs}/bookmark", "write:bookmarks", "write:favourites", {}),
    ("POST", "/api/v1/statuses/{theirs}/reblog", "write:statuses", "write:favourites", {}),
    ("GET", "/api/v1/polls/{poll}", "read:statuses", "read:accounts", {}),
    ("POST", "/api/v1/polls/{poll}/votes", "write:statuses", "write:favourites",
     {"data": {"choices[]": ["0"]}}),
    ("POST", "/api/v1/statuses/{mine}/pin", "write:accounts", "write:statuses", {}),
    ("POST", "/api/v1/statuses/{theirs}/mute", "write:mutes", "write:blocks", {}),
    ("POST", "/api/v1/notifications/clear", "write:notifications", "write:statuses", {}),
    ("POST", "/api/v1/reports", "write:reports", "write:statuses",
     {"data": {"account_id": "{bob}", "status_ids[]": "{theirs}", "comment": "spam"}}),
    # before the mute and block below: bob's direct message is hidden from then on
    ("GET", "/api/v1/conversations", "read:statuses", "read:accounts", {}),
    ("POST", "/api/v1/conversations/{dm}/read", "write:conversations", "write:statuses", {}),
    ("DELETE", "/api/v1/conversations/{dm}", "write:conversations", "write:statuses", {}),
    ("POST", "/api/v1/accounts/{bob}/follow", "write:follows", "write:accounts", {}),
    ("POST", "/api/v1/accounts/{bob}/mute", "write:mutes", "write:blocks", {}),
    ("POST", "/api/v1/accounts/{bob}/block", "write:blocks", "write:mutes", {}),
    ("POST", "/api/v1/push/subscription", "push", "read:notifications", {"data": {
        "subscription[endpoint]": "https://push.example/alice",
        "subscription[keys][p256dh]": "BMKqKh9nWAEYv8aam3v_d7BkR-ssxASon-rgg3okzMFvr8lACqaoPq6W"
                                      "g2rHjjcW_SSnQ6xqtziHinB7IabofjI",
        "subscription[keys][auth]": "c2l4dGVlbiBieXRlcyBvaw", "data[alerts][mention]": "true"}}),
]

STORED: tuple[type[SQLModel], ...] = (Status, Favourite, Bookmark, Follow, Block, Mute, Marker,
                                      MediaAttachment, ConversationMark, ConversationMute, List,
                                      DomainBlock, TagFollow, PushSubscription, PollVote,
                                      Report)


async def token_of(api: Api, account: Account, scopes: str) -> str:
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        token = await create_token(session, await session.get(Account, account.id), scopes)
        await session.commit()
    return token


def filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, found in ids.items():
            value = value.replace("{" + name + "}", found)
        return value
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    return value


async def counts(api: Api) -> dict[str, int]:
    return {table.__name__: len(await api.rows(table)) for table in STORED}


async def test_each_endpoint_asks_its_granular_scope(api: Api) -> None:
    alice, _ = await api.user("alice")
    bob, _ = await api.user("bob")
    theirs = await api.act(actions.post_status, bob, text="bob's post")
    mine = await api.act(actions.post_status, alice, text="alice's post")
    dm = await api.act(actions.post_status, bob, text="psst", visibility="direct",
                       mentions=[alice])
    ids = {"bob": str(bob.id), "theirs": str(theirs.id), "mine": str(mine.id), "dm": str(dm.id)}
    polled = await api.http("POST", "/api/v1/statuses", await token_of(api, bob, "write:statuses"),
                            data={"status": "a or b?", "poll[options][]": ["a", "b"],
                                  "poll[expires_in]": "600"})
    ids["poll"] = polled.json()["id"]
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        listed = List(account_id=alice.id, title="Mine")
        session.add(listed)
        await session.commit()
        ids["list"] = str(listed.id)
    before = await counts(api)
    for method, path, _, wrong, request in ENDPOINTS:
        token = await token_of(api, alice, wrong)
        answer = await api.http(method, filled(path, ids), token, **filled(request, ids))
        assert answer.status_code == 403, (method, path, wrong, answer.text)
        assert answer.json() == {"error": "This action is outside the authorized scopes"}
    assert await counts(api) == before, "a refused request stored something"
    for method, path, scope, _, request in ENDPOINTS:
        token = await token_of(api, alice, scope)
        answer = await api.http(method, filled(path, ids), token, **filled(request, ids))
        assert answer.status_code in (200, 202), (method, path, scope, answer.text)


async def test_top_level_follow_and_profile_scopes(api: Api) -> None:
    alice, _ = await api.user("alice")
    bob, _ = await api.user("bob")
    follow = await token_of(api, alice, "follow")
    for path in (f"/api/v1/accounts/{bob.id}/follow", f"/api/v1/accounts/{bob.id}/mute"):
        assert (await api.http("POST", path, follow)).status_code == 200, path
    for path in ("/api/v1/blocks", "/api/v1/mutes", "/api/v1/follow_requests"):
        assert (await api.http("GET", path, follow)).status_code == 200, path
    assert (await api.http("GET", "/api/v1/timelines/home", follow)).status_code == 403
    profile = await token_of(api, alice, "profile")
    me = await api.http("GET", "/api/v1/accounts/verify_credentials", profile)
    assert me.status_code == 200 and me.json()["username"] == "alice"
    for path in ("/api/v1/preferences", "/api/v1/notifications", "/api/v1/timelines/home"):
        assert (await api.http("GET", path, profile)).status_code == 403, path
    read = await token_of(api, alice, "read")
    assert (await api.http("POST", "/api/v1/statuses", read,
                           data={"status": "no"})).status_code == 403
    assert len(await api.rows(Status)) == 0
