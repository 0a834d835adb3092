"""Timeline pages are assembled from cached JSON (boosts too, with the viewer's flags put in
for the boost and the boosted status) out of rows compared as the database driver gives them:
each entry must equal the status as `GET /api/v1/statuses/:id` renders it afresh, for every
viewer, after every change to what it shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.db import session_factory
from models.tables import MediaAttachment, Status
from models.types import utcnow
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

HOME = "/api/v1/timelines/home"


async def _ok(api: Api, method: str, path: str, token: str, **body: Any) -> Any:  # noqa: F811
    answer = await api.http(method, path, token, **({"json": body} if body else {}))
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


async def _home_agrees(api: Api, token: str) -> list[dict[str, Any]]:  # noqa: F811
    """The home page, twice (the second from the cache), each entry as rendered alone."""
    page = await _ok(api, "GET", HOME, token)
    assert await _ok(api, "GET", HOME, token) == page
    for entry in page:
        assert entry == await _ok(api, "GET", f"/api/v1/statuses/{entry['id']}", token)
    return page  # type: ignore[no-any-return]


async def test_cached_boosts_follow_every_change(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    _, dave_token = await api.user("dave")
    for token in (alice_token, dave_token):
        await _ok(api, "POST", f"/api/v1/accounts/{bob.id}/follow", token)
    await _ok(api, "POST", f"/api/v1/accounts/{carol.id}/follow", alice_token)

    original = await _ok(api, "POST", "/api/v1/statuses", carol_token, status="carol #news",
                         sensitive=True, spoiler_text="cw")
    boost = await _ok(api, "POST", f"/api/v1/statuses/{original['id']}/reblog", bob_token)
    own = await _ok(api, "POST", "/api/v1/statuses", bob_token, status="bob's own")

    page = await _home_agrees(api, alice_token)
    assert [s["id"] for s in page] == [own["id"], boost["id"], original["id"]]
    boosted = page[1]["reblog"]
    assert boosted["id"] == original["id"] and boosted["sensitive"] is True
    assert boosted["tags"][0]["name"] == "news" and boosted["favourited"] is False
    assert [s["id"] for s in await _home_agrees(api, dave_token)] == [own["id"], boost["id"]]

    # the viewer's marks on the boosted status, per viewer
    await _ok(api, "POST", f"/api/v1/statuses/{original['id']}/favourite", alice_token)
    await _ok(api, "POST", f"/api/v1/statuses/{original['id']}/bookmark", alice_token)
    page = await _home_agrees(api, alice_token)
    assert page[1]["reblog"]["favourited"] is True and page[1]["reblog"]["bookmarked"] is True
    assert page[1]["favourited"] is False
    assert page[1]["reblog"]["favourites_count"] == 1
    dave_page = await _home_agrees(api, dave_token)
    assert dave_page[1]["reblog"]["favourited"] is False
    assert dave_page[1]["reblog"]["favourites_count"] == 1

    # the boosted status edited, its author and the booster renamed
    await _ok(api, "PUT", f"/api/v1/statuses/{original['id']}", carol_token,
              status="carol, edited")
    await _ok(api, "PATCH", "/api/v1/accounts/update_credentials", carol_token,
              display_name="Carol C")
    await _ok(api, "PATCH", "/api/v1/accounts/update_credentials", bob_token,
              display_name="Bob B")
    page = await _home_agrees(api, dave_token)
    assert "carol, edited" in page[1]["reblog"]["content"]
    assert page[1]["reblog"]["edited_at"] is not None
    assert page[1]["reblog"]["account"]["display_name"] == "Carol C"
    assert page[1]["account"]["display_name"] == "Bob B"

    # dave boosts it too: its `reblogged` (and the count) show at once
    await _ok(api, "POST", f"/api/v1/statuses/{original['id']}/reblog", dave_token)
    page = await _home_agrees(api, dave_token)
    boosted = next(s for s in page if s["id"] == boost["id"])["reblog"]
    assert boosted["reblogged"] is True and boosted["reblogs_count"] == 2

    # the boosted status deleted: the boost goes
    await _ok(api, "DELETE", f"/api/v1/statuses/{original['id']}", carol_token)
    assert boost["id"] not in [s["id"] for s in await _home_agrees(api, alice_token)]


async def test_every_part_of_an_entry_as_rendered_alone(api: Api) -> None:  # noqa: F811
    """Media, mentions, tags, a poll, a reply, a content warning: from the driver's rows (and
    the cache) just as from SQLAlchemy's."""
    alice, alice_token = await api.user("alice")
    carol, carol_token = await api.user("carol")
    await _ok(api, "POST", f"/api/v1/accounts/{carol.id}/follow", alice_token)
    first = await _ok(api, "POST", "/api/v1/statuses", alice_token, status="alice first")
    reply = await _ok(api, "POST", "/api/v1/statuses", carol_token,
                      status="@alice #Tagged reply", in_reply_to_id=first["id"],
                      spoiler_text="careful", language="en")
    polled = await _ok(api, "POST", "/api/v1/statuses", carol_token, status="vote")
    async with session_factory(api.inst.state.engine)() as session:
        row = await session.get(Status, int(polled["id"]))
        assert row is not None
        row.poll = {"options": [{"title": "yes", "votes_count": 0},
                                {"title": "no", "votes_count": 1}], "multiple": False,
                    "expires_at": (utcnow() + timedelta(hours=1)).isoformat()}
        session.add(row)
        session.add(MediaAttachment(account_id=carol.id, status_id=int(reply["id"]),
                                    type="image", state="ready", description="a cat",
                                    remote_url="https://x.example/cat.png", width=4, height=3,
                                    meta={"small": {"width": 2}}, focus_x=0.5, focus_y=-0.5))
        await session.commit()
    page = await _home_agrees(api, alice_token)
    assert [s["id"] for s in page] == [polled["id"], reply["id"], first["id"]]
    entry = page[1]
    assert entry["media_attachments"][0]["meta"]["small"] == {"width": 2}
    assert entry["media_attachments"][0]["meta"]["focus"] == {"x": 0.5, "y": -0.5}
    assert entry["mentions"][0]["id"] == str(alice.id) and entry["tags"][0]["name"] == "Tagged"
    assert entry["in_reply_to_id"] == first["id"] and entry["sensitive"] is True  # a CW
    assert entry["account"]["locked"] is False and entry["created_at"].endswith("Z")
    assert [o["title"] for o in page[0]["poll"]["options"]] == ["yes", "no"]
    assert page[0]["poll"]["expired"] is False and page[0]["poll"]["votes_count"] == 1
