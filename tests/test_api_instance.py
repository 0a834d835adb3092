"""The instance entities as Mastodon.py reads them, the thumbnail and icon, peers, activity,
and the small start-up endpoints: preferences, markers, and the lists kept empty."""

from __future__ import annotations

import asyncio
import io
import warnings
from datetime import UTC, datetime

import httpx
import pytest
from mastodon import Mastodon
from PIL import Image
from sqlmodel import func, select

from models.accounts import create_account
from models.tables import Account, Marker, Status
from models.tokens import create_token
from tests.instances import Instance, running_instance


@pytest.fixture
async def inst(tmp_path, database_url):
    async with running_instance(tmp_path / "data", database_url) as instance:
        yield instance


async def person(inst: Instance, username: str = "alice", *, scopes: str = "read write",
                 admin: bool = False) -> tuple[Account, str]:
    async with inst.state.sessions() as session:
        account = await create_account(session, username, admin=admin)
        token = await create_token(session, account, scopes)
        await session.commit()
    return account, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_mastodon_py_reads_the_instance_and_version(inst: Instance) -> None:
    await person(inst, "admin1", admin=True)
    api = Mastodon(api_base_url=inst.base_url)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        version = await asyncio.to_thread(api.retrieve_mastodon_version)
    assert not [w for w in seen if "API version" in str(w.message)]  # api_versions is read
    assert version == "4.3.0" and api.mastodon_api_version == 2
    info = await asyncio.to_thread(api.instance)
    assert info.domain == inst.domain
    assert info.version == "4.3.0 (compatible; fediverse 0.1.0)"
    config = info.configuration
    assert config.statuses.max_characters == 500
    assert config.statuses.max_media_attachments == 4
    media = config.media_attachments
    assert {"image/jpeg", "image/png", "image/gif", "image/webp"} <= set(media.supported_mime_types)
    assert media.image_size_limit == 16 * 1024 * 1024
    assert media.image_matrix_limit == 33177600
    assert info.contact.account.username == "admin1"
    assert info.usage.users.active_month == 0
    assert info.configuration.urls.streaming == "ws://" + inst.domain
    v1 = await asyncio.to_thread(api.instance_v1)
    assert v1.uri == inst.domain and v1.stats.user_count == 1
    assert v1.configuration.statuses.max_characters == 500
    assert v1.contact_account.username == "admin1"


async def test_thumbnail_and_icons_are_real_images(inst: Instance) -> None:
    async with inst.client() as client:
        info = (await client.get("/api/v2/instance")).json()
        v1 = (await client.get("/api/v1/instance")).json()
        urls = [info["thumbnail"]["url"], v1["thumbnail"]]
        urls += [icon["src"] for icon in info["icon"]]
        for url in urls:
            answer = await client.get(url)
            assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
            image = Image.open(io.BytesIO(answer.content))
            assert image.format == "PNG" and image.width > 0
        square = Image.open(io.BytesIO((await client.get(info["icon"][0]["src"])).content))
    assert f"{square.width}x{square.height}" == info["icon"][0]["size"]
    assert info["thumbnail"]["blurhash"]


@pytest.mark.parametrize("path", ["/api/v1/instance/", "/api/v2/instance/"])
async def test_trailing_slash(inst: Instance, path: str) -> None:
    async with inst.client() as client:
        answer = await client.get(path)
    assert answer.status_code == 200 and answer.json()["version"].startswith("4.3.0")


async def test_an_empty_instance_has_no_contact(inst: Instance) -> None:
    async with inst.client() as client:
        v2 = (await client.get("/api/v2/instance")).json()
        v1 = (await client.get("/api/v1/instance")).json()
    assert v2["contact"] == {"email": "", "account": None} and v1["contact_account"] is None
    assert v2["rules"] == [] and v2["api_versions"] == {"mastodon": 2}
    assert v2["registrations"]["enabled"] is False and v1["registrations"] is False


async def test_peers_and_stats_count_remote_domains(inst: Instance) -> None:
    async with inst.state.sessions() as session:
        for n, domain in enumerate(["b.example", "a.example", "b.example"]):
            session.add(Account(kind="remote", username=f"u{n}", domain=domain,
                                uri=f"https://{domain}/users/u{n}"))
        await session.commit()
    async with inst.client() as client:
        peers = (await client.get("/api/v1/instance/peers")).json()
        v1 = (await client.get("/api/v1/instance")).json()
    assert peers == ["a.example", "b.example"]
    assert v1["stats"]["domain_count"] == 2 and v1["stats"]["user_count"] == 0


async def test_activity_has_twelve_weeks_newest_first(inst: Instance) -> None:
    alice, _ = await person(inst)
    async with inst.state.sessions() as session:
        session.add(Status(uri="https://x/s/1", account_id=alice.id, local=True))
        await session.commit()
    async with inst.client() as client:
        weeks = (await client.get("/api/v1/instance/activity")).json()
    assert len(weeks) == 12
    starts = [int(w["week"]) for w in weeks]
    assert starts == sorted(starts, reverse=True)
    assert all(datetime.fromtimestamp(s, UTC).weekday() == 0 for s in starts)
    assert weeks[0] == {"week": weeks[0]["week"], "statuses": "1", "logins": "1",
                        "registrations": "1"}
    assert all(w["statuses"] == "0" for w in weeks[1:])


@pytest.mark.parametrize("path", ["/api/v1/custom_emojis", "/api/v1/trends",
                                  "/api/v1/trends/tags", "/api/v1/trends/statuses",
                                  "/api/v1/trends/links", "/api/v1/instance/rules"])
async def test_public_lists_are_empty(inst: Instance, path: str) -> None:
    async with inst.client() as client:
        answer = await client.get(path)
        bad_token = await client.get(path, headers=bearer("nope"))
    assert answer.status_code == 200 and answer.json() == []
    assert bad_token.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/announcements", "/api/v1/lists",
                                  "/api/v1/followed_tags"])
async def test_signed_in_lists_are_empty(inst: Instance, path: str) -> None:
    _, token = await person(inst)
    _, push_only = await person(inst, "bob", scopes="push")
    async with inst.client() as client:
        answer = await client.get(path, headers=bearer(token))
        anonymous = await client.get(path)
        wrong_scope = await client.get(path, headers=bearer(push_only))
    assert answer.status_code == 200 and answer.json() == []
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert wrong_scope.status_code == 403


async def test_preferences(inst: Instance) -> None:
    alice, token = await person(inst)
    async with inst.state.sessions() as session:
        row = await session.get(Account, alice.id)
        row.default_privacy, row.default_sensitive = "unlisted", True
        await session.commit()
    async with inst.client() as client:
        answer = await client.get("/api/v1/preferences", headers=bearer(token))
        anonymous = await client.get("/api/v1/preferences")
    assert answer.json() == {
        "posting:default:visibility": "unlisted", "posting:default:sensitive": True,
        "posting:default:language": None, "reading:expand:media": "default",
        "reading:expand:spoilers": False}
    assert anonymous.status_code == 401


async def markers(inst: Instance) -> int:
    async with inst.state.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Marker))).one())


async def test_markers_are_saved_and_counted(inst: Instance) -> None:
    _, token = await person(inst)
    _, other = await person(inst, "bob")
    async with inst.client() as client:
        first = await client.post("/api/v1/markers", headers=bearer(token), data={
            "home[last_read_id]": "103", "notifications[last_read_id]": "7"})
        moved = await client.post("/api/v1/markers", headers=bearer(token),
                                  json={"home": {"last_read_id": "110"}})
        both = await client.get("/api/v1/markers", headers=bearer(token),
                                params=[("timeline[]", "home"), ("timeline[]", "notifications")])
        home = await client.get("/api/v1/markers", headers=bearer(token),
                                params={"timeline[]": "home"})
        bobs = await client.get("/api/v1/markers", headers=bearer(other))
    assert first.status_code == 200
    assert first.json()["home"]["last_read_id"] == "103" and first.json()["home"]["version"] == 0
    assert moved.json()["home"] == {"last_read_id": "110", "version": 1,
                                    "updated_at": moved.json()["home"]["updated_at"]}
    assert moved.json()["home"]["updated_at"].endswith("Z")
    assert set(both.json()) == {"home", "notifications"}
    assert both.json()["notifications"]["last_read_id"] == "7"
    assert set(home.json()) == {"home"} and home.json()["home"]["version"] == 1
    assert bobs.json() == {}


async def test_bad_markers_are_refused_and_store_nothing(inst: Instance) -> None:
    _, token = await person(inst)
    _, reader = await person(inst, "bob", scopes="read")
    async with inst.client() as client:
        bad = await client.post("/api/v1/markers", headers=bearer(token),
                                data={"home[last_read_id]": "abc"})
        anonymous = await client.post("/api/v1/markers", data={"home[last_read_id]": "1"})
        read_only = await client.post("/api/v1/markers", headers=bearer(reader),
                                      data={"home[last_read_id]": "1"})
    assert bad.status_code == 422 and "error" in bad.json()
    assert anonymous.status_code == 401 and read_only.status_code == 403
    assert await markers(inst) == 0


async def test_app_tokens_cannot_read_preferences(inst: Instance) -> None:
    async with inst.state.sessions() as session:
        token = await create_token(session, None, "read")
        await session.commit()
    async with httpx.AsyncClient(base_url=inst.base_url) as client:
        answer = await client.get("/api/v1/preferences", headers=bearer(token))
    assert answer.status_code == 401
