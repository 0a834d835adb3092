"""Issue 4 audit: bad input on a running instance. Unknown ids are a 404, missing or invalid
tokens a 401, each with Mastodon's `{"error": "..."}` body; refused writes store nothing."""

from __future__ import annotations

from sqlmodel import SQLModel

from models.tables import (
    Block,
    Bookmark,
    Favourite,
    Follow,
    MediaAttachment,
    Mute,
    Notification,
    Status,
)
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

UNKNOWN = "123456789012345"
UNKNOWN_ID_ROUTES = [
    ("GET", "/api/v1/accounts/{x}"),
    ("GET", "/api/v1/accounts/{x}/statuses"),
    ("GET", "/api/v1/accounts/{x}/followers"),
    ("GET", "/api/v1/accounts/{x}/following"),
    ("POST", "/api/v1/accounts/{x}/follow"),
    ("POST", "/api/v1/accounts/{x}/unfollow"),
    ("POST", "/api/v1/accounts/{x}/block"),
    ("POST", "/api/v1/accounts/{x}/unblock"),
    ("POST", "/api/v1/accounts/{x}/mute"),
    ("POST", "/api/v1/accounts/{x}/unmute"),
    ("POST", "/api/v1/follow_requests/{x}/authorize"),
    ("POST", "/api/v1/follow_requests/{x}/reject"),
    ("GET", "/api/v1/statuses/{x}"),
    ("PUT", "/api/v1/statuses/{x}"),
    ("DELETE", "/api/v1/statuses/{x}"),
    ("GET", "/api/v1/statuses/{x}/context"),
    ("GET", "/api/v1/statuses/{x}/history"),
    ("GET", "/api/v1/statuses/{x}/source"),
    ("GET", "/api/v1/statuses/{x}/favourited_by"),
    ("GET", "/api/v1/statuses/{x}/reblogged_by"),
    ("POST", "/api/v1/statuses/{x}/favourite"),
    ("POST", "/api/v1/statuses/{x}/unfavourite"),
    ("POST", "/api/v1/statuses/{x}/reblog"),
    ("POST", "/api/v1/statuses/{x}/unreblog"),
    ("POST", "/api/v1/statuses/{x}/bookmark"),
    ("POST", "/api/v1/statuses/{x}/unbookmark"),
    ("POST", "/api/v1/statuses/{x}/pin"),
    ("POST", "/api/v1/statuses/{x}/unpin"),
    ("GET", "/api/v1/media/{x}"),
    ("PUT", "/api/v1/media/{x}"),
    ("GET", "/api/v1/notifications/{x}"),
    ("POST", "/api/v1/notifications/{x}/dismiss"),
    ("GET", "/api/v1/lists/{x}"),
    ("PUT", "/api/v1/lists/{x}"),
    ("DELETE", "/api/v1/lists/{x}"),
    ("GET", "/api/v1/lists/{x}/accounts"),
    ("POST", "/api/v1/lists/{x}/accounts"),
    ("DELETE", "/api/v1/lists/{x}/accounts"),
    ("GET", "/api/v1/timelines/list/{x}"),
    ("GET", "/api/v1/accounts/{x}/lists"),
]
SIGNED_IN_ROUTES = [
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("PATCH", "/api/v1/accounts/update_credentials"),
    ("GET", "/api/v1/accounts/relationships"),
    ("GET", "/api/v1/timelines/home"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/clear"),
    ("GET", "/api/v1/markers"),
    ("GET", "/api/v1/preferences"),
    ("GET", "/api/v1/bookmarks"),
    ("GET", "/api/v1/favourites"),
    ("GET", "/api/v1/follow_requests"),
    ("POST", "/api/v1/statuses"),
    ("POST", "/api/v2/media"),
    ("POST", "/api/v1/media"),
    ("GET", "/api/v1/lists"),
    ("POST", "/api/v1/lists"),
]
PUBLIC_ROUTES = ["/api/v1/timelines/public", "/api/v1/instance", "/api/v2/instance",
                 "/api/v1/custom_emojis", "/api/v1/accounts/lookup?acct=bob"]
STORED: tuple[type[SQLModel], ...] = (Status, Favourite, Bookmark, Follow, Block, Mute,
                                      MediaAttachment, Notification)


async def counts(api: Api) -> dict[str, int]:
    return {table.__name__: len(await api.rows(table)) for table in STORED}


async def test_unknown_ids_are_404_with_an_error_body(api: Api) -> None:
    await api.user("alice")
    bob, token = await api.user("bob")
    await api.act(actions.post_status, bob, text="something")
    before = await counts(api)
    for method, path in UNKNOWN_ID_ROUTES:
        for bad in (UNKNOWN, "not-a-number"):
            answer = await api.http(method, path.format(x=bad), token,
                                    data={"status": "valid text"})
            assert answer.status_code == 404, (method, path, bad, answer.text)
            body = answer.json()
            assert list(body) == ["error"] and body["error"], (method, path, body)
    assert await counts(api) == before


async def test_editing_an_unknown_or_foreign_status_is_404_before_the_form_is_read(api: Api
                                                                                    ) -> None:
    """Mastodon answers 404 for a status that isn't the caller's, even when the edit itself
    would be invalid (an empty body is a 422 only on one's own post)."""
    bob, _ = await api.user("bob")
    alice, token = await api.user("alice")
    theirs = await api.act(actions.post_status, bob, text="theirs")
    mine = await api.act(actions.post_status, alice, text="mine")
    for target in (UNKNOWN, theirs.id):
        answer = await api.http("PUT", f"/api/v1/statuses/{target}", token, data={})
        assert answer.status_code == 404 and list(answer.json()) == ["error"], answer.text
    answer = await api.http("PUT", f"/api/v1/statuses/{mine.id}", token, data={})
    assert answer.status_code == 422 and answer.json() == {
        "error": "Validation failed: Text can't be blank"}
    assert "mine" in (await api.get(Status, mine.id)).content


async def test_missing_or_invalid_tokens_are_401(api: Api) -> None:
    bob, _ = await api.user("bob")
    await api.act(actions.post_status, bob, text="something")
    before = await counts(api)
    for method, path in SIGNED_IN_ROUTES:
        for token in (None, "not-a-token"):
            answer = await api.http(method, path, token)
            assert answer.status_code == 401, (method, path, token, answer.text)
            assert list(answer.json()) == ["error"], (method, path)
    for path in PUBLIC_ROUTES:
        assert (await api.http("GET", path)).status_code == 200, path
        answer = await api.http("GET", path, "not-a-token")
        assert answer.status_code == 401 and list(answer.json()) == ["error"], path
    assert await counts(api) == before


async def test_someone_elses_status_is_not_theirs_to_change(api: Api) -> None:
    """Editing, deleting or reading the source of another's post is a 404, pinning it a 422
    (Mastodon's own answers); the post is unchanged."""
    bob, _ = await api.user("bob")
    _, mallory = await api.user("mallory")
    status = await api.act(actions.post_status, bob, text="mine")
    for method, path in (("PUT", "/api/v1/statuses/{x}"), ("DELETE", "/api/v1/statuses/{x}"),
                         ("GET", "/api/v1/statuses/{x}/source")):
        answer = await api.http(method, path.format(x=status.id), mallory,
                                data={"status": "hijacked"})
        assert answer.status_code == 404, (method, path, answer.text)
        assert list(answer.json()) == ["error"]
    pinned = await api.http("POST", f"/api/v1/statuses/{status.id}/pin", mallory)
    assert pinned.status_code == 422 and pinned.json() == {
        "error": "Validation failed: Someone else's post cannot be pinned"}
    kept = await api.get(Status, status.id)
    assert kept.deleted_at is None and "mine" in kept.content
