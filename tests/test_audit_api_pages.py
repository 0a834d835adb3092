"""Issue 4 audit: every list endpoint pages as Mastodon's do. Following `rel="next"` from
`limit=2` visits each item once, newest first, and ends with an empty page; `rel="prev"` of
the second page gives the first back; `limit` is capped at the endpoint's maximum."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

FANS = ("bob", "carol", "dave", "erin", "frank")


async def walk(api: Api, path: str, token: str) -> list[list[Any]]:
    """The pages met following `next` links from `path` with limit=2, up to the empty one."""
    pages: list[list[Any]] = []
    url = path + ("&" if "?" in path else "?") + "limit=2"
    for _ in range(20):
        answer = await api.http("GET", url, token)
        assert answer.status_code == 200, (url, answer.text)
        pages.append([item["id"] for item in answer.json()])
        if not pages[-1]:
            return pages
        link = answer.links["next"]["url"]
        assert urlsplit(link).netloc == urlsplit(api.base).netloc
        url = link.removeprefix(api.base)
    raise AssertionError(f"{path}: no end")


async def check_paging(api: Api, path: str, token: str, expected: int) -> None:
    whole = await api.http("GET", path, token)
    assert whole.status_code == 200, whole.text
    everything = [item["id"] for item in whole.json()]
    assert len(everything) == expected, (path, everything)
    pages = await walk(api, path, token)
    assert [i for page in pages for i in page] == everything, path
    assert all(len(page) == 2 for page in pages[:-2]) and pages[-1] == [], (path, pages)
    second = await api.http("GET", path + ("&" if "?" in path else "?") + "limit=2", token)
    after = await api.http("GET", second.links["next"]["url"].removeprefix(api.base), token)
    back = await api.http("GET", after.links["prev"]["url"].removeprefix(api.base), token)
    assert [item["id"] for item in back.json()] == everything[:2], path


async def test_every_list_pages_with_link_headers(api: Api) -> None:
    alice_account, alice = await api.user("alice")
    lola_account, lola = await api.user("lola", locked=True)
    gina_account, gina = await api.user("gina")
    fans = [await api.user(name) for name in FANS]
    mine = []
    for n in range(6):
        posted = await api.http("POST", "/api/v1/statuses", alice, data={"status": f"post {n}"})
        mine.append(posted.json()["id"])
    target = mine[0]
    for account, token in fans:
        for path in (f"/api/v1/accounts/{alice_account.id}/follow",
                     f"/api/v1/accounts/{lola_account.id}/follow",
                     f"/api/v1/statuses/{target}/favourite",
                     f"/api/v1/statuses/{target}/reblog"):
            assert (await api.http("POST", path, token)).status_code == 200, path
        for path in (f"/api/v1/accounts/{account.id}/follow",
                     f"/api/v1/statuses/{mine[1 + FANS.index(account.username)]}/bookmark",
                     f"/api/v1/statuses/{mine[1 + FANS.index(account.username)]}/favourite"):
            assert (await api.http("POST", path, alice)).status_code == 200, path
        for path in (f"/api/v1/accounts/{account.id}/block",
                     f"/api/v1/accounts/{account.id}/mute"):
            assert (await api.http("POST", path, gina)).status_code == 200, path
    bob = fans[0][1]
    for path, token, expected in (
        (f"/api/v1/accounts/{alice_account.id}/statuses", bob, 6),
        (f"/api/v1/accounts/{alice_account.id}/followers", bob, 5),
        (f"/api/v1/accounts/{alice_account.id}/following", bob, 5),
        (f"/api/v1/statuses/{target}/favourited_by", bob, 5),
        (f"/api/v1/statuses/{target}/reblogged_by", bob, 5),
        ("/api/v1/timelines/home", alice, 11),  # her posts and the fans' boosts
        ("/api/v1/timelines/public", bob, 6),
        ("/api/v1/bookmarks", alice, 5),
        ("/api/v1/favourites", alice, 5),
        ("/api/v1/notifications?types[]=follow&types[]=favourite", alice, 10),
        ("/api/v1/blocks", gina, 5),
        ("/api/v1/mutes", gina, 5),
        ("/api/v1/follow_requests", lola, 5),
    ):
        await check_paging(api, path, token, expected)


async def test_limit_is_capped_and_bad_ids_are_harmless(api: Api) -> None:
    _, alice = await api.user("alice")
    for n in range(45):
        await api.http("POST", "/api/v1/statuses", alice, data={"status": f"post {n}"})
    home = await api.http("GET", "/api/v1/timelines/home?limit=1000", alice)
    assert home.status_code == 200 and len(home.json()) == 40
    default = await api.http("GET", "/api/v1/timelines/home", alice)
    assert len(default.json()) == 20
    newest = default.json()[0]["id"]
    since = await api.http("GET", f"/api/v1/timelines/home?since_id={newest}", alice)
    assert since.status_code == 200 and since.json() == [] and "link" not in since.headers
