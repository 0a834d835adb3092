"""Who may fetch what: visibility by signer, authorized-fetch mode, blocked signers.

Two real instances on loopback: alice posts on A; bob (a follower), mallory (a stranger) and
carol (mentioned) on B sign their GETs with their real keys, and A fetches those keys from B."""

from __future__ import annotations

import dataclasses

import pytest

from activitypub.httpsig import sign_cavage
from activitypub.keys import generate_rsa_keypair
from models.accounts import create_account, get_account
from models.remote import get_account_by_uri
from models.tables import Account, Block, Follow, Host, Mention
from tests.instances import Instance, running_instance
from tests.test_objects import AP, HTML, add_status

_AS_STUB = {"@context", "id", "type", "preferredUsername", "publicKey", "inbox", "endpoints"}


@pytest.fixture
async def pair(tmp_path, new_database_url):
    async with running_instance(tmp_path / "a", await new_database_url()) as a, \
            running_instance(tmp_path / "b", await new_database_url()) as b:
        async with a.state.sessions() as session:
            await create_account(session, "alice")
            await session.commit()
        signers = {}
        async with b.state.sessions() as session:
            for name in ("bob", "mallory", "carol"):
                signers[name] = await create_account(session, name)
            await session.commit()
        yield a, b, signers


def set_authorized_fetch(inst: Instance, on: bool) -> None:
    inst.state.settings = dataclasses.replace(inst.state.settings, authorized_fetch=on)


async def remote_row(a: Instance, b: Instance, name: str) -> Account:
    """B's actor as A caches it (fetched over HTTP by A's key store)."""
    await a.state.keys.lookup(f"{b.base_url}/users/{name}#main-key")
    async with a.state.sessions() as session:
        return await get_account_by_uri(session, f"{b.base_url}/users/{name}")


async def signed_get(inst: Instance, url: str, signer: Account | None, origin: Instance | None = None,
                     *, pem: str | None = None, headers: dict[str, str] = AP):
    if signer is not None:
        key_id = f"{origin.base_url}/users/{signer.username}#main-key"
        headers = sign_cavage("GET", url, dict(headers), None, key_id=key_id,
                              private_key_pem=pem or signer.private_key_pem)
    async with inst.client() as http:
        return await http.get(url, headers=headers)


async def test_visibility_by_signer(pair):
    a, b, signers = pair
    bob, carol = await remote_row(a, b, "bob"), await remote_row(a, b, "carol")
    statuses = {v: await add_status(a, "alice", content=f"<p>{v} post</p>", visibility=v)
                for v in ("public", "unlisted", "private", "direct")}
    async with a.state.sessions() as session:
        alice = await get_account(session, "alice")
        session.add(Follow(account_id=bob.id, target_account_id=alice.id, state="accepted"))
        session.add(Mention(status_id=statuses["direct"].id, account_id=carol.id))
        await session.commit()
    expected = {  # visibility: (unsigned, bob the follower, mallory the stranger, carol mentioned)
        "public": (200, 200, 200, 200),
        "unlisted": (200, 200, 200, 200),
        "private": (404, 200, 404, 404),
        "direct": (404, 404, 404, 200),
    }
    for visibility, codes in expected.items():
        status = statuses[visibility]
        for signer, code in zip((None, "bob", "mallory", "carol"), codes, strict=True):
            for url in (status.uri, status.uri + "/activity", status.uri + "/replies"):
                r = await signed_get(a, url, signers.get(signer), b)
                assert r.status_code == code, (visibility, signer, url, r.text)
            if code == 200:
                assert r.json()["id"] == status.uri + "/replies"
    note = (await signed_get(a, statuses["private"].uri, signers["bob"], b)).json()
    assert note["content"] == "<p>private post</p>"


async def test_pending_follower_cannot_read_followers_only(pair):
    a, b, signers = pair
    bob = await remote_row(a, b, "bob")
    status = await add_status(a, "alice", content="<p>p</p>", visibility="private")
    async with a.state.sessions() as session:
        alice = await get_account(session, "alice")
        session.add(Follow(account_id=bob.id, target_account_id=alice.id, state="pending"))
        await session.commit()
    assert (await signed_get(a, status.uri, signers["bob"], b)).status_code == 404


async def test_authorized_fetch_off_serves_everything_public_unsigned(pair):
    a, _, _ = pair
    status = await add_status(a, "alice", content="<p>hi</p>")
    for url in (f"{a.base_url}/users/alice", f"{a.base_url}/users/alice/outbox", status.uri,
                f"{a.base_url}/users/alice/followers", f"{a.base_url}/users/alice/collections/featured"):
        assert (await signed_get(a, url, None)).status_code == 200, url
    actor = (await signed_get(a, f"{a.base_url}/users/alice", None)).json()
    assert "outbox" in actor and "followers" in actor


async def test_authorized_fetch_requires_signatures(pair):
    a, b, signers = pair
    set_authorized_fetch(a, True)
    status = await add_status(a, "alice", content="<p>hi</p>")
    protected = [status.uri, status.uri + "/activity", status.uri + "/replies",
                 *(f"{a.base_url}/users/alice/{p}" for p in
                   ("outbox", "followers", "following", "collections/featured", "collections/tags"))]
    for url in protected:
        r = await signed_get(a, url, None)
        assert r.status_code == 401, url
        assert "signed" in r.json()["error"]
        assert (await signed_get(a, url, signers["bob"], b)).status_code == 200, url
    stub = (await signed_get(a, f"{a.base_url}/users/alice", None)).json()
    assert set(stub) == _AS_STUB and stub["publicKey"]["publicKeyPem"].startswith("-----BEGIN")
    full = (await signed_get(a, f"{a.base_url}/users/alice", signers["bob"], b)).json()
    assert "outbox" in full and full["preferredUsername"] == "alice"
    for open_url in (f"{a.base_url}/actor", f"{a.base_url}/.well-known/nodeinfo",
                     f"{a.base_url}/.well-known/webfinger?resource=acct:alice@{a.domain}"):
        assert (await signed_get(a, open_url, None)).status_code == 200, open_url
    page = await signed_get(a, status.uri, None, headers=HTML)  # browsers still get the page
    assert page.status_code == 200 and "<p>hi</p>" in page.text


async def test_forged_signature_is_refused_in_authorized_fetch(pair):
    a, b, signers = pair
    set_authorized_fetch(a, True)
    status = await add_status(a, "alice", content="<p>hi</p>")
    forged, _ = generate_rsa_keypair()
    r = await signed_get(a, status.uri, signers["bob"], b, pem=forged)
    assert r.status_code == 401 and "signature refused" in r.json()["error"]


async def test_both_sides_in_authorized_fetch(pair):
    """A must fetch bob's key from B, which itself only answers signed fetches."""
    a, b, signers = pair
    set_authorized_fetch(a, True)
    set_authorized_fetch(b, True)
    bob = await remote_row(a, b, "bob")
    status = await add_status(a, "alice", content="<p>for followers</p>", visibility="private")
    async with a.state.sessions() as session:
        alice = await get_account(session, "alice")
        session.add(Follow(account_id=bob.id, target_account_id=alice.id, state="accepted"))
        await session.commit()
    r = await signed_get(a, status.uri, signers["bob"], b)
    assert r.status_code == 200 and r.json()["content"] == "<p>for followers</p>"


async def test_blocked_domain_gets_403(pair):
    a, b, signers = pair
    status = await add_status(a, "alice", content="<p>hi</p>")
    async with a.state.sessions() as session:
        session.add(Host(domain=b.domain, blocked=True))
        await session.commit()
    for url in (status.uri, f"{a.base_url}/users/alice", f"{a.base_url}/users/alice/outbox"):
        assert (await signed_get(a, url, signers["bob"], b)).status_code == 403, url
    assert (await signed_get(a, status.uri, None)).status_code == 200  # unsigned: anyone


async def test_actor_blocked_by_author_gets_404(pair):
    a, b, signers = pair
    mallory = await remote_row(a, b, "mallory")
    status = await add_status(a, "alice", content="<p>hi</p>")
    async with a.state.sessions() as session:
        alice = await get_account(session, "alice")
        session.add(Block(account_id=alice.id, target_account_id=mallory.id))
        await session.commit()
    for url in (status.uri, f"{a.base_url}/users/alice", f"{a.base_url}/users/alice/followers"):
        assert (await signed_get(a, url, signers["mallory"], b)).status_code == 404, url
        assert (await signed_get(a, url, signers["bob"], b)).status_code == 200, url
