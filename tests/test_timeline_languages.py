"""A follow's `languages` filter the home timeline as Mastodon's does: a followee's status in
a language not listed is left out; one without a language, the viewer's own and boosts
(whose own row has no language) still show; a follow without languages shows them all."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from models import timelines
from models.db import session_factory
from models.status_queries import Window
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

HOME = "/api/v1/timelines/home"


async def _post(api: Api, token: str, text: str, **more: Any) -> str:  # noqa: F811
    answer = await api.http("POST", "/api/v1/statuses", token, json={"status": text, **more})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def _follow(api: Api, token: str, target: int, languages: list[str]) -> None:  # noqa: F811
    pairs = [("languages[]", code) for code in languages] or [("languages[]", "")]
    async with api.inst.client() as client:
        answer = await client.post(
            f"/api/v1/accounts/{target}/follow", content=urlencode(pairs),
            headers={"Authorization": f"Bearer {token}",
                     "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200, answer.text


async def _home_ids(api: Api, token: str, **window: Any) -> list[str]:  # noqa: F811
    query = urlencode(window)
    answer = await api.http("GET", f"{HOME}?{query}" if query else HOME, token)
    assert answer.status_code == 200, answer.text
    return [s["id"] for s in answer.json()]


async def _paged_ids(api: Api, token: str) -> list[str]:  # noqa: F811
    """The whole timeline a status at a time (pages that fill: read by id, not by author)."""
    found: list[str] = []
    while True:
        page = await _home_ids(api, token, limit=1, **({"max_id": found[-1]} if found else {}))
        if not page:
            return found
        found += page


async def test_follow_languages_filter_the_home_timeline(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    await _follow(api, alice_token, bob.id, ["de", "fr"])
    await _follow(api, alice_token, carol.id, [])

    carol_en = await _post(api, carol_token, "carol in english", language="en")
    bob_en = await _post(api, bob_token, "bob in english", language="en")
    bob_de = await _post(api, bob_token, "bob auf deutsch", language="de")
    bob_none = await _post(api, bob_token, "bob, language unknown")
    boost = await api.http("POST", f"/api/v1/statuses/{carol_en}/reblog", bob_token)
    assert boost.status_code == 200, boost.text
    bob_boost = str(boost.json()["id"])
    bob_fr = await _post(api, bob_token, "bob en français", language="fr")
    alice_en = await _post(api, alice_token, "alice in english", language="en")

    shown = [alice_en, bob_fr, bob_boost, bob_none, bob_de, carol_en]
    assert await _home_ids(api, alice_token) == shown  # bob_en left out
    assert await _paged_ids(api, alice_token) == shown
    assert await _home_ids(api, alice_token, min_id=carol_en, limit=2) == shown[-3:-1]
    async with session_factory(api.inst.state.engine)() as session:  # the ORM query agrees
        plain = await timelines.home(session, alice.id, Window(40))
    assert [str(s.id) for s in plain] == shown
    # bob's own timeline and carol's home are not alice's follow's business
    assert bob_en in await _home_ids(api, bob_token)

    await _follow(api, alice_token, bob.id, ["en"])  # changed: now only english
    assert await _home_ids(api, alice_token) == [alice_en, bob_boost, bob_none, bob_en, carol_en]
    assert await _paged_ids(api, alice_token) == [alice_en, bob_boost, bob_none, bob_en, carol_en]

    await _follow(api, alice_token, bob.id, [])  # cleared: every language again
    every = [alice_en, bob_fr, bob_boost, bob_none, bob_de, bob_en, carol_en]
    assert await _home_ids(api, alice_token) == every
    assert await _paged_ids(api, alice_token) == every
