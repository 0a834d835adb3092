"""Issue 5 audit, remixes whose image cannot be had: a real image server on loopback answers
404, a web page, a body over the upload limit or 410, or is down, or sits at an address the
server does not fetch from. A `/imagine` reply then gets a 422 saying why, a mention of a
generator a reply saying why; nothing is posted or queued. An image lost after the request
was taken fails its job at render time and withdraws the pending status: nothing is left
waiting."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse.media.processing import MAX_BYTES
from models.tables import Account, Job, MediaAttachment, Status
from outbox import actions
from tests.flows_support import Side
from tests.instances import free_port, running_instance, serving
from tests.media_samples import image_bytes
from tests.test_generation import bearer, token_for

PNG = image_bytes("PNG", (80, 40))


@dataclasses.dataclass
class ImageServer:
    """Answers each path as `answers` says: (status, content type, body)."""

    port: int
    answers: dict[str, tuple[int, str, bytes]]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def serve(self, request: Request) -> Response:
        status, kind, body = self.answers.get(request.url.path, (404, "text/plain", b"no"))
        return Response(body, status_code=status, media_type=kind)


@contextlib.asynccontextmanager
async def image_server() -> AsyncIterator[ImageServer]:
    server = ImageServer(port=free_port(), answers={
        "/ok.png": (200, "image/png", PNG),
        "/page.png": (200, "text/html", b"<html><body>not a picture</body></html>"),
        "/huge.png": (200, "image/png", PNG + b"\0" * MAX_BYTES),
        "/gone.png": (410, "text/plain", b"gone"),
    })
    app = Starlette(routes=[Route("/{path:path}", server.serve)])
    async with serving(app, server.port):
        yield server


def down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/picture.png"  # nothing listens there


async def _post_with_remote_image(side: Side, owner: Account, url: str) -> Status:
    """A post by `owner` whose image lives on another server, at `url`."""
    media = MediaAttachment(account_id=owner.id, mime_type="image/png", remote_url=url,
                            description="a red field", width=80, height=40)
    async with side.writer() as session:
        session.add(media)
        await session.commit()
    return await side.act(actions.post_status, owner, text="my picture", media=[media])


CASES = [("/missing.png", "did not answer with an image"),
         ("/page.png", "did not answer with an image"),
         ("/huge.png", "it is over 16 MB"),
         ("/gone.png", "it is gone"),
         ("down", "could not be reached"),
         ("private", "not one this server fetches from")]


def _url(images: ImageServer, case: str) -> str:
    return down_url() if case == "down" else images.url(
        "/ok.png" if case == "private" else case)


async def test_an_imagine_reply_whose_image_cannot_be_had_is_422(tmp_path, database_url):
    async with image_server() as images, running_instance(tmp_path / "a",
                                                          database_url) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        owner = await side.account("owner")
        for case, reason in CASES:
            if case == "private":  # loopback addresses are refused as in production
                inst.state.settings = dataclasses.replace(inst.state.settings,
                                                          allow_private_networks=False)
            parent = await _post_with_remote_image(side, owner, _url(images, case))
            async with inst.client() as client:
                answer = await client.post("/api/v1/statuses", headers=bearer(token), data={
                    "status": "/imagine the same in blue", "in_reply_to_id": str(parent.id)})
            assert answer.status_code == 422, (case, answer.text)
            assert "image to remix could not be fetched" in answer.json()["error"]
            assert reason in answer.json()["error"], (case, answer.json())
            maker = await side.one(Account, Account.username == "maker")
            assert maker is not None
            assert await side.rows(Status, Status.account_id == maker.id) == []
            assert await side.rows(Job, Job.queue == "generate") == []
        inst.state.settings = dataclasses.replace(inst.state.settings,
                                                  allow_private_networks=True)
        parent = await _post_with_remote_image(side, owner, images.url("/ok.png"))
        async with inst.client() as client:  # the server itself is fine
            answer = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": "/imagine the same in blue", "in_reply_to_id": str(parent.id)})
        assert answer.status_code == 200, answer.text
        assert len(await side.rows(Job, Job.kind == "render")) == 1


async def test_a_mention_whose_image_cannot_be_had_gets_a_reply_saying_why(tmp_path,
                                                                          database_url):
    async with image_server() as images, running_instance(tmp_path / "a", database_url,
                                                          run_workers=True) as inst:
        side = Side(inst)
        generator = await side.account("painter", generator=True)
        owner = await side.account("owner")
        for number, (case, reason) in enumerate(CASES):
            inst.state.settings = dataclasses.replace(
                inst.state.settings, allow_private_networks=case != "private")
            parent = await _post_with_remote_image(side, owner, _url(images, case))
            token = await token_for(side, f"asker{number}")
            async with inst.client() as client:
                asked = await client.post("/api/v1/statuses", headers=bearer(token), data={
                    "status": "@painter /imagine the same at night",
                    "in_reply_to_id": str(parent.id)})
            assert asked.status_code == 200, asked.text
            asked_id = int(asked.json()["id"])

            async def answered(asked_id: int = asked_id) -> Status | None:
                return await side.one(Status, Status.in_reply_to_id == asked_id,
                                      Status.account_id == generator.id)

            answer = await side.eventually(answered, what=f"the answer ({case})", timeout=60)
            assert f"@asker{number} I could not make that image" in (answer.text or "")
            assert reason in (answer.text or ""), (case, answer.text)
            assert await side.rows(MediaAttachment,
                                   MediaAttachment.status_id == answer.id) == []
        assert await side.rows(Job, Job.kind == "render") == []


@pytest.mark.parametrize("lost", ["gone", "down on the last attempt"])
async def test_an_image_lost_before_rendering_withdraws_the_pending_post(tmp_path,
                                                                        database_url, lost):
    data = tmp_path / "a"
    async with image_server() as images:
        async with running_instance(data, database_url) as inst:
            side = Side(inst)
            token = await token_for(side, "maker")
            owner = await side.account("owner")
            parent = await _post_with_remote_image(side, owner, images.url("/later.png"))
            images.answers["/later.png"] = (200, "image/png", PNG)
            async with inst.client() as client:
                posted = await client.post("/api/v1/statuses", headers=bearer(token), data={
                    "status": "/imagine the same in blue", "in_reply_to_id": str(parent.id)})
            assert posted.status_code == 200, posted.text
            async with side.writer() as session:  # the image is lost before it is rendered
                if lost == "gone":
                    images.answers["/later.png"] = (410, "text/plain", b"gone")
                else:
                    await session.exec(sa.update(MediaAttachment)  # type: ignore[call-overload]
                                       .where(MediaAttachment.status_id == parent.id)
                                       .values(remote_url=down_url()))
                    await session.exec(sa.update(Job).where(Job.kind == "render")  # type: ignore[call-overload]
                                       .values(max_attempts=1))
                await session.commit()
        async with running_instance(data, database_url, run_workers=True) as inst:
            side = Side(inst)

            async def failed() -> bool:
                jobs = await side.rows(Job, Job.kind == "render")
                return [job.state for job in jobs] == ["dead"]

            await side.eventually(failed, what="the render job given up", timeout=60)
            status = await side.one(Status, Status.id == int(posted.json()["id"]))
            assert status is not None and status.pending and status.deleted_at is not None
            media = await side.rows(MediaAttachment, MediaAttachment.status_id == status.id)
            assert [m.state for m in media] == ["failed"]
            assert await side.rows(Job, Job.queue == "deliver") == []  # it never left
