"""Remixes with the tiny model on live instances: a `/imagine` reply to a post with an image
renders image to image from it (the picture takes its image's shape: 80x40 becomes 88x64),
from the API and by mentioning a generator on another server (which fetches the post and
its image); a remix of a post without an image is refused, nothing queued."""

from __future__ import annotations

import io

from PIL import Image

from models.tables import Account, Job, MediaAttachment, Status
from outbox import actions
from tests.flows_support import Side, pair  # noqa: F401
from tests.instances import running_instance
from tests.media_samples import image_bytes
from tests.test_generation import PROMPT, bearer, token_for

SOURCE = (80, 40)  # scaled to the tiny model's 64x64 area, sides multiples of 8
REMIXED = (88, 64)


async def _image_post(side: Side, owner: Account, visibility: str = "public") -> Status:
    """A post by `owner` carrying an 80x40 PNG."""
    data = image_bytes("PNG", SOURCE)
    path = side.inst.settings.media_dir / "sources" / f"{owner.id}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    media = MediaAttachment(account_id=owner.id, mime_type="image/png",
                            file_path=f"sources/{owner.id}.png", description="a red field",
                            width=SOURCE[0], height=SOURCE[1])
    async with side.writer() as session:
        session.add(media)
        await session.commit()
    return await side.act(actions.post_status, owner, text="my picture", media=[media],
                          visibility=visibility)


async def _picture(side: Side, media: MediaAttachment) -> Image.Image:
    assert media.file_path, "not a local file"
    data = (side.inst.settings.media_dir / media.file_path).read_bytes()
    return Image.open(io.BytesIO(data))


async def test_an_imagine_reply_to_an_image_post_remixes_its_image(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        maker = await side.one(Account, Account.username == "maker")
        assert maker is not None
        parent = await _image_post(side, maker)
        async with inst.client() as client:
            posted = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": "/imagine the same in blue", "in_reply_to_id": str(parent.id)})
        assert posted.status_code == 200, posted.text

        async def published() -> Status | None:
            row = await side.one(Status, Status.id == int(posted.json()["id"]))
            return row if row is not None and not row.pending else None

        remix = await side.eventually(published, what="the remix published", timeout=60)
        assert remix.in_reply_to_id == parent.id
        media = await side.rows(MediaAttachment, MediaAttachment.status_id == remix.id)
        assert len(media) == 1 and media[0].description == "the same in blue"
        assert (await _picture(side, media[0])).size == REMIXED
        source = await side.one(MediaAttachment, MediaAttachment.status_id == parent.id)
        jobs = await side.rows(Job, Job.kind == "render")
        assert source is not None and [j.payload["source_media_id"] for j in jobs] == [source.id]


async def test_a_remix_of_a_post_without_an_image_is_refused(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        maker = await side.one(Account, Account.username == "maker")
        parent = await side.act(actions.post_status, maker, text="just words")
        async with inst.client() as client:
            answer = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": "/imagine the same in blue", "in_reply_to_id": str(parent.id)})
        assert answer.status_code == 422 and "no image to remix" in answer.json()["error"]
        assert [s.id for s in await side.rows(Status)] == [parent.id]
        assert await side.rows(Job, Job.queue == "generate") == []


async def test_imagine_replying_to_a_post_one_cannot_see_is_404(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        other = await side.account("other")
        hidden = await side.act(actions.post_status, other, text="for me", visibility="direct")
        async with inst.client() as client:
            answer = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": f"/imagine {PROMPT}", "in_reply_to_id": str(hidden.id)})
        assert answer.status_code == 404
        assert await side.rows(Job, Job.queue == "generate") == []


async def _ask(b: Side, asker: Account, painter: Account, a: Side, text: str,
               parent: Status) -> Status:
    asked = await b.act(actions.post_status, asker, text=f"@painter@{a.inst.domain} {text}",
                        visibility="public", in_reply_to=parent, mentions=[painter])

    async def answered() -> Status | None:
        return await b.one(Status, Status.in_reply_to_id == asked.id)

    return await b.eventually(answered, what="the generator's answer", timeout=60)


async def test_a_generator_remixes_an_image_post_from_another_server(pair):  # noqa: F811
    a, b = pair
    await a.account("painter", generator=True)
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    parent = await _image_post(b, asker)  # A has never seen it: it fetches post and image
    answer = await _ask(b, asker, painter, a, "/imagine the same at night", parent)
    media = await b.rows(MediaAttachment, MediaAttachment.status_id == answer.id)
    assert len(media) == 1 and media[0].description == "the same at night"
    assert (media[0].width, media[0].height) == REMIXED
    fetched = await a.status(parent.uri)
    source = await a.one(MediaAttachment, MediaAttachment.status_id == fetched.id)
    jobs = await a.rows(Job, Job.kind == "render")
    assert source is not None and source.remote_url
    assert [job.payload["source_media_id"] for job in jobs] == [source.id]

    words = await b.act(actions.post_status, asker, text="only words here")
    refused = await _ask(b, asker, painter, a, "/imagine the same at night", words)
    assert "no image to remix" in refused.content
    assert await b.rows(MediaAttachment, MediaAttachment.status_id == refused.id) == []
    assert len(await a.rows(Job, Job.kind == "render")) == 1


async def test_a_generator_remixing_a_followers_only_post_answers_no_wider(tmp_path,
                                                                        database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        generator = await side.account("painter", generator=True)
        token = await token_for(side, "maker")
        maker = await side.one(Account, Account.username == "maker")
        parent = await _image_post(side, maker, visibility="private")
        async with inst.client() as client:
            asked = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": "@painter /imagine the same in blue", "visibility": "public",
                "in_reply_to_id": str(parent.id)})
        assert asked.status_code == 200, asked.text

        async def answered() -> Status | None:
            return await side.one(Status, Status.account_id == generator.id)

        answer = await side.eventually(answered, what="the generator's answer", timeout=60)
        assert answer.visibility == "private"
        media = await side.rows(MediaAttachment, MediaAttachment.status_id == answer.id)
        assert len(media) == 1 and (media[0].width, media[0].height) == REMIXED
