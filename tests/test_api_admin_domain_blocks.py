"""The admin API for servers the instance blocks (`/api/v1/admin/domain_blocks`), driven with
Mastodon.py: create, list, show, update, delete; admins only, with the admin scopes; bad input
refused with nothing stored. The public list (`/api/v1/instance/domain_blocks`), and a block
covering subdomains at the inbox."""

from __future__ import annotations

import hashlib

import pytest
from mastodon import MastodonAPIError

from models.tables import InstanceDomainBlock, Job
from tests.test_api_accounts_support import Api, api  # noqa: F401

ADMIN = "read write admin:read:domain_blocks admin:write:domain_blocks"


async def test_create_list_show_update_delete(api: Api) -> None:  # noqa: F811
    _, token = await api.user("boss", scopes=ADMIN, admin=True)
    boss = api.mastodon(token)
    assert await api.call(boss.admin_domain_blocks) == []
    made = await api.call(boss.admin_create_domain_block, "Spam.EXAMPLE", severity="suspend",
                          reject_media=True, private_comment="seen in reports",
                          public_comment="spam")
    assert (made.domain, made.severity, made.reject_media, made.reject_reports) == (
        "spam.example", "suspend", True, False)
    assert made.digest == hashlib.sha256(b"spam.example").hexdigest()
    assert made.private_comment == "seen in reports" and made.public_comment == "spam"
    assert made.obfuscate is False and made.created_at is not None
    quiet = await api.call(boss.admin_create_domain_block, "quiet.example")
    assert quiet.severity == "silence"  # Mastodon's default

    assert [b.domain for b in await api.call(boss.admin_domain_blocks)] == [
        "spam.example", "quiet.example"]
    shown = await api.call(boss.admin_domain_blocks, id=made.id)
    assert shown.id == made.id and shown.public_comment == "spam"
    changed = await api.call(boss.admin_update_domain_block, quiet.id, severity="suspend",
                             reject_reports=True, obfuscate=True)
    assert (changed.severity, changed.reject_reports, changed.obfuscate) == ("suspend", True, True)
    row = await api.get(InstanceDomainBlock, int(quiet.id))
    assert row.severity == "suspend" and row.reject_reports and row.updated_at >= row.created_at

    public = (await api.http("GET", "/api/v1/instance/domain_blocks")).json()
    assert public == [
        {"domain": "spam.example", "digest": made.digest, "severity": "suspend",
         "comment": "spam"},
        {"domain": "quie*.****ple", "digest": hashlib.sha256(b"quiet.example").hexdigest(),
         "severity": "suspend", "comment": None}]

    await api.call(boss.admin_delete_domain_block, made.id)
    assert [b.domain for b in await api.call(boss.admin_domain_blocks)] == ["quiet.example"]
    for call in (lambda: boss.admin_domain_blocks(id=made.id),
                 lambda: boss.admin_delete_domain_block(made.id)):
        with pytest.raises(MastodonAPIError) as missing:
            await api.call(call)
        assert missing.value.args[1] == 404
    assert (await api.http("GET", "/api/v1/admin/domain_blocks/nope", token)).status_code == 404


async def test_admins_only_with_the_admin_scopes(api: Api) -> None:  # noqa: F811
    _, user = await api.user("alice", scopes=ADMIN)  # every scope, but not an admin
    _, reader = await api.user("reader", scopes="admin:read:domain_blocks", admin=True)
    _, writer = await api.user("writer", scopes="admin:write:domain_blocks", admin=True)
    _, broad = await api.user("broad", scopes="admin:read admin:write", admin=True)
    _, plain = await api.user("plain", scopes="read write follow", admin=True)
    body = {"domain": "example.com"}
    path = "/api/v1/admin/domain_blocks"
    for token in (user, plain):
        assert (await api.http("GET", path, token)).status_code == 403
        answer = await api.http("POST", path, token, data=body)
        assert answer.status_code == 403 and list(answer.json()) == ["error"]
    assert (await api.http("POST", path, None, data=body)).status_code == 401
    assert (await api.http("POST", path, reader, data=body)).status_code == 403
    assert await api.rows(InstanceDomainBlock) == []
    assert (await api.http("GET", path, writer)).status_code == 403
    made = await api.http("POST", path, writer, data=body)
    assert made.status_code == 200
    block_id = made.json()["id"]
    assert (await api.http("GET", f"{path}/{block_id}", reader)).status_code == 200
    assert (await api.http("PUT", f"{path}/{block_id}", reader,
                           data={"severity": "silence"})).status_code == 403
    assert (await api.http("DELETE", f"{path}/{block_id}", user)).status_code == 403
    assert (await api.http("PUT", f"{path}/{block_id}", broad,
                           data={"severity": "silence"})).json()["severity"] == "silence"
    assert (await api.http("DELETE", f"{path}/{block_id}", broad)).status_code == 200
    assert await api.rows(InstanceDomainBlock) == []


@pytest.mark.parametrize("body", [{}, {"domain": ""}, {"domain": "not a domain"},
                                  {"domain": "a..b"}, {"domain": "example.com", "severity": "ban"},
                                  {"domain": "example.com", "reject_media": "maybe"},
                                  {"domain": "example.com", "public_comment": "x" * 1001}])
async def test_bad_input_is_refused(api: Api, body: dict[str, str]) -> None:  # noqa: F811
    _, token = await api.user("boss", scopes=ADMIN, admin=True)
    answer = await api.http("POST", "/api/v1/admin/domain_blocks", token, data=body)
    assert answer.status_code == 422 and answer.json()["error"].startswith("Validation failed")
    assert await api.rows(InstanceDomainBlock) == []


async def test_own_and_repeated_domains_are_refused(api: Api) -> None:  # noqa: F811
    _, token = await api.user("boss", scopes=ADMIN, admin=True)
    path = "/api/v1/admin/domain_blocks"
    assert (await api.http("POST", path, token, data={"domain": api.inst.domain})
            ).status_code == 422
    assert (await api.http("POST", path, token, data={"domain": "example.com"})).status_code == 200
    again = await api.http("POST", path, token, data={"domain": "EXAMPLE.com"})
    assert again.status_code == 422 and "taken" in again.json()["error"]
    made = (await api.http("GET", path, token)).json()
    bad = await api.http("PUT", f"{path}/{made[0]['id']}", token, data={"severity": "ban"})
    assert bad.status_code == 422
    assert [r.severity for r in await api.rows(InstanceDomainBlock)] == ["silence"]


async def test_a_block_covers_subdomains_at_the_inbox(api: Api) -> None:  # noqa: F811
    """Refused before the signature is checked: no key is fetched, nothing is queued."""
    _, token = await api.user("boss", scopes=ADMIN, admin=True)
    await api.http("POST", "/api/v1/admin/domain_blocks", token,
                   data={"domain": "bad.example", "severity": "suspend"})
    headers = {"Signature": 'keyId="https://x.bad.example/users/m#main-key",signature="AA=="',
               "Content-Type": "application/activity+json"}
    for actor in ("https://bad.example/users/m", "https://x.bad.example/users/m",
                  "https://bad.example:8443/users/m"):
        body = {"id": actor + "#like", "type": "Like", "actor": actor,
                "object": f"{api.base}/users/boss"}
        async with api.inst.client() as http:
            answer = await http.post("/inbox", json=body, headers=headers)
        assert answer.status_code == 403, actor
    body = {"id": "https://notbad.example/x", "type": "Like",
            "actor": "https://notbad.example/users/m", "object": f"{api.base}/users/boss"}
    async with api.inst.client() as http:
        answer = await http.post("/inbox", json=body, headers=headers)
    assert answer.status_code == 401  # not covered: on to the signature, which fails
    assert await api.rows(Job, Job.queue == "inbox") == []
