"""Issue 3, between live instances: a rotated key (announced by an `Update` of the actor)
verifies the next signed POSTs and the old key no longer does; a host marked unavailable
for its failures is available again once it sends us a verified activity."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlmodel import select

from activitypub.httpsig import sign_cavage
from activitypub.keys import generate_rsa_keypair
from models.accounts import create_account
from models.tables import Account, Host, Job
from models.types import utcnow
from outbox import activities
from tests.flows_support import following, pair  # noqa: F401
from tests.instances import Instance, running_instance

AS_JSON = "application/activity+json"


async def _post(base: str, activity: dict, key_id: str, pem: str) -> httpx.Response:
    body = json.dumps(activity).encode()
    url = base + "/inbox"
    headers = sign_cavage("POST", url, {"Content-Type": AS_JSON}, body, key_id=key_id,
                          private_key_pem=pem)
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, content=body, headers=headers)


async def test_rotated_key_verifies_and_the_old_one_no_longer_does(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    await following(b, bob, a, alice)  # A has fetched and cached bob's key
    bob_on_a = await a.by_uri(b.actor("bob"))
    old_private, old_public = bob.private_key_pem, bob_on_a.public_key_pem
    assert old_public == bob.public_key_pem

    new_private, new_public = generate_rsa_keypair()
    async with b.writer() as session:  # bob's server rotates his key
        row = await session.get(Account, bob.id)
        row.private_key_pem, row.public_key_pem = new_private, new_public
        session.add(row)
        await session.commit()
    async with httpx.AsyncClient() as http:
        doc = (await http.get(b.actor("bob"), headers={"Accept": AS_JSON})).json()
    assert doc["publicKey"]["publicKeyPem"] == new_public
    key_id = doc["publicKey"]["id"]

    update = activities.update_actor(doc, utcnow())
    answer = await _post(a.base, update, key_id, new_private)
    assert answer.status_code == 202, answer.text  # the cached key failed: refetched, verified

    async def rotated() -> bool:
        found = await a.by_uri(b.actor("bob"))
        return found is not None and found.public_key_pem == new_public

    await a.eventually(rotated, what="bob's new key")
    like = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Like",
            "id": b.actor("bob") + "#likes/rotated", "actor": b.actor("bob"),
            "object": a.actor("alice")}
    stale = await _post(a.base, like | {"id": like["id"] + "-old"}, key_id, old_private)
    assert stale.status_code == 401
    fresh = await _post(a.base, like, key_id, new_private)
    assert fresh.status_code == 202, fresh.text


async def _host(inst: Instance, domain: str) -> Host | None:
    async with inst.state.sessions() as session:
        return (await session.exec(select(Host).where(Host.domain == domain))).first()


async def test_an_unavailable_host_that_sends_us_something_is_available_again(
        tmp_path, new_database_url) -> None:
    async with running_instance(tmp_path / "a", await new_database_url()) as a, \
            running_instance(tmp_path / "b", await new_database_url()) as b:
        async with a.state.sessions() as session:
            await create_account(session, "alice")
            now = utcnow()
            session.add(Host(domain=b.domain, failures=60, first_failure_at=now - timedelta(days=2),
                             unavailable_since=now - timedelta(days=1),
                             next_probe_at=now + timedelta(hours=1)))
            await session.commit()
        async with b.state.sessions() as session:
            bob = await create_account(session, "bob")
            await session.commit()
        follow = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                  "id": f"{b.base_url}/users/bob#follows/1", "actor": f"{b.base_url}/users/bob",
                  "object": f"{a.base_url}/users/alice"}
        # a forged one changes nothing
        forger, _ = generate_rsa_keypair()
        refused = await _post(a.base_url, follow, f"{b.base_url}/users/bob#main-key", forger)
        assert refused.status_code == 401
        assert (await _host(a, b.domain)).unavailable_since is not None
        answer = await _post(a.base_url, follow, f"{b.base_url}/users/bob#main-key",
                             bob.private_key_pem)
        assert answer.status_code == 202
        healthy = await _host(a, b.domain)
        assert healthy.failures == 0 and healthy.unavailable_since is None
        async with a.state.sessions() as session:
            assert len((await session.exec(select(Job))).all()) == 1
