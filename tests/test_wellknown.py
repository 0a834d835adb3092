"""WebFinger, host-meta and NodeInfo served by a real instance."""

from __future__ import annotations

import pytest

from models.accounts import create_account
from tests.instances import Instance, running_instance


@pytest.fixture
async def instance(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        async with inst.state.sessions() as session:
            await create_account(session, "alice", display_name="Alice")
            await session.commit()
        yield inst


async def test_webfinger_finds_local_account(instance: Instance):
    async with instance.client() as http:
        r = await http.get("/.well-known/webfinger", params={"resource": f"acct:alice@{instance.domain}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jrd+json")
    jrd = r.json()
    assert jrd["subject"] == f"acct:alice@{instance.domain}"
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link["type"] == "application/activity+json"
    assert self_link["href"] == f"{instance.base_url}/users/alice"


async def test_webfinger_is_case_insensitive_and_takes_actor_urls(instance: Instance):
    async with instance.client() as http:
        upper = await http.get("/.well-known/webfinger", params={"resource": f"acct:ALICE@{instance.domain}"})
        by_url = await http.get(
            "/.well-known/webfinger", params={"resource": f"{instance.base_url}/users/alice"}
        )
    assert upper.status_code == 200 and upper.json()["subject"] == f"acct:alice@{instance.domain}"
    assert by_url.status_code == 200


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (None, 400),
        ("", 400),
        ("acct:", 400),
        ("acct:alice", 400),
        ("mailto:alice@example.com", 400),
        ("acct:alice@elsewhere.example", 404),
        ("acct:nobody@{domain}", 404),
        ("acct:bad name!@{domain}", 400),
    ],
)
async def test_webfinger_refuses_bad_resources(instance: Instance, resource, status):
    params = {} if resource is None else {"resource": resource.format(domain=instance.domain)}
    async with instance.client() as http:
        r = await http.get("/.well-known/webfinger", params=params)
    assert r.status_code == status
    assert r.json()["error"]


async def test_instance_actor_is_discoverable(instance: Instance):
    host = instance.domain
    async with instance.client() as http:
        jrd = (await http.get("/.well-known/webfinger", params={"resource": f"acct:{host}@{host}"})).json()
        href = next(link["href"] for link in jrd["links"] if link["rel"] == "self")
        actor = (await http.get(href, headers={"Accept": "application/activity+json"})).json()
    assert actor["type"] == "Application"
    assert actor["publicKey"]["id"] == f"{instance.base_url}/actor#main-key"
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]


async def test_host_meta_points_at_webfinger(instance: Instance):
    async with instance.client() as http:
        xml = await http.get("/.well-known/host-meta")
        js = await http.get("/.well-known/host-meta.json")
    assert xml.status_code == 200 and "xrd+xml" in xml.headers["content-type"]
    assert f"{instance.base_url}/.well-known/webfinger?resource={{uri}}" in xml.text
    assert js.json()["links"][0]["template"] == f"{instance.base_url}/.well-known/webfinger?resource={{uri}}"


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_nodeinfo_counts_usage(instance: Instance, version):
    async with instance.client() as http:
        links = (await http.get("/.well-known/nodeinfo")).json()["links"]
        href = next(link["href"] for link in links if link["rel"].endswith(f"/schema/{version}"))
        r = await http.get(href)
    assert r.status_code == 200
    assert f"schema/{version}#" in r.headers["content-type"]
    doc = r.json()
    assert doc["version"] == version
    assert doc["software"]["name"] == "fediverse"
    assert doc["protocols"] == ["activitypub"]
    assert doc["usage"]["users"]["total"] == 1  # alice; never the instance actor
    assert doc["usage"]["localPosts"] == 0
    assert doc["openRegistrations"] is False


async def test_unknown_nodeinfo_version_is_404(instance: Instance):
    async with instance.client() as http:
        r = await http.get("/nodeinfo/9.9")
    assert r.status_code == 404
