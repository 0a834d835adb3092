"""Relayed activities: HTTP-signed by a relay on a third host, LD-signed by their actor.

Three real instances run on loopback: A receives, B is bob's home, R is the relay's. A
fetches bob's key from B and the relay's from R over HTTP, as it would from anywhere.
"""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from activitypub.httpsig import sign_cavage
from activitypub.jsonld import MASTODON_CONTEXT
from activitypub.keys import generate_rsa_keypair
from activitypub.ldsig import sign_ld
from models.accounts import create_account
from models.tables import Account, Job, Status
from tests.instances import Instance, running_instance


@pytest.fixture
async def trio(tmp_path, new_database_url):
    async with running_instance(tmp_path / "a", await new_database_url(), run_workers=True) as a, \
            running_instance(tmp_path / "b", await new_database_url()) as b, \
            running_instance(tmp_path / "r", await new_database_url()) as r:
        async with a.state.writer() as session:  # A's workers write meanwhile
            await create_account(session, "alice")
            await session.commit()
        async with b.state.sessions() as session:
            bob = await create_account(session, "bob")
            mallory = await create_account(session, "mallory")
            await session.commit()
        async with r.state.sessions() as session:
            relay = await create_account(session, "relay", bot=True)
            await session.commit()
        yield a, b, r, {"bob": bob, "mallory": mallory, "relay": relay}


def create_note(a: Instance, b: Instance, n: int = 1, *, object_host: str | None = None) -> dict:
    """bob's public post, addressed to alice on A too (so A keeps it)."""
    bob = f"{b.base_url}/users/bob"
    note_id = f"{object_host or b.base_url}/users/bob/statuses/{n}"
    return {
        "@context": MASTODON_CONTEXT,
        "id": f"{b.base_url}/users/bob/statuses/{n}/activity",
        "type": "Create",
        "actor": bob,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{a.base_url}/users/alice"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": bob,
            "content": f"<p>relayed post {n}</p>",
            "published": "2026-11-25T12:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{a.base_url}/users/alice"],
        },
    }


def ld_signed(activity: dict, b: Instance, account) -> dict:  # type: ignore[no-untyped-def]
    creator = f"{b.base_url}/users/{account.username}#main-key"
    return sign_ld(activity, creator=creator, private_key_pem=account.private_key_pem)


async def relay_post(a: Instance, r: Instance, relay, activity: dict, *, body: bytes | None = None):  # type: ignore[no-untyped-def]
    """POST `activity` to A's shared inbox, HTTP-signed by the relay actor on R."""
    body = body if body is not None else json.dumps(activity).encode()
    headers = sign_cavage("POST", a.base_url + "/inbox", {"Content-Type": "application/activity+json"},
                          body, key_id=f"{r.base_url}/users/relay#main-key",
                          private_key_pem=relay.private_key_pem)
    async with a.client() as http:
        return await http.post("/inbox", content=body, headers=headers)


async def jobs(inst: Instance) -> int:
    async with inst.state.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Job))).one())


async def stored_status(inst: Instance, uri: str) -> Status | None:
    async with inst.state.sessions() as session:
        return (await session.exec(select(Status).where(Status.uri == uri))).first()


async def wait_for_status(inst: Instance, uri: str) -> Status | None:
    for _ in range(200):  # the worker applies it in the background
        if (found := await stored_status(inst, uri)) is not None:
            return found
        await asyncio.sleep(0.05)
    return None


async def wait_until_applied(inst: Instance) -> str | None:
    """The state of A's one inbox job once the worker is through with it."""
    for _ in range(200):
        async with inst.state.sessions() as session:
            states = (await session.exec(select(Job.state))).all()
        if states and all(state in ("done", "dead") for state in states):
            return states[0] if len(states) == 1 else None
        await asyncio.sleep(0.05)
    return None


async def test_relayed_create_is_stored_and_applied(trio):
    a, b, r, accounts = trio
    activity = ld_signed(create_note(a, b), b, accounts["bob"])
    answer = await relay_post(a, r, accounts["relay"], activity)
    assert answer.status_code == 202, answer.text
    status = await wait_for_status(a, activity["object"]["id"])
    assert status is not None, "the relayed post was not applied"
    assert "relayed post 1" in status.content
    async with a.state.sessions() as session:
        author = (await session.exec(select(Account).where(Account.id == status.account_id))).one()
    assert author.uri == f"{b.base_url}/users/bob"  # bob's post, not the relay's


async def test_tampered_relayed_body_is_refused(trio):
    a, b, r, accounts = trio
    activity = ld_signed(create_note(a, b), b, accounts["bob"])
    tampered = copy.deepcopy(activity)
    tampered["object"]["content"] = "<p>words bob never wrote</p>"
    answer = await relay_post(a, r, accounts["relay"], tampered)  # a valid HTTP signature
    assert answer.status_code == 401
    assert "LD signature" in answer.json()["error"]
    assert await jobs(a) == 0
    assert await stored_status(a, activity["object"]["id"]) is None


async def test_ld_signature_by_another_actor_is_refused(trio):
    a, b, r, accounts = trio
    activity = ld_signed(create_note(a, b), b, accounts["mallory"])  # mallory signs bob's post
    answer = await relay_post(a, r, accounts["relay"], activity)
    assert answer.status_code == 401
    assert "not the actor" in answer.json()["error"]
    assert await jobs(a) == 0


async def test_ld_signature_naming_the_actor_key_but_made_with_another_is_refused(trio):
    a, b, r, accounts = trio
    forged_pem, _ = generate_rsa_keypair()
    activity = sign_ld(create_note(a, b), creator=f"{b.base_url}/users/bob#main-key",
                       private_key_pem=forged_pem)
    answer = await relay_post(a, r, accounts["relay"], activity)
    assert answer.status_code == 401
    assert "does not match" in answer.json()["error"]
    assert await jobs(a) == 0


async def test_relayed_activity_without_ld_signature_is_refused(trio):
    a, b, r, accounts = trio
    answer = await relay_post(a, r, accounts["relay"], create_note(a, b))
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert "not the activity's actor" in error and "no RsaSignature2017" in error
    assert await jobs(a) == 0


async def test_relayed_create_of_an_object_on_another_host_is_not_stored(trio):
    """The LD signature vouches for the activity, not for objects the actor does not own."""
    a, b, r, accounts = trio
    activity = ld_signed(create_note(a, b, object_host=r.base_url), b, accounts["bob"])
    answer = await relay_post(a, r, accounts["relay"], activity)
    assert answer.status_code == 202, answer.text
    assert await wait_until_applied(a) == "done"  # applied, and the object left out
    assert await stored_status(a, activity["object"]["id"]) is None
