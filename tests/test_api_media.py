"""Media uploads over the client API, driven by Mastodon.py and httpx against a running server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon import Mastodon
from PIL import Image
from sqlmodel import select

from fediverse.media.processing import MAX_BYTES
from fediverse.media.uploads import wait_for_processing
from models.accounts import create_account
from models.tables import Account, MediaAttachment
from models.tokens import create_token
from outbox.actions import post_status
from tests.instances import Instance, running_instance
from tests.media_samples import has_metadata, image_bytes, phone_photo, png_declaring


@dataclass
class Site:
    inst: Instance
    alice: Account
    tokens: dict[str, str]  # alice (read write), bob (read write), reader (alice, read only)

    def client(self, who: str | None = "alice") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.AsyncClient(base_url=self.inst.base_url, headers=headers, timeout=30)

    def mastodon(self, who: str = "alice") -> Mastodon:
        return Mastodon(access_token=self.tokens[who], api_base_url=self.inst.base_url,
                        mastodon_version="4.3.0")

    async def rows(self) -> list[MediaAttachment]:
        async with self.inst.state.sessions() as session:
            return list((await session.exec(select(MediaAttachment))).all())

    def files(self) -> list[Path]:
        return [p for p in self.inst.settings.media_dir.rglob("*") if p.is_file()]


@pytest.fixture
async def site(tmp_path: Path, database_url: str) -> AsyncIterator[Site]:
    async with running_instance(tmp_path / "site", database_url) as inst:
        async with inst.state.sessions() as session:
            alice = await create_account(session, "alice")
            bob = await create_account(session, "bob")
            tokens = {"alice": await create_token(session, alice, "read write"),
                      "bob": await create_token(session, bob, "read write"),
                      "reader": await create_token(session, alice, "read")}
            await session.commit()
        yield Site(inst, alice, tokens)
        await wait_for_processing()


def upload(data: bytes, name: str = "photo.jpg", mime: str = "image/jpeg",
           **fields: str) -> dict[str, Any]:
    return {"files": {"file": (name, data, mime)}, "data": fields}


async def test_mastodon_py_uploads_a_phone_photo_without_its_location(site: Site) -> None:
    api = site.mastodon()
    media = await asyncio.to_thread(api.media_post, phone_photo((80, 40)), mime_type="image/jpeg",
                                    description="a lake at dusk", focus=(0.5, -0.25))
    assert media.type == "image" and media.url and media.preview_url
    assert media.description == "a lake at dusk"
    assert media.meta.original.width == 40 and media.meta.original.height == 80  # upright
    assert media.meta.small.size == "40x80"
    assert media.meta.focus.x == 0.5 and media.meta.focus.y == -0.25
    assert media.blurhash
    async with site.client(None) as anonymous:
        stored = (await anonymous.get(media.url)).content
        thumbnail = await anonymous.get(media.preview_url)
    assert Image.open(io.BytesIO(stored)).format == "JPEG" and not has_metadata(stored)
    assert thumbnail.status_code == 200 and not has_metadata(thumbnail.content)

    updated = await asyncio.to_thread(api.media_update, media, description="the lake",
                                      focus=(-1.0, 1.0))
    assert updated.description == "the lake" and updated.meta.focus == {"x": -1.0, "y": 1.0}
    again = await asyncio.to_thread(api.media, media)
    assert again.description == "the lake" and again.url == media.url
    (row,) = await site.rows()
    assert (row.state, row.mime_type, row.width, row.height) == ("ready", "image/jpeg", 40, 80)
    assert row.account_id == site.alice.id and row.blurhash == media.blurhash
    assert (row.focus_x, row.focus_y) == (-1.0, 1.0) and row.status_id is None
    assert {site.inst.settings.media_dir / p for p in (row.file_path, row.thumbnail_path)
            if p} == set(site.files())


async def test_v1_answers_once_processed_and_v2_small_images_at_once(site: Site) -> None:
    async with site.client() as client:
        v1 = await client.post("/api/v1/media", **upload(image_bytes("PNG", (3000, 2000)),
                                                         "big.png", "image/png"))
        v2 = await client.post("/api/v2/media", **upload(image_bytes("WEBP", (30, 20)),
                                                         "small.webp", "image/webp"))
    assert v1.status_code == 200 and v1.json()["url"].endswith(".png")
    assert v1.json()["meta"]["original"]["size"] == "3000x2000"
    assert v1.json()["meta"]["small"]["size"] == "640x427"
    assert v2.status_code == 200 and v2.json()["url"].endswith(".webp")


async def test_v2_answers_202_for_a_large_image_until_it_is_ready(site: Site) -> None:
    async with site.client() as client:
        answer = await client.post("/api/v2/media", **upload(
            image_bytes("JPEG", (3000, 2000), colour=(40, 80, 120)), description="wide"))
        assert answer.status_code == 202
        accepted = answer.json()
        assert accepted["url"] is None and accepted["description"] == "wide"
        for _ in range(200):
            shown = await client.get(f"/api/v1/media/{accepted['id']}")
            if shown.status_code == 200:
                break
            assert shown.status_code == 206 and shown.json()["url"] is None
            await asyncio.sleep(0.05)
    assert shown.status_code == 200
    ready = shown.json()
    assert ready["url"] and ready["blurhash"] and ready["meta"]["original"]["size"] == "3000x2000"
    assert len(site.files()) == 2


async def test_processing_media_answers_206_and_failed_media_422(site: Site) -> None:
    async with site.inst.state.sessions() as session:  # as an image generation leaves it
        row = MediaAttachment(account_id=site.alice.id, state="processing")
        session.add(row)
        await session.commit()
    async with site.client() as client:
        shown = await client.get(f"/api/v1/media/{row.id}")
        assert shown.status_code == 206 and shown.json()["url"] is None
        changed = await client.put(f"/api/v1/media/{row.id}", json={"description": "later"})
        assert changed.status_code == 206 and changed.json()["description"] == "later"
        async with site.inst.state.sessions() as session:
            stored = await session.get(MediaAttachment, row.id)
            assert stored is not None
            stored.state = "failed"
            await session.commit()
        failed = await client.get(f"/api/v1/media/{row.id}")
    assert failed.status_code == 422 and failed.json() == {
        "error": "Error processing thumbnail for uploaded media"}


REFUSED = {
    "text-renamed-png": upload(b"just some text, honestly\n" * 20, "cat.png", "image/png"),
    "decompression-bomb": upload(png_declaring(50_000, 50_000), "bomb.png", "image/png"),
    "too-many-pixels": upload(png_declaring(8000, 5000), "huge.png", "image/png"),
    "bmp": upload(image_bytes("BMP", (8, 8)), "old.bmp", "image/bmp"),
    "truncated": upload(image_bytes("JPEG", (300, 300), quality=100)[:900]),
    "empty": upload(b""),
    "no-file": {"data": {"description": "nothing"}},
    "bad-focus": upload(image_bytes("JPEG"), focus="3,0"),
    "long-description": upload(image_bytes("JPEG"), description="x" * 1501),
}


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_refused_uploads_answer_422_and_store_nothing(site: Site, version: str) -> None:
    async with site.client() as client:
        for name, request in REFUSED.items():
            answer = await client.post(f"/api/{version}/media", **request)
            assert answer.status_code == 422, name
            assert set(answer.json()) == {"error"} and answer.json()["error"], name
    assert await site.rows() == [] and site.files() == []


async def test_files_over_16_mb_are_refused(site: Site) -> None:
    png = image_bytes("PNG", (8, 8))
    exactly_over = png + b"\x00" * (MAX_BYTES + 1 - len(png))
    far_over = b"\xff\xd8" + b"\x00" * (MAX_BYTES + 4 * 2**20)
    async with site.client() as client:
        for data in (exactly_over, far_over):
            answer = await client.post("/api/v2/media", **upload(data, "big.png", "image/png"))
            assert answer.status_code == 422
            assert "16 MB" in answer.json()["error"]
    assert await site.rows() == [] and site.files() == []


async def test_tokens_scopes_and_owners(site: Site) -> None:
    photo = upload(image_bytes("JPEG"))
    async with site.client(None) as anonymous, site.client("reader") as reader:
        assert (await anonymous.post("/api/v2/media", **photo)).status_code == 401
        assert (await reader.post("/api/v2/media", **photo)).status_code == 403
        assert (await reader.post("/api/v1/media", **photo)).status_code == 403
        invalid = await anonymous.post("/api/v1/media", headers={"Authorization": "Bearer nope"},
                                       **photo)
        assert invalid.status_code == 401 and "error" in invalid.json()
    assert await site.rows() == [] and site.files() == []
    async with site.client() as alice, site.client("bob") as bob, \
            site.client("reader") as reader:
        media_id = (await alice.post("/api/v2/media", **photo)).json()["id"]
        for method in ("GET", "PUT", "DELETE"):
            other = await bob.request(method, f"/api/v1/media/{media_id}")
            assert other.status_code == 404 and other.json() == {"error": "Record not found"}
        assert (await reader.get(f"/api/v1/media/{media_id}")).status_code == 403
        for missing in ("1", "abc", "99999999999999999999999"):
            assert (await alice.get(f"/api/v1/media/{missing}")).status_code == 404
        bad = await alice.put(f"/api/v1/media/{media_id}", data={"focus": "left"})
        assert bad.status_code == 422
    (row,) = await site.rows()
    assert (row.focus_x, row.focus_y) == (0.0, 0.0)


async def test_attached_media_is_the_statuss_and_unattached_media_can_be_deleted(
        site: Site) -> None:
    async with site.client() as client:
        kept = (await client.post("/api/v2/media", **upload(image_bytes("JPEG")))).json()
        dropped = (await client.post("/api/v2/media", **upload(image_bytes("PNG"),
                                                                "a.png", "image/png"))).json()
        async with site.inst.state.sessions() as session:
            row = await session.get(MediaAttachment, int(kept["id"]))
            author = await session.get(Account, site.alice.id)
            assert row is not None and author is not None
            status = await post_status(site.inst.state.federation, session, author,
                                       text="look", media=[row])
            await session.commit()
        assert (await client.get(f"/api/v1/media/{kept['id']}")).status_code == 404
        assert (await client.put(f"/api/v1/media/{kept['id']}",
                                 data={"description": "no"})).status_code == 404
        in_use = await client.delete(f"/api/v1/media/{kept['id']}")
        assert in_use.status_code == 422
        gone = await client.delete(f"/api/v1/media/{dropped['id']}")
        assert gone.status_code == 200 and gone.json() == {}
        assert (await client.get(f"/api/v1/media/{dropped['id']}")).status_code == 404
    (row,) = await site.rows()
    assert row.status_id == status.id and row.description == ""
    assert len(site.files()) == 2
