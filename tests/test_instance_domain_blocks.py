"""Servers the instance blocks, across two live instances: after A suspends B, B's posts,
follows and likes are refused at A's inbox (403, nothing stored, not even a job), A fetches
nothing from B and delivers nothing to it, B's accounts and what they made are gone from A;
lifting the block lets B in again. A silenced server's posts leave the public and tag
timelines of those who don't follow its accounts, and its accounts' notifications of them
hide; a server whose media are rejected stays a link. The CLI blocks a server in a real
process while the instance runs, and the instance learns of it within seconds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from mastodon import MastodonAPIError

from activitypub.errors import BlockedAddress
from fediverse.api import streaming
from inbox.resolve import resolve_handle
from models.instance_blocks import REFRESH
from models.tables import (
    Account,
    Favourite,
    Follow,
    Job,
    MediaAttachment,
    Notification,
    Report,
    Status,
)
from outbox import actions
from outbox.deliver import QUEUE, Deliverer, publish
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.inbox_support import jobs_settled
from tests.stream_support import Heard
from tests.test_remote_media import _jpeg_with_gps, world  # noqa: F401


async def _admin(side: Side) -> Any:
    boss = await side.account("boss", admin=True)
    return await side.mastodon(boss, scopes="read write follow admin:read admin:write")


async def _ids(fn: Any, *args: Any, **kwargs: Any) -> set[str]:
    return {str(s.id) for s in await asyncio.to_thread(fn, *args, **kwargs)}


async def _inbox_jobs(side: Side) -> int:
    return len(await side.rows(Job, Job.queue == "inbox"))


async def test_a_suspended_server_is_cut_off(pair) -> None:  # noqa: F811
    a, b = pair
    alice = await a.account("alice")
    bob, dave = await b.account("bob"), await b.account("dave")
    await following(b, bob, a, alice)
    bob_on_a = await following(a, alice, b, bob)
    alice_app, boss = await a.mastodon(alice), await _admin(a)
    alice_on_b = await b.resolve(a.handle("alice"))
    sent = await b.act(actions.post_status, bob, text="before #cats")
    before = await a.eventually(lambda: a.status(sent.uri), what="bob's post")
    mine = await a.act(actions.post_status, alice, text="alice here")
    mine_on_b = await b.eventually(lambda: b.status(mine.uri), what="alice's post on B")
    assert str(before.id) in await _ids(alice_app.timeline_home)

    block = await asyncio.to_thread(boss.admin_create_domain_block, b.inst.domain,
                                    severity="suspend")
    assert block.severity == "suspend" and block.domain == b.inst.domain

    # B's accounts, their posts and the follows both ways are gone here
    assert await a.rows(Account, Account.domain == b.inst.domain) == []
    assert await a.rows(Status, Status.uri == sent.uri) == []
    assert await a.rows(Follow, Follow.target_account_id == bob_on_a.id) == []
    assert str(before.id) not in await _ids(alice_app.timeline_home)
    for call in (lambda: alice_app.account(bob_on_a.id), lambda: alice_app.status(before.id)):
        with pytest.raises(MastodonAPIError) as missing:
            await asyncio.to_thread(call)
        assert missing.value.args[1] == 404
    found = await asyncio.to_thread(alice_app.search_v2, b.handle("bob"), resolve=True)
    assert found.accounts == []

    # nothing B sends lands: refused at the inbox, not even queued
    jobs = await _inbox_jobs(a)
    await b.act(actions.post_status, bob, text="after #cats")
    await b.act(actions.favourite, bob, mine_on_b)
    await b.act(actions.follow, dave, alice_on_b)
    await b.settled()
    assert await _inbox_jobs(a) == jobs
    assert await a.rows(Account, Account.domain == b.inst.domain) == []
    assert await a.rows(Favourite) == []
    dead = await b.rows(Job, Job.queue == QUEUE, Job.state == "dead")
    assert dead and all("403" in (row.last_error or "") for row in dead)  # B was told 403

    # A fetches nothing from B and sends it nothing
    async with a.writer() as session:
        with pytest.raises(BlockedAddress):
            await resolve_handle(a.ctx, session, b.handle("dave"))
    async with a.writer() as session:
        alice_row = await session.get(Account, alice.id)
        planned = await publish(a.ctx, session, {"id": f"{a.base}/x/1", "type": "Note"},
                                sender=alice_row, followers=False,
                                inboxes=[f"{b.base}/inbox", f"{b.base}/users/bob/inbox"])
    assert planned == 0
    deliverer = Deliverer(a.ctx)
    try:
        outcome = await deliverer.send(f"{b.base}/inbox", b"{}", ("k", "pem"))
    finally:
        await deliverer.aclose()
    assert outcome.state == "dead" and "suspended" in outcome.error

    # lifted: B's accounts come back as they act again
    await asyncio.to_thread(boss.admin_delete_domain_block, block.id)
    erin = await b.account("erin")
    await b.act(actions.follow, erin, alice_on_b)

    async def erin_follows() -> bool:
        return bool(await a.rows(Follow, Follow.target_account_id == alice.id))

    await a.eventually(erin_follows, what="erin's follow after the block was lifted")


async def test_a_silenced_server_leaves_public_timelines_and_notifications(pair, monkeypatch
                                                                         ) -> None:  # noqa: F811
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob")
    await following(a, carol, b, bob)
    alice_app, carol_app, boss = (await a.mastodon(alice), await a.mastodon(carol),
                                  await _admin(a))
    alice_on_b, carol_on_b = await b.resolve(a.handle("alice")), await b.resolve(a.handle("carol"))
    sent = await b.act(actions.post_status, bob, text="#cats hi @alice @carol",
                       mentions=[alice_on_b, carol_on_b])
    arrived = await a.eventually(lambda: a.status(sent.uri), what="bob's post")
    sid = str(arrived.id)
    await a.eventually(lambda: a.rows(Notification, Notification.account_id == alice.id),
                       what="alice's notification")
    assert sid in await _ids(alice_app.timeline_public)
    assert len(await asyncio.to_thread(alice_app.notifications)) == 1

    block = await asyncio.to_thread(boss.admin_create_domain_block, b.inst.domain)
    assert block.severity == "silence"  # Mastodon's default

    assert sid not in await _ids(alice_app.timeline_public)
    assert sid not in await _ids(alice_app.timeline_hashtag, "cats")
    assert sid not in await _ids(boss.timeline_public)
    assert await asyncio.to_thread(alice_app.notifications) == []
    # carol follows bob: she still sees it all
    assert sid in await _ids(carol_app.timeline_public)
    assert sid in await _ids(carol_app.timeline_hashtag, "cats")
    assert sid in await _ids(carol_app.timeline_home)
    assert [n.type for n in await asyncio.to_thread(carol_app.notifications)] == ["mention"]
    # silenced is not suspended: the post and its account stay, and B still gets in; live
    # public streams and notifications follow the same rule
    assert await a.rows(Account, Account.domain == b.inst.domain)
    heard = {"alice": Heard(), "carol": Heard()}
    handles = [await asyncio.to_thread(app.stream_public, heard[name], run_async=True)
               for name, app in (("alice", alice_app), ("carol", carol_app))]
    handles += [await asyncio.to_thread(app.stream_user, heard[name], run_async=True)
                for name, app in (("alice", alice_app), ("carol", carol_app))]
    try:
        for listener in heard.values():
            assert await asyncio.to_thread(listener.opened.wait, 10)
        again = await b.act(actions.post_status, bob, text="still here @alice @carol",
                            mentions=[alice_on_b, carol_on_b])
        await a.eventually(lambda: a.status(again.uri), what="bob's next post")
        for _ in range(200):
            if heard["carol"].updates and heard["carol"].notifications:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.5)
    finally:
        for handle in handles:
            await asyncio.to_thread(handle.close)
    assert heard["carol"].updates and heard["carol"].notifications
    assert heard["alice"].updates == [] and heard["alice"].notifications == []

    await asyncio.to_thread(boss.admin_delete_domain_block, block.id)
    assert sid in await _ids(alice_app.timeline_public)
    assert len(await asyncio.to_thread(alice_app.notifications)) == 2


async def test_rejected_media_stay_links(world) -> None:  # noqa: F811
    _, token = await world.api.user("boss", scopes="admin:write", admin=True)
    made = await world.api.http("POST", "/api/v1/admin/domain_blocks", token, data={
        "domain": f"127.0.0.1:{world.sender.port}", "severity": "noop", "reject_media": "true"})
    assert made.status_code == 200 and made.json()["reject_media"] is True
    world.sender.files["/media/photo.jpg"] = (200, "image/jpeg", _jpeg_with_gps((80, 60)))
    status = await world.post(1, [world.sender.attachment("/media/photo.jpg", "image/jpeg")])

    [media] = status["media_attachments"]
    assert media["url"] == world.sender.base + "/media/photo.jpg" == media["remote_url"]
    assert "/media/photo.jpg" not in world.sender.hits  # never fetched
    assert await world.api.rows(MediaAttachment, MediaAttachment.file_path.is_not(None)) == []


async def test_rejected_reports_are_ignored(world) -> None:  # noqa: F811
    """A `Flag` from a server whose reports are rejected stores nothing; lifted, it does."""
    target, _ = await world.api.user("target")
    _, token = await world.api.user("boss", scopes="admin:write", admin=True)
    made = await world.api.http("POST", "/api/v1/admin/domain_blocks", token, data={
        "domain": f"127.0.0.1:{world.sender.port}", "severity": "noop", "reject_reports": "1"})
    assert made.status_code == 200

    def flag(number: int) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Flag",
                "id": f"{world.sender.actor}/flags/{number}", "actor": world.sender.actor,
                "object": [f"{world.api.base}/users/{target.username}"], "content": "spam"}

    await world.deliver(flag(1))
    await jobs_settled(world.api)
    assert await world.api.rows(Report) == []
    await world.api.http("DELETE", f"/api/v1/admin/domain_blocks/{made.json()['id']}", token)
    await world.deliver(flag(2))
    await jobs_settled(world.api)
    assert [r.target_account_id for r in await world.api.rows(Report)] == [target.id]


def _cli(args: list[str], database_url: str, data_dir: Any) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    env.update(FEDIVERSE_DATA_DIR=str(data_dir), FEDIVERSE_DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "fediverse", "domain", *args], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_the_cli_blocks_a_server_for_a_running_instance(pair, tmp_path) -> None:  # noqa: F811
    a, b = pair
    alice = await a.account("alice")
    bob = await b.account("bob")
    await following(b, bob, a, alice)
    url = a.inst.settings.effective_database_url

    made = await asyncio.to_thread(_cli, ["block", f"http://{b.inst.domain}/", "--severity",
                                          "suspend", "--reject-media", "--public-comment",
                                          "spam"], url, tmp_path / "cli")
    assert made.returncode == 0, made.stderr
    listed = await asyncio.to_thread(_cli, ["list"], url, tmp_path / "cli")
    assert listed.stdout.splitlines() == [f"{b.inst.domain}\tsuspend\treject_media"]
    assert await a.rows(Account, Account.domain == b.inst.domain) == []
    async with a.inst.client() as http:
        answer = await http.get("/api/v1/instance/domain_blocks")
    assert answer.status_code == 200
    [shown] = answer.json()
    assert shown["domain"] == b.inst.domain and shown["comment"] == "spam"
    assert shown["severity"] == "suspend" and len(shown["digest"]) == 64

    await asyncio.sleep(REFRESH + 0.5)  # the running instance reads the block afresh
    jobs = await _inbox_jobs(a)
    await b.act(actions.post_status, bob, text="let me in")
    await b.settled()
    assert await _inbox_jobs(a) == jobs

    bad = await asyncio.to_thread(_cli, ["block", "not a domain"], url, tmp_path / "cli")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    gone = await asyncio.to_thread(_cli, ["unblock", b.inst.domain], url, tmp_path / "cli")
    assert gone.returncode == 0, gone.stderr
    again = await asyncio.to_thread(_cli, ["unblock", b.inst.domain], url, tmp_path / "cli")
    assert again.returncode == 1 and "not blocked" in again.stderr
    assert (await asyncio.to_thread(_cli, ["list"], url, tmp_path / "cli")).stdout == ""
