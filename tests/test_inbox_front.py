"""The inbox front door: only well-signed activities from their own actors are stored.

Two real instances run on loopback; bob on B signs with his real key, and A fetches that key
from B over HTTP to verify."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from activitypub.httpsig import sign_cavage, sign_rfc9421
from activitypub.keys import generate_rsa_keypair
from models.accounts import create_account
from models.tables import Job
from tests.instances import Instance, running_instance


@pytest.fixture
async def pair(tmp_path, new_database_url):
    async with running_instance(tmp_path / "a", await new_database_url()) as a, \
            running_instance(tmp_path / "b", await new_database_url()) as b:
        async with a.state.sessions() as session:
            await create_account(session, "alice")
            await session.commit()
        async with b.state.sessions() as session:
            bob = await create_account(session, "bob")
            mallory = await create_account(session, "mallory")
            await session.commit()
        yield a, b, {"bob": bob, "mallory": mallory}


def follow(a: Instance, b: Instance, actor: str = "bob", n: int = 1) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{b.base_url}/users/{actor}#follows/{n}",
        "type": "Follow",
        "actor": f"{b.base_url}/users/{actor}",
        "object": f"{a.base_url}/users/alice",
    }


def signed(url: str, body: bytes, key_id: str, pem: str, *, scheme: str = "cavage") -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json"}
    sign = sign_cavage if scheme == "cavage" else sign_rfc9421
    return sign("POST", url, headers, body, key_id=key_id, private_key_pem=pem)


async def jobs(inst: Instance) -> int:
    async with inst.state.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Job))).one())


async def post(inst: Instance, path: str, body: bytes, headers: dict[str, str]):
    async with inst.client() as http:
        return await http.post(path, content=body, headers=headers)


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("path", ["/users/alice/inbox", "/inbox"])
async def test_signed_follow_is_accepted_once(pair, scheme, path):
    a, b, accounts = pair
    body = json.dumps(follow(a, b)).encode()
    url = a.base_url + path
    headers = signed(url, body, f"{b.base_url}/users/bob#main-key", accounts["bob"].private_key_pem,
                     scheme=scheme)
    first = await post(a, path, body, headers)
    assert first.status_code == 202, first.text
    again = await post(a, path, body, signed(url, body, f"{b.base_url}/users/bob#main-key",
                                             accounts["bob"].private_key_pem, scheme=scheme))
    assert again.status_code == 202
    assert await jobs(a) == 1  # the same activity twice is one job


async def test_unsigned_post_is_refused(pair):
    a, b, _ = pair
    body = json.dumps(follow(a, b)).encode()
    r = await post(a, "/users/alice/inbox", body, {"Content-Type": "application/activity+json"})
    assert r.status_code == 401
    assert "signature" in r.json()["error"].lower()
    assert await jobs(a) == 0


async def test_forged_signature_is_refused(pair):
    a, b, _ = pair
    body = json.dumps(follow(a, b)).encode()
    forger_pem, _ = generate_rsa_keypair()
    headers = signed(a.base_url + "/inbox", body, f"{b.base_url}/users/bob#main-key", forger_pem)
    r = await post(a, "/inbox", body, headers)
    assert r.status_code == 401
    assert await jobs(a) == 0


async def test_tampered_body_is_refused(pair):
    a, b, accounts = pair
    body = json.dumps(follow(a, b)).encode()
    headers = signed(a.base_url + "/inbox", body, f"{b.base_url}/users/bob#main-key",
                     accounts["bob"].private_key_pem)
    r = await post(a, "/inbox", body.replace(b"Follow", b"Block"), headers)
    assert r.status_code == 401 and "digest" in r.json()["error"].lower()
    assert await jobs(a) == 0


async def test_signer_must_own_the_actor(pair):
    a, b, accounts = pair
    body = json.dumps(follow(a, b, actor="bob")).encode()
    headers = signed(a.base_url + "/inbox", body, f"{b.base_url}/users/mallory#main-key",
                     accounts["mallory"].private_key_pem)
    r = await post(a, "/inbox", body, headers)
    assert r.status_code == 401 and "not the activity's actor" in r.json()["error"]
    assert await jobs(a) == 0


async def test_unknown_key_is_refused(pair):
    a, b, accounts = pair
    body = json.dumps(follow(a, b, actor="ghost")).encode()
    headers = signed(a.base_url + "/inbox", body, f"{b.base_url}/users/ghost#main-key",
                     accounts["bob"].private_key_pem)
    r = await post(a, "/inbox", body, headers)
    assert r.status_code == 401
    assert await jobs(a) == 0


async def test_activity_id_on_another_host_is_refused(pair):
    a, b, accounts = pair
    activity = follow(a, b) | {"id": "https://elsewhere.example/follows/1"}
    body = json.dumps(activity).encode()
    headers = signed(a.base_url + "/inbox", body, f"{b.base_url}/users/bob#main-key",
                     accounts["bob"].private_key_pem)
    r = await post(a, "/inbox", body, headers)
    assert r.status_code == 400
    assert await jobs(a) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"x" * 1_000_001, "application/activity+json", 413),
        (b"{not json", "application/activity+json", 400),
        (b"[1, 2]", "application/activity+json", 400),
        (json.dumps({"type": "Follow"}).encode(), "application/activity+json", 400),
        (b'{"type": "Note", "actor": "x", "a": ' + b"[" * 100 + b"]" * 100 + b"}",
         "application/activity+json", 400),
        (b"{}", "text/plain", 415),
    ],
)
async def test_malformed_bodies_are_refused(pair, body, content_type, status):
    a, b, accounts = pair
    headers = sign_cavage("POST", a.base_url + "/inbox", {"Content-Type": content_type}, body,
                          key_id=f"{b.base_url}/users/bob#main-key",
                          private_key_pem=accounts["bob"].private_key_pem)
    r = await post(a, "/inbox", body, headers)
    assert r.status_code == status
    assert r.json()["error"]
    # unsigned, the same body is refused before it is read: 401, as Mastodon answers
    r = await post(a, "/inbox", body, {"Content-Type": content_type})
    assert r.status_code == 401
    assert "not signed" in r.json()["error"]
    assert await jobs(a) == 0


async def test_inbox_of_unknown_account_is_404(pair):
    a, b, accounts = pair
    body = json.dumps(follow(a, b)).encode()
    headers = signed(a.base_url + "/users/nobody/inbox", body, f"{b.base_url}/users/bob#main-key",
                     accounts["bob"].private_key_pem)
    r = await post(a, "/users/nobody/inbox", body, headers)
    assert r.status_code == 404
    assert await jobs(a) == 0
