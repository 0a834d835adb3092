"""Remote posts' images are copied to this server (`fediverse.media.remote`), as Mastodon
caches remote media: apps load them from us, with a thumbnail and a blurhash even where the
sender gave none, re-encoded without metadata; what cannot be copied (not a still image, too
many pixels, gone) stays a link to the sender's file, and is asked for once.

A stand-in for another server serves an actor with a key, and images; its post is signed
with our own signer (verification is tested elsewhere) and read back with Mastodon.py."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.errors import BadResponse, FetchTimeout, TooLarge
from activitypub.httpsig import sign_cavage
from activitypub.keys import generate_rsa_keypair
from fediverse.media.remote import _worth_retrying, copy_remote_media
from models.tables import Job, MediaAttachment, Status
from tests.inbox_support import AS_JSON, actor_doc, jobs_settled
from tests.instances import free_port, running_instance, serving
from tests.test_api_accounts_support import Api

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def _jpeg_with_gps(size: tuple[int, int]) -> bytes:
    image = Image.new("RGB", size, (30, 90, 200))
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: a latitude
    exif[0x010F] = "CameraMaker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _png(size: tuple[int, int], colour: tuple[int, int, int] = (10, 200, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _animated_gif() -> bytes:
    frames = [Image.new("P", (20, 20), i) for i in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def _huge_png() -> bytes:
    """A small file that declares more pixels than an upload may have."""
    data = bytearray(_png((8, 8)))
    data[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")  # IHDR width, height
    return bytes(data)


@dataclass
class Sender:
    """Another server: an actor, its images (path -> (status, content type, body)), and
    the paths asked for."""

    port: int
    private_pem: str
    public_pem: str
    files: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)  # more of the actor document

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor(self) -> str:
        return self.base + "/users/ann"

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.hits.append(path)
        if path == "/users/ann":
            doc = actor_doc(self.actor, **self.profile)
            doc["publicKey"]["publicKeyPem"] = self.public_pem
            return Response(json.dumps(doc), media_type=AS_JSON)
        status, kind, body = self.files.get(path, (404, "text/plain", b""))
        return Response(body, status_code=status, media_type=kind)

    def attachment(self, path: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": "Document", "mediaType": kind, "url": self.base + path, **extra}


@dataclass
class World:
    api: Api
    sender: Sender

    async def deliver(self, activity: dict[str, Any]) -> None:
        body = json.dumps(activity).encode()
        headers = sign_cavage("POST", self.api.base + "/inbox",
                              {"Content-Type": "application/activity+json"}, body,
                              key_id=self.sender.actor + "#main-key",
                              private_key_pem=self.sender.private_pem)
        async with self.api.inst.client() as http:
            answer = await http.post("/inbox", content=body, headers=headers)
        assert answer.status_code == 202, answer.text

    async def post(self, number: int, attachments: list[dict[str, Any]], *,
                   copy_retried: bool = False) -> dict[str, Any]:
        """Deliver a public Note with `attachments`, mentioning a new local reader, wait for it to be applied and for its
        images to be copied (or not), and give the status as Mastodon.py reads it."""
        reader, token = await self.api.user(f"reader{number}")
        reader_uri = f"{self.api.base}/users/{reader.username}"
        note = {"id": f"{self.sender.actor}/statuses/{number}", "type": "Note",
                "attributedTo": self.sender.actor, "to": [PUBLIC], "cc": [reader_uri],
                "content": f"<p>pictures for @{reader.username} {number}</p>",
                "tag": [{"type": "Mention", "href": reader_uri}],
                "published": "2026-11-26T10:00:00Z", "attachment": attachments}
        activity = {"@context": "https://www.w3.org/ns/activitystreams",
                    "id": note["id"] + "/activity", "type": "Create", "actor": self.sender.actor,
                    "to": [PUBLIC], "object": note}
        await self.deliver(activity)
        if copy_retried:  # the copy failed once and waits for its next try
            deadline = time.monotonic() + 10
            while not await self.api.rows(Job, Job.queue == "media", Job.attempts == 1,
                                          Job.state == "queued"):
                assert time.monotonic() < deadline, "the copy was not tried"
                await asyncio.sleep(0.05)
        else:
            await jobs_settled(self.api)
        [row] = await self.api.rows(Status, Status.uri == note["id"])
        return await self.api.call(self.api.mastodon(token).status, row.id)


@pytest.fixture
async def world(request, tmp_path, database_url) -> AsyncIterator[World]:
    """A stand-in server and our instance; a test marked `settings(...)` sets more of its
    settings."""
    private_pem, public_pem = generate_rsa_keypair()
    sender = Sender(free_port(), private_pem, public_pem)
    app = Starlette(routes=[Route("/{path:path}", sender.handle)])
    marker = request.node.get_closest_marker("settings")
    options = marker.kwargs if marker else {}
    async with serving(app, sender.port), \
            running_instance(tmp_path / "us", database_url, run_workers=True,
                             **options) as inst:
        yield World(Api(inst), sender)


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def test_a_remote_image_is_copied_here_without_its_metadata(world) -> None:
    photo = _jpeg_with_gps((800, 600))
    world.sender.files["/media/photo.jpg"] = (200, "image/jpeg", photo)
    status = await world.post(1, [world.sender.attachment(
        "/media/photo.jpg", "image/jpeg", name="a blue square")])  # no blurhash, no size

    [media] = status["media_attachments"]
    ours = world.api.base + "/media/"
    assert media["url"].startswith(ours) and media["preview_url"].startswith(ours)
    assert media["preview_url"] != media["url"]  # a thumbnail of its own
    assert media["remote_url"] == world.sender.base + "/media/photo.jpg"
    assert media["blurhash"] and media["description"] == "a blue square"
    assert media["meta"]["original"]["width"] == 800
    assert media["meta"]["original"]["height"] == 600
    assert max(media["meta"]["small"]["width"], media["meta"]["small"]["height"]) == 640
    copy = await _get(media["url"])
    assert copy.status_code == 200 and copy.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(copy.content))
    assert image.size == (800, 600) and not image.getexif()  # no GPS, no camera
    thumbnail = Image.open(io.BytesIO((await _get(media["preview_url"])).content))
    assert thumbnail.size == (640, 480)
    assert world.sender.hits.count("/media/photo.jpg") == 1


async def test_what_cannot_be_copied_stays_a_link_and_is_asked_for_once(world) -> None:
    files = {"/media/anim.gif": (200, "image/gif", _animated_gif()),
             "/media/huge.png": (200, "image/png", _huge_png()),
             "/media/broken.png": (200, "image/png", b"\x89PNG\r\n\x1a\nnot a png")}
    world.sender.files.update(files)
    paths = [*files, "/media/missing.png"]  # four: as many as a post keeps
    kinds = {p: kind for p, (_, kind, _) in files.items()}
    status = await world.post(2, [world.sender.attachment(p, kinds.get(p, "image/png"))
                                  for p in paths])

    assert [m["url"] for m in status["media_attachments"]] == [
        world.sender.base + p for p in paths]
    assert all(m["remote_url"] == m["url"] for m in status["media_attachments"])
    rows = await world.api.rows(MediaAttachment, MediaAttachment.file_path.is_not(None))
    assert rows == []
    # one try each: a lasting refusal is not retried, and the job is done
    for path in ("/media/huge.png", "/media/broken.png", "/media/missing.png"):
        assert world.sender.hits.count(path) == 1, path
    assert "/media/anim.gif" not in world.sender.hits  # declared a GIF: not asked for
    [job] = await world.api.rows(Job, Job.queue == "media")
    assert (job.state, job.attempts) == ("done", 1)


async def test_a_server_error_is_retried_until_the_last_try(world) -> None:
    world.sender.files["/media/later.png"] = (503, "text/plain", b"busy")
    status = await world.post(3, [world.sender.attachment("/media/later.png", "image/png")],
                              copy_retried=True)
    status_id = int(status["id"])
    [job] = await world.api.rows(Job, Job.queue == "media")
    assert job.state == "queued" and job.attempts == 1 and job.last_error  # to run again
    assert status["media_attachments"][0]["url"] == world.sender.base + "/media/later.png"

    # run again by hand (the queue would, a minute later): still failing, not the last try
    state = world.api.inst.state
    with pytest.raises(BadResponse):
        await copy_remote_media(state, status_id, last_try=False)
    # the last try gives up quietly: the image stays linked
    await copy_remote_media(state, status_id, last_try=True)
    [row] = await world.api.rows(MediaAttachment, MediaAttachment.status_id == status_id)
    assert row.file_path is None
    # once the server answers, the image is copied; a second run copies nothing again
    world.sender.files["/media/later.png"] = (200, "image/png", _png((32, 16)))
    await copy_remote_media(state, status_id, last_try=False)
    await copy_remote_media(state, status_id, last_try=False)
    [row] = await world.api.rows(MediaAttachment, MediaAttachment.status_id == status_id)
    assert row.file_path and (row.width, row.height) == (32, 16) and row.blurhash
    assert world.sender.hits.count("/media/later.png") == 4  # the second run asked nothing
    served = Image.open(io.BytesIO((await _get(f"{world.api.base}/media/{row.file_path}")).content))
    assert served.size == (32, 16)


async def test_a_remote_avatar_and_header_are_copied_and_follow_their_changes(world) -> None:
    sender = world.sender
    sender.files["/avatars/1.png"] = (200, "image/png", _png((800, 800)))
    sender.files["/headers/1.jpg"] = (200, "image/jpeg", _jpeg_with_gps((3000, 1000)))
    sender.profile = {"icon": {"type": "Image", "url": sender.base + "/avatars/1.png"},
                      "image": {"type": "Image", "url": sender.base + "/headers/1.jpg"}}
    status = await world.post(4, [])  # the first contact: our side fetches the actor
    account = status["account"]
    ours = world.api.base + "/media/"
    assert account["avatar"].startswith(ours) and account["header"].startswith(ours)
    assert account["avatar_static"] == account["avatar"]
    avatar = Image.open(io.BytesIO((await _get(account["avatar"])).content))
    header = Image.open(io.BytesIO((await _get(account["header"])).content))
    assert (avatar.format, avatar.size) == ("PNG", (400, 400))
    assert (header.format, header.size) == ("JPEG", (1500, 500)) and not header.getexif()

    # a new avatar (an animated GIF: not copied) and the same header
    sender.files["/avatars/2.gif"] = (200, "image/gif", _animated_gif())
    sender.profile["icon"] = {"type": "Image", "url": sender.base + "/avatars/2.gif"}
    person = actor_doc(sender.actor, **sender.profile)
    person["publicKey"]["publicKeyPem"] = sender.public_pem
    await world.deliver({"@context": "https://www.w3.org/ns/activitystreams",
                         "id": sender.actor + "#updates/1", "type": "Update",
                         "actor": sender.actor, "to": [PUBLIC], "object": person})
    await jobs_settled(world.api)
    _, token = await world.api.user("looker")
    again = await world.api.call(world.api.mastodon(token).account, int(account["id"]))
    assert again["avatar"] == sender.base + "/avatars/2.gif"  # a link: it is animated
    assert again["header"] == account["header"]  # the copy stays
    assert sender.hits.count("/headers/1.jpg") == 1 and sender.hits.count("/avatars/1.png") == 1


async def test_media_prune_turns_old_copies_back_into_links(world) -> None:
    sender = world.sender
    sender.files["/media/old.png"] = (200, "image/png", _png((900, 300)))
    sender.files["/avatars/1.png"] = (200, "image/png", _png((100, 100)))
    sender.profile = {"icon": {"type": "Image", "url": sender.base + "/avatars/1.png"}}
    status = await world.post(5, [sender.attachment("/media/old.png", "image/png")])
    media, avatar = status["media_attachments"][0], status["account"]["avatar"]
    media_dir = world.api.inst.settings.media_dir
    copies = [media_dir / u.removeprefix(world.api.base + "/media/")
              for u in (media["url"], media["preview_url"], avatar)]
    assert all(path.is_file() for path in copies)

    def prune(*flags: str) -> subprocess.CompletedProcess[str]:
        settings = world.api.inst.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
        env |= {"FEDIVERSE_DATA_DIR": str(settings.data_dir),
                "FEDIVERSE_DATABASE_URL": settings.effective_database_url}
        return subprocess.run([sys.executable, "-m", "fediverse", "media", "prune", *flags],
                              env=env, capture_output=True, text=True, timeout=120)

    kept = await asyncio.to_thread(prune)  # the post is from today: younger than 7 days
    assert kept.returncode == 0 and "removed 0 files" in kept.stderr
    assert all(path.is_file() for path in copies)
    pruned = await asyncio.to_thread(prune, "--days", "0", "--profiles")
    assert pruned.returncode == 0 and "removed 3 files" in pruned.stderr, pruned.stderr
    assert not any(path.exists() for path in copies)
    _, token = await world.api.user("later")
    again = await world.api.call(world.api.mastodon(token).status, int(status["id"]))
    assert again["media_attachments"][0]["url"] == sender.base + "/media/old.png"
    assert again["account"]["avatar"] == sender.base + "/avatars/1.png"
    refused = await asyncio.to_thread(prune, "--days", "-1")
    assert refused.returncode == 1 and "--days" in refused.stderr


@pytest.mark.settings(cache_remote_media=False)
async def test_with_copies_turned_off_images_stay_links(world) -> None:
    sender = world.sender
    sender.files["/media/kept.png"] = (200, "image/png", _png((50, 40)))
    sender.files["/avatars/1.png"] = (200, "image/png", _png((100, 100)))
    sender.profile = {"icon": {"type": "Image", "url": sender.base + "/avatars/1.png"}}
    status = await world.post(6, [sender.attachment("/media/kept.png", "image/png")])
    assert status["media_attachments"][0]["url"] == sender.base + "/media/kept.png"
    assert status["account"]["avatar"] == sender.base + "/avatars/1.png"
    assert "/media/kept.png" not in sender.hits and "/avatars/1.png" not in sender.hits


def test_which_failures_are_worth_another_try() -> None:
    assert _worth_retrying(BadResponse("x", status=503))
    assert _worth_retrying(BadResponse("x", status=429))
    assert _worth_retrying(FetchTimeout("x"))
    assert not _worth_retrying(BadResponse("x", status=404))
    assert not _worth_retrying(BadResponse("unexpected content type 'text/html'"))
    assert not _worth_retrying(TooLarge("x"))
