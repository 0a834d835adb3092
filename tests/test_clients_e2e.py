"""Issue 4's proof: the real client libraries, Mastodon.py and toot, drive two running
instances. Sign in through the sign-in page, upload an image, post it behind a content
warning, read it back from the home and public timelines, follow an account on the other
instance and see its posts arrive, get a notification when it mentions us, and receive the
same events on the streaming API (Mastodon.py's server-sent events; toot has no streaming)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mastodon import Mastodon

from fediverse.api import streaming
from models.accounts import create_account
from models.tokens import create_token
from tests.clients_support import (
    PASSWORD,
    Toot,
    UserStream,
    call,
    mastodon_py_login,
    mastodon_py_with_token,
    png_file,
)
from tests.flows_support import Side, pair  # noqa: F401
from tests.instances import running_instance

WAIT = 20.0  # seconds for a delivery between the instances to show


async def remote_poster(b: Side, username: str) -> Mastodon:
    """An account on instance B, using Mastodon.py with a token."""
    account = await b.account(username, password=PASSWORD)
    async with b.writer() as session:
        token = await create_token(session, account, "read write follow")
        await session.commit()
    return await mastodon_py_with_token(b.base, token)


# --- Mastodon.py ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def quick_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed stream is noticed at the server's next write, and the instance cannot stop
    before: make that soon (autouse, so it lasts until the instances have stopped)."""
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)


async def test_mastodon_py_end_to_end(pair, tmp_path: Path) -> None:  # noqa: F811
    a, b = pair
    await a.account("alice", password=PASSWORD)
    bob = await remote_poster(b, "bob")
    api = await mastodon_py_login(a.base, "alice")
    me = await call(api.account_verify_credentials)
    assert me["username"] == "alice" and me["source"]["privacy"] == "public"
    stream = UserStream()
    await stream.open(api)
    try:
        posted = await _post_image(api, tmp_path)
        await _read_back(api, posted)
        await _follow_remote(a, api, f"bob@{b.inst.domain}")
        seen = await _followed_post_arrives(a, api, bob, f"bob@{b.inst.domain}")
        note = await _mention_notifies(a, api, bob)
        await _streamed(a, stream, posted, seen, note)
    finally:
        await stream.close()


async def _post_image(api: Mastodon, tmp_path: Path) -> Any:
    media = await call(api.media_post, str(png_file(tmp_path)), description="a red square")
    assert media["type"] == "image" and media["description"] == "a red square"
    posted = await call(api.status_post, "a red square for you", media_ids=[media],
                        spoiler_text="colour warning")
    assert posted["spoiler_text"] == "colour warning" and posted["sensitive"] is True
    [attached] = posted["media_attachments"]
    assert attached["id"] == media["id"] and attached["url"]
    return posted


async def _read_back(api: Mastodon, posted: Any) -> None:
    for read in (api.timeline_home, api.timeline_public, api.timeline_local):
        [shown] = [s for s in await call(read) if s["id"] == posted["id"]]
        assert shown["spoiler_text"] == "colour warning"
        assert shown["media_attachments"][0]["description"] == "a red square"


async def _follow_remote(a: Side, api: Mastodon, acct: str) -> None:
    found = await call(api.search_v2, f"@{acct}", resolve=True, result_type="accounts")
    [remote] = found["accounts"]
    assert remote["acct"] == acct
    await call(api.account_follow, remote["id"])

    async def accepted() -> bool:
        [rel] = await call(api.account_relationships, remote["id"])
        return bool(rel["following"])

    await a.eventually(accepted, what="the Accept of the follow", timeout=WAIT)


async def _followed_post_arrives(a: Side, api: Mastodon, bob: Mastodon, acct: str) -> Any:
    news = await call(bob.status_post, "news from the other instance")

    async def arrived() -> list:
        return [s for s in await call(api.timeline_home) if s["uri"] == news["uri"]]

    [seen] = await a.eventually(arrived, what="the followed post in home", timeout=WAIT)
    assert seen["account"]["acct"] == acct and "news from" in seen["content"]
    first = await call(api.timeline_home, limit=1)  # the Link header leads to older pages
    older = await call(api.fetch_next, first)
    assert [s["id"] for s in first] == [seen["id"]] and older and int(older[0]["id"]) < int(seen["id"])
    return seen


async def _mention_notifies(a: Side, api: Mastodon, bob: Mastodon) -> Any:
    mention = await call(bob.status_post, f"@alice@{a.inst.domain} hello across instances")

    async def mentioned() -> list:
        return await call(api.notifications, types=["mention"])

    [note] = await a.eventually(mentioned, what="the mention notification", timeout=WAIT)
    assert note["type"] == "mention" and note["status"]["uri"] == mention["uri"]
    assert note["account"]["url"] == mention["account"]["url"]
    assert [m["acct"] for m in note["status"]["mentions"]] == ["alice"]
    return note


async def _streamed(a: Side, stream: UserStream, posted: Any, seen: Any, note: Any) -> None:
    """The user stream carried our post, the followed account's post and the mention."""
    async def all_came() -> bool:
        updates = {s["id"] for s in stream.updates}
        notes = {n["id"] for n in stream.notifications}
        return {posted["id"], seen["id"]} <= updates and note["id"] in notes

    await a.eventually(all_came, what="the streamed events", timeout=WAIT)
    [mine] = [s for s in stream.updates if s["id"] == posted["id"]]
    assert mine["spoiler_text"] == "colour warning"
    assert mine["media_attachments"][0]["url"] == posted["media_attachments"][0]["url"]
    [streamed] = [n for n in stream.notifications if n["id"] == note["id"]]
    assert streamed["type"] == "mention" and streamed["status"]["uri"] == note["status"]["uri"]


# --- toot ----------------------------------------------------------------------------------

async def test_toot_end_to_end(pair, tmp_path: Path) -> None:  # noqa: F811
    a, b = pair
    await a.account("carol", password=PASSWORD)
    bob = await remote_poster(b, "bob")
    toot = Toot(tmp_path / "config")
    await toot.login(a.base, "carol")  # the browser flow, with the out-of-band code
    assert "carol@" in await toot.run("auth")
    assert "@carol" in await toot.run("whoami")  # toot parses the account into its entity

    posted = await _toot_image(toot, tmp_path)
    for args in (("timeline", "--once"), ("timeline", "--public", "--once")):
        shown = await toot.run(*args)  # toot parses each status into its entity
        assert "a red square from toot" in shown and "/media/" in shown, shown
    for which in ("home", "public --local --only-media"):
        listed = json.loads(await toot.run("timelines", *which.split(), "--json"))
        [seen] = [s for s in listed if s["id"] == posted["id"]]
        assert seen["spoiler_text"] == "colour warning"
        assert seen["media_attachments"][0]["url"] == posted["media_attachments"][0]["url"]

    bob_acct = f"bob@{b.inst.domain}"
    await _toot_follow(a, toot, bob_acct)
    assert bob_acct in await toot.run("whois", bob_acct)  # the remote account, parsed
    assert a.inst.domain in await toot.run("instance")
    await call(bob.status_post, "news for toot readers")

    async def arrived() -> bool:
        return "news for toot readers" in await toot.run("timeline", "--once")

    await a.eventually(arrived, what="the followed post in home", timeout=WAIT)

    await call(bob.status_post, f"@carol@{a.inst.domain} hello toot user")

    async def mentioned() -> list:
        return json.loads(await toot.run("notifications", "--type", "mention", "--json"))

    [note] = await a.eventually(mentioned, what="the mention notification", timeout=WAIT)
    assert note["account"]["acct"] == bob_acct
    shown = await toot.run("notifications")  # parsed into toot's Notification entity
    assert "hello toot user" in shown and bob_acct in shown, shown


async def _toot_image(toot: Toot, tmp_path: Path) -> Any:
    out = await toot.run("post", "a red square from toot", "--media", str(png_file(tmp_path)),
                         "--description", "a red square", "--spoiler-text", "colour warning",
                         "--json")
    posted = json.loads(out)
    assert posted["spoiler_text"] == "colour warning" and posted["sensitive"] is True
    assert posted["media_attachments"][0]["description"] == "a red square"
    return posted


async def _toot_follow(a: Side, toot: Toot, acct: str) -> None:
    """`toot follow` finds the remote account by a resolving search, then follows it."""
    assert json.loads(await toot.run("follow", acct, "--json"))["id"]

    async def accepted() -> bool:  # the following list holds accepted follows only
        listed = json.loads(await toot.run("following", "--json"))
        return any(account["acct"] == acct for account in listed)

    await a.eventually(accepted, what="the Accept of the follow", timeout=WAIT)


async def test_toot_password_login(tmp_path: Path, database_url: str) -> None:
    """`toot login_cli` signs in with the password grant; a wrong password gets no token."""
    async with running_instance(tmp_path / "data", database_url) as inst:
        async with inst.state.writer() as session:
            await create_account(session, "dave", password=PASSWORD, email="dave@example.org")
            await session.commit()
        toot = Toot(tmp_path / "config")
        login = ("login_cli", "--instance", inst.base_url, "--email", "dave@example.org")
        refused = await toot.run(*login, "--password", "wrong", check=False)
        assert "Login failed" in refused
        assert "not logged in" in await toot.run("auth")
        await toot.run(*login, "--password", PASSWORD)
        assert "@dave" in await toot.run("whoami")
