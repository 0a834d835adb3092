"""Filters v2 (and v1) on a running instance: stored, changed, scoped to their owner, and
applied to the timelines (`warn` marks a status with `filtered`, `hide` drops it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from fediverse.api.filtering import forget_filters
from models.tables import Filter, FilterKeyword
from outbox import actions
from tests.stream_support import Collector
from tests.test_api_accounts_support import Api, api  # noqa: F401
from tests.test_api_streaming import _opened, quick_heartbeats  # noqa: F401


async def _form(api: Api, path: str, token: str, pairs: list[tuple[str, str]]  # noqa: F811
                ) -> httpx.Response:
    """POST a form with repeated names, as Mastodon apps send `name[]`."""
    async with api.inst.client() as client:
        return await client.post(path, content=urlencode(pairs), headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-www-form-urlencoded"})


async def _post(api: Api, token: str, text: str, **more: Any) -> dict[str, Any]:  # noqa: F811
    answer = await api.http("POST", "/api/v1/statuses", token, json={"status": text, **more})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_filter_crud_with_keywords_attributes(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    made = await _form(api, "/api/v2/filters", token, [
        ("title", "Spoilers"), ("context[]", "home"), ("context[]", "public"),
        ("filter_action", "hide"), ("expires_in", "3600"),
        ("keywords_attributes[][keyword]", "finale"),
        ("keywords_attributes[][whole_word]", "false"),
        ("keywords_attributes[][keyword]", "#show")])
    assert made.status_code == 200, made.text
    entity = made.json()
    assert entity["title"] == "Spoilers" and entity["context"] == ["home", "public"]
    assert entity["filter_action"] == "hide" and entity["expires_at"].endswith("Z")
    assert [(k["keyword"], k["whole_word"]) for k in entity["keywords"]] == [
        ("finale", False), ("#show", True)]
    assert entity["statuses"] == []
    fid = entity["id"]
    listed = (await api.http("GET", "/api/v2/filters", token)).json()
    assert [f["id"] for f in listed] == [fid]
    assert (await api.http("GET", f"/api/v2/filters/{fid}", token)).json() == entity

    finale = entity["keywords"][0]["id"]
    changed = await api.http("PUT", f"/api/v2/filters/{fid}", token, json={
        "title": "TV", "filter_action": "warn", "expires_in": "",
        "keywords_attributes": [{"id": finale, "_destroy": True},
                                {"keyword": "cliffhanger", "whole_word": True}]})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["title"] == "TV" and after["filter_action"] == "warn"
    assert after["expires_at"] is None and after["context"] == ["home", "public"]
    assert [k["keyword"] for k in after["keywords"]] == ["#show", "cliffhanger"]

    deleted = await api.http("DELETE", f"/api/v2/filters/{fid}", token)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await api.http("GET", f"/api/v2/filters/{fid}", token)).status_code == 404
    assert await api.rows(FilterKeyword) == []


async def test_keywords_and_statuses_endpoints(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    post = await _post(api, bob_token, "hello")
    fid = (await api.http("POST", "/api/v2/filters", token, json={
        "title": "x", "context": ["thread"]})).json()["id"]
    keyword = (await api.http("POST", f"/api/v2/filters/{fid}/keywords", token,
                              data={"keyword": "tea", "whole_word": "false"})).json()
    assert keyword["keyword"] == "tea" and keyword["whole_word"] is False
    assert (await api.http("GET", f"/api/v2/filters/{fid}/keywords", token)).json() == [keyword]
    kid = keyword["id"]
    updated = (await api.http("PUT", f"/api/v2/filters/keywords/{kid}", token,
                              data={"keyword": "coffee"})).json()
    assert updated == {"id": kid, "keyword": "coffee", "whole_word": False}
    assert (await api.http("GET", f"/api/v2/filters/keywords/{kid}", token)).json() == updated
    assert (await api.http("DELETE", f"/api/v2/filters/keywords/{kid}", token)).json() == {}
    assert (await api.http("GET", f"/api/v2/filters/keywords/{kid}", token)).status_code == 404

    item = await api.http("POST", f"/api/v2/filters/{fid}/statuses", token,
                          data={"status_id": post["id"]})
    assert item.status_code == 200 and item.json()["status_id"] == post["id"]
    again = await api.http("POST", f"/api/v2/filters/{fid}/statuses", token,
                           data={"status_id": post["id"]})
    assert again.status_code == 422
    sid = item.json()["id"]
    assert (await api.http("GET", f"/api/v2/filters/{fid}/statuses", token)).json() == [
        item.json()]
    assert (await api.http("GET", f"/api/v2/filters/statuses/{sid}", token)).json() == item.json()
    assert (await api.http("GET", f"/api/v2/filters/{fid}", token)).json()["statuses"] == [
        item.json()]
    assert (await api.http("DELETE", f"/api/v2/filters/statuses/{sid}", token)).json() == {}
    assert (await api.http("GET", f"/api/v2/filters/{fid}/statuses", token)).json() == []


async def test_others_filters_are_404_and_bad_input_is_422(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    _eve, eve_token = await api.user("eve")
    fid = (await api.http("POST", "/api/v2/filters", token, json={
        "title": "mine", "context": ["home"], "keywords_attributes": [{"keyword": "x"}]}
    )).json()["id"]
    kid = (await api.http("GET", f"/api/v2/filters/{fid}/keywords", token)).json()[0]["id"]
    for method, path in (("GET", f"/api/v2/filters/{fid}"), ("PUT", f"/api/v2/filters/{fid}"),
                         ("DELETE", f"/api/v2/filters/{fid}"),
                         ("GET", f"/api/v2/filters/{fid}/keywords"),
                         ("POST", f"/api/v2/filters/{fid}/keywords"),
                         ("DELETE", f"/api/v2/filters/keywords/{kid}"),
                         ("GET", "/api/v2/filters/nonsense"),
                         ("GET", "/api/v2/filters/99999999999999999999999")):
        answer = await api.http(method, path, eve_token, data={"keyword": "y"})
        assert answer.status_code == 404, (method, path)
    assert (await api.http("GET", "/api/v2/filters", eve_token)).json() == []
    for body in ({"context": ["home"]}, {"title": "t"}, {"title": "t", "context": ["nowhere"]},
                 {"title": "t", "context": ["home"], "filter_action": "explode"},
                 {"title": "t", "context": ["home"], "expires_in": "soon"},
                 {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": ""}]}):
        answer = await api.http("POST", "/api/v2/filters", token, json=body)
        assert answer.status_code == 422 and answer.json()["error"], body
    huge = await api.http("POST", f"/api/v2/filters/{fid}/statuses", token,
                          data={"status_id": "99999999999999999999999"})
    assert huge.status_code == 422
    bad_update = await api.http("PUT", f"/api/v2/filters/{fid}", token, json={
        "title": "changed", "keywords_attributes": [{"id": "1", "_destroy": True}]})
    assert bad_update.status_code == 422
    assert [f.title for f in await api.rows(Filter)] == ["mine"]  # nothing stored
    _reader, read_only = await api.user("reader", scopes="read")
    assert (await api.http("GET", "/api/v2/filters", read_only)).status_code == 200
    refused = await api.http("POST", "/api/v2/filters", read_only,
                             json={"title": "t", "context": ["home"]})
    assert refused.status_code == 403
    assert (await api.http("GET", "/api/v2/filters")).status_code == 401


async def test_v1_filters(api: Api) -> None:  # noqa: F811
    _alice, token = await api.user("alice")
    made = await _form(api, "/api/v1/filters", token, [
        ("phrase", "spoiler"), ("context[]", "home"), ("irreversible", "true")])
    assert made.status_code == 200, made.text
    entity = made.json()
    assert entity["phrase"] == "spoiler" and entity["irreversible"] is True
    assert entity["whole_word"] is True and entity["context"] == ["home"]
    assert (await api.http("GET", "/api/v1/filters", token)).json() == [entity]
    v2 = (await api.http("GET", "/api/v2/filters", token)).json()
    assert v2[0]["filter_action"] == "hide" and v2[0]["keywords"][0]["id"] == entity["id"]
    changed = (await api.http("PUT", f"/api/v1/filters/{entity['id']}", token,
                              data={"phrase": "leak", "irreversible": "false"})).json()
    assert changed["phrase"] == "leak" and changed["irreversible"] is False
    assert (await api.http("DELETE", f"/api/v1/filters/{entity['id']}", token)).json() == {}
    assert (await api.http("GET", "/api/v2/filters", token)).json() == []


async def test_timelines_carry_filtered_and_drop_hidden(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    _bob, bob_token = await api.user("bob")
    await api.http("POST", f"/api/v1/accounts/{_bob.id}/follow", token)
    plain = await _post(api, bob_token, "a quiet day")
    warned = await _post(api, bob_token, "the Finale was wild")
    hidden = await _post(api, bob_token, "election results")
    named = await _post(api, bob_token, "nothing to see")
    mine = await _post(api, token, "my own finale")
    warn = (await api.http("POST", "/api/v2/filters", token, json={
        "title": "TV", "context": ["home", "public"], "filter_action": "warn",
        "keywords_attributes": [{"keyword": "finale"}]})).json()
    await api.http("POST", f"/api/v2/filters/{warn['id']}/statuses", token,
                   data={"status_id": named["id"]})
    await api.http("POST", "/api/v2/filters", token, json={
        "title": "News", "context": ["home"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "election"}]})

    home = (await api.http("GET", "/api/v1/timelines/home", token)).json()
    by_id = {s["id"]: s for s in home}
    assert hidden["id"] not in by_id
    assert set(by_id) == {plain["id"], warned["id"], named["id"], mine["id"]}
    assert by_id[plain["id"]]["filtered"] == [] and by_id[mine["id"]]["filtered"] == []
    [result] = by_id[warned["id"]]["filtered"]
    assert result["filter"]["id"] == warn["id"] and result["keyword_matches"] == ["Finale"]
    [result] = by_id[named["id"]]["filtered"]
    assert result["status_matches"] == [named["id"]] and result["keyword_matches"] is None
    assert by_id[plain["id"]]["favourited"] is False  # the viewer's flags still there

    public = (await api.http("GET", "/api/v1/timelines/public", token)).json()
    ids = [s["id"] for s in public]
    assert hidden["id"] in ids  # `News` filters home only
    assert [s for s in public if s["id"] == warned["id"]][0]["filtered"]
    others = (await api.http("GET", "/api/v1/timelines/public")).json()
    assert all(s["filtered"] == [] for s in others)  # filters are the viewer's own
    assert alice.id


async def test_profile_thread_and_notifications_are_filtered(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    root = await _post(api, bob_token, "a thread about tea")
    spoiler = await _post(api, bob_token, "@alice the finale!", in_reply_to_id=root["id"])
    rude = await _post(api, bob_token, "@alice you troll", in_reply_to_id=root["id"])
    await api.http("POST", "/api/v2/filters", token, json={
        "title": "TV", "context": ["account", "thread", "notifications"],
        "keywords_attributes": [{"keyword": "finale"}]})
    await api.http("POST", "/api/v2/filters", token, json={
        "title": "Trolls", "context": ["thread", "notifications"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "troll"}]})

    profile = (await api.http("GET", f"/api/v1/accounts/{bob.id}/statuses", token)).json()
    by_id = {s["id"]: s for s in profile}
    assert set(by_id) == {root["id"], spoiler["id"], rude["id"]}  # `hide` is not for profiles
    assert by_id[spoiler["id"]]["filtered"][0]["keyword_matches"] == ["finale"]
    assert by_id[root["id"]]["filtered"] == []

    thread = (await api.http("GET", f"/api/v1/statuses/{root['id']}/context", token)).json()
    assert [s["id"] for s in thread["descendants"]] == [spoiler["id"]]
    assert thread["descendants"][0]["filtered"][0]["filter"]["title"] == "TV"

    notes = (await api.http("GET", "/api/v1/notifications", token)).json()
    assert [n["status"]["id"] for n in notes] == [spoiler["id"]]
    assert notes[0]["status"]["filtered"][0]["filter"]["title"] == "TV"
    grouped = (await api.http("GET", "/api/v2/notifications", token)).json()
    assert [g["status_id"] for g in grouped["notification_groups"]] == [spoiler["id"]]
    assert [s["id"] for s in grouped["statuses"]] == [spoiler["id"]]
    assert alice.id

    # expired filters apply nowhere
    fid = int((await api.http("GET", "/api/v2/filters", token)).json()[1]["id"])
    async with api.inst.state.sessions() as session:
        row = await session.get(Filter, fid)
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        await session.commit()
    forget_filters()  # as a change through the API does
    notes = (await api.http("GET", "/api/v1/notifications", token)).json()
    assert [n["status"]["id"] for n in notes] == [rude["id"], spoiler["id"]]


async def test_streamed_updates_are_filtered(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    await api.act(actions.follow, alice, bob)
    await api.http("POST", "/api/v2/filters", token, json={
        "title": "TV", "context": ["home"], "keywords_attributes": [{"keyword": "finale"}]})
    await api.http("POST", "/api/v2/filters", token, json={
        "title": "Trolls", "context": ["home"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "troll"}]})
    heard = Collector()
    handle = await api.call(api.mastodon(token).stream_user, heard, run_async=True)
    try:
        await _opened(heard)
        await _post(api, bob_token, "a troll speaks")
        warned = await _post(api, bob_token, "the finale")
        plain = await _post(api, bob_token, "plain words")
        events = await heard.until(2)
    finally:
        await asyncio.to_thread(handle.close)
    assert [(name, str(s.id)) for name, s in events] == [("update", warned["id"]),
                                                         ("update", plain["id"])]
    assert events[0][1].filtered[0].filter.title == "TV" and events[1][1].filtered == []
