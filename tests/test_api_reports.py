"""Reports on a real running instance, driven with Mastodon.py: a user reports an account and
some of its posts, every admin is notified (`admin.report`, with the Report), and admins
list, read, resolve and reopen reports through the admin API; bad input, missing scopes and
non-admins are refused with nothing stored; the `fediverse report` commands as a process."""

from __future__ import annotations

import asyncio

import pytest
from mastodon import MastodonAPIError
from sqlmodel import select

from models.db import make_engine, session_factory
from models.reports import add_report
from models.tables import Account, Notification, Report
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)
from tests.test_cli import run

ADMIN_SCOPES = "read write admin:read:reports admin:write:reports"
REPORT_KEYS = {"id", "action_taken", "action_taken_at", "category", "comment", "forwarded",
               "created_at", "status_ids", "rule_ids", "target_account"}
ADMIN_REPORT_KEYS = {"id", "action_taken", "action_taken_at", "category", "comment", "forwarded",
                     "created_at", "updated_at", "account", "target_account", "assigned_account",
                     "action_taken_by_account", "statuses", "rules"}


async def test_report_notifies_every_admin(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice", admin=True)
    dora, dora_token = await api.user("dora", admin=True)
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    post = await api.act(actions.post_status, bob, text="buy my pills")
    carol_client = api.mastodon(carol_token)

    report = await api.call(carol_client.report, bob.id, status_ids=[post.id],
                            comment="spam, again", category="spam")
    assert REPORT_KEYS <= set(report.keys())  # Mastodon.py adds an alias or two
    assert report.category == "spam" and report.comment == "spam, again"
    assert report.action_taken is False and report.action_taken_at is None
    assert report.forwarded is False and report.rule_ids == []
    assert report.status_ids == [str(post.id)] and report.target_account.acct == "bob"
    [row] = await api.rows(Report)
    assert (row.account_id, row.target_account_id, row.status_ids) == (carol.id, bob.id, [post.id])

    for token in (alice_token, dora_token):
        [note] = await api.call(api.mastodon(token).notifications)
        assert note.type == "admin.report" and note.account.acct == "carol"
        assert note.report.id == report.id and note.report.target_account.acct == "bob"
        assert note.report.status_ids == [str(post.id)]
        grouped = await api.http("GET", "/api/v2/notifications", token)
        assert grouped.status_code == 200
        [group] = grouped.json()["notification_groups"]
        assert group["type"] == "admin.report" and group["group_key"].startswith("ungrouped-")
        assert group["report"]["id"] == report.id and group["report"]["category"] == "spam"
    only = await api.call(api.mastodon(alice_token).notifications, types=["admin.report"])
    assert len(only) == 1
    assert await api.call(api.mastodon(bob_token).notifications) == []
    assert await api.call(carol_client.notifications) == []

    plain = await api.call(carol_client.report, bob.id)  # no posts, no comment
    assert plain.category == "other" and plain.status_ids == [] and plain.comment == ""
    # Mastodon.py posts to `/api/v1/reports/`; the path without the slash answers the same
    answer = await api.http("POST", "/api/v1/reports", carol_token,
                            json={"account_id": str(bob.id), "category": "legal"})
    assert answer.status_code == 200 and answer.json()["category"] == "legal"
    assert set(answer.json()) == REPORT_KEYS


async def test_bad_reports_are_refused_and_nothing_stored(api: Api) -> None:  # noqa: F811
    alice, _ = await api.user("alice", admin=True)
    bob, _ = await api.user("bob")
    carol, carol_token = await api.user("carol")
    theirs = await api.act(actions.post_status, bob, text="bob's post")
    hidden = await api.act(actions.post_status, bob, text="followers only", visibility="private")
    mine = await api.act(actions.post_status, carol, text="carol's post")
    bob_id = str(bob.id)
    refused = [
        ({}, 422),
        ({"account_id": "nope"}, 422),
        ({"account_id": "12345"}, 404),
        ({"account_id": str(carol.id)}, 422),  # oneself
        ({"account_id": bob_id, "comment": "x" * 1001}, 422),
        ({"account_id": bob_id, "category": "rude"}, 422),
        ({"account_id": bob_id, "category": "violation"}, 422),  # without rules
        ({"account_id": bob_id, "category": "violation", "rule_ids": ["1"]}, 422),  # no such rule
        ({"account_id": bob_id, "status_ids": [str(mine.id)]}, 422),  # not bob's
        ({"account_id": bob_id, "status_ids": [str(hidden.id)]}, 422),  # not visible to carol
        ({"account_id": bob_id, "status_ids": [str(theirs.id), "99"]}, 422),
        ({"account_id": bob_id, "forward": "maybe"}, 422),
    ]
    for body, status in refused:
        answer = await api.http("POST", "/api/v1/reports", carol_token, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]
    with pytest.raises(MastodonAPIError):
        await api.call(api.mastodon(carol_token).report, bob.id, comment="y" * 1001)
    assert await api.rows(Report) == []
    assert await api.rows(Notification, Notification.account_id == alice.id) == []

    read_only = (await api.user("erin", scopes="read write:statuses"))[1]
    answer = await api.http("POST", "/api/v1/reports", read_only, json={"account_id": bob_id})
    assert answer.status_code == 403 and await api.rows(Report) == []
    answer = await api.http("POST", "/api/v1/reports", None, json={"account_id": bob_id})
    assert answer.status_code == 401


async def test_admins_list_resolve_and_reopen(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice", admin=True, scopes=ADMIN_SCOPES)
    bob, _ = await api.user("bob")
    carol, carol_token = await api.user("carol")
    post = await api.act(actions.post_status, bob, text="bad post")
    carol_client, admin = api.mastodon(carol_token), api.mastodon(alice_token)
    first = await api.call(carol_client.report, bob.id, status_ids=[post.id], comment="first")
    second = await api.call(carol_client.report, bob.id, comment="second", category="spam")

    listed = await api.call(admin.admin_reports)
    assert [r.id for r in listed] == [second.id, first.id]
    one = await api.call(admin.admin_report, first.id)
    assert ADMIN_REPORT_KEYS <= set(one.keys())
    assert one.account.username == "carol" and one.account.account.acct == "carol"
    assert one.target_account.username == "bob" and one.target_account.domain is None
    assert one.target_account.role["highlighted"] is False and one.account.ips == []
    assert [str(s.id) for s in one.statuses] == [str(post.id)] and one.rules == []
    assert one.assigned_account is None and one.action_taken_by_account is None
    assert one.comment == "first" and one.category == "other"

    done = await api.call(admin.admin_report_resolve, first.id)
    assert done.action_taken is True and done.action_taken_at is not None
    assert done.action_taken_by_account.username == "alice"
    assert [r.id for r in await api.call(admin.admin_reports)] == [second.id]
    assert [r.id for r in await api.call(admin.admin_reports, resolved=True)] == [first.id]
    everything = await api.call(admin.admin_reports, resolved=True, unresolved=True)
    assert [r.id for r in everything] == [second.id, first.id]
    by_target = await api.call(admin.admin_reports, target_account_id=carol.id)
    assert by_target == []

    page = await api.http("GET", "/api/v1/admin/reports", alice_token,
                          params={"resolved": "true", "unresolved": "true", "limit": "1"})
    assert [r["id"] for r in page.json()] == [str(second.id)]
    assert f"max_id={second.id}" in page.headers["link"] and 'rel="next"' in page.headers["link"]
    older = await api.call(admin.admin_reports, resolved=True, unresolved=True, max_id=second.id)
    assert [r.id for r in older] == [first.id]

    again = await api.call(admin.admin_report_reopen, first.id)
    assert again.action_taken is False and again.action_taken_by_account is None
    assert {r.id for r in await api.call(admin.admin_reports)} == {first.id, second.id}
    row = await api.get(Report, int(first.id))
    assert row.action_taken_at is None and row.updated_at is not None
    assert (await api.http("GET", "/api/v1/admin/reports/999", alice_token)).status_code == 404


async def test_admin_api_wants_an_admin_with_admin_scopes(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice", admin=True, scopes="read write")
    bob, bob_admin_scopes = await api.user("bob", scopes=ADMIN_SCOPES)
    carol, carol_token = await api.user("carol")
    report = await api.call(api.mastodon(carol_token).report, bob.id, comment="hm")
    reader = (await api.user("dora", admin=True, scopes="admin:read:reports"))[1]
    paths = [("GET", "/api/v1/admin/reports"), ("GET", f"/api/v1/admin/reports/{report.id}"),
             ("POST", f"/api/v1/admin/reports/{report.id}/resolve"),
             ("POST", f"/api/v1/admin/reports/{report.id}/reopen")]
    for method, path in paths:
        for token in (alice_token, bob_admin_scopes, carol_token):
            answer = await api.http(method, path, token)
            assert answer.status_code == 403 and "error" in answer.json(), (path, answer.text)
        assert (await api.http(method, path)).status_code == 401
    assert (await api.http("GET", "/api/v1/admin/reports", reader)).status_code == 200
    assert (await api.http("POST", f"/api/v1/admin/reports/{report.id}/resolve",
                           reader)).status_code == 403
    assert (await api.get(Report, int(report.id))).action_taken_at is None
    writer = (await api.user("erin", admin=True, scopes="admin:write"))[1]
    answer = await api.http("POST", f"/api/v1/admin/reports/{report.id}/resolve", writer)
    assert answer.status_code == 200 and answer.json()["action_taken"] is True


async def test_an_app_may_ask_for_admin_report_scopes(api: Api) -> None:  # noqa: F811
    answer = await api.http("POST", "/api/v1/apps", data={
        "client_name": "moderation", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read admin:read:reports admin:write:reports"})
    assert answer.status_code == 200, answer.text
    assert "admin:write:reports" in answer.json()["scopes"]


def test_report_commands(tmp_path, database_url) -> None:
    for name in ("alice", "bob"):
        assert run(["account", "create", name], data_dir=tmp_path,
                   database_url=database_url).returncode == 0
    token = run(["token", "create", "alice", "--scopes", "admin:read:reports admin:write:reports"],
                data_dir=tmp_path, database_url=database_url)
    assert token.returncode == 0 and len(token.stdout.split()) == 1, token.stderr

    async def report() -> int:
        engine = make_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                ids = {a.username: a.id for a in (await session.exec(select(Account))).all()}
                made = await add_report(session, Report(
                    account_id=ids["alice"], target_account_id=ids["bob"], category="spam",
                    comment="sells\nthings " + "x" * 200))
                await session.commit()
                return made.id
        finally:
            await engine.dispose()

    report_id = asyncio.run(report())
    listed = run(["report", "list"], data_dir=tmp_path, database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    fields = line.split("\t")
    assert fields[0] == str(report_id) and fields[2:5] == ["from alice", "about bob", "spam"]
    assert fields[5].startswith("sells things xx") and len(fields[5]) <= 60

    resolved = run(["report", "resolve", str(report_id)], data_dir=tmp_path,
                   database_url=database_url)
    assert resolved.returncode == 0, resolved.stderr
    listed = run(["report", "list"], data_dir=tmp_path, database_url=database_url)
    assert listed.returncode == 0 and listed.stdout == ""
    everything = run(["report", "list", "--all"], data_dir=tmp_path, database_url=database_url)
    assert everything.stdout.startswith(f"{report_id}\t") and "spam resolved" in everything.stdout

    missing = run(["report", "resolve", "123"], data_dir=tmp_path, database_url=database_url)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
