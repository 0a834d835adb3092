"""Issue 5 audit, the pipeline as the server uses it (tiny model): requests waiting together
render in one pipeline call per size; each image carries its provenance in the file and in
the post that carries it; a generator's answer to a local mention is addressed to the asker
and no more visible than the request; a model that cannot be had fails its requests with
one clear error while the server goes on serving."""

from __future__ import annotations

import dataclasses
import io
import logging

import pytest
from PIL import Image

from fediverse.generation.render import render_asks
from fediverse.generation.requests import Ask
from fediverse.imaging import ImageOptions
from fediverse.imaging.pipeline import ImagePipeline, install_pipeline
from models.tables import Account, Job, MediaAttachment, Status
from tests.flows_support import Side
from tests.instances import running_instance
from tests.test_generation import PROMPT, bearer, generations_of, media_when_ready, token_for
from tests.test_imaging_options import run_cli


async def test_waiting_requests_render_in_one_call_per_size(tmp_path, database_url,
                                                             monkeypatch):
    calls: list[tuple[int, int | None]] = []
    real = ImagePipeline.generate

    def counted(self, prompts, **options):  # the real pipeline, its calls counted
        calls.append((len(prompts), options.get("width")))
        return real(self, prompts, **options)

    monkeypatch.setattr(ImagePipeline, "generate", counted)
    data = tmp_path / "a"
    async with running_instance(data, database_url) as inst:
        token = await token_for(Side(inst), "maker")
        asked = [await generations_of(inst, token, prompt=f"{PROMPT} {n}", width="64",
                                      height="64", seed=str(n)) for n in range(3)]
        asked.append(await generations_of(inst, token, prompt=PROMPT, width="128",
                                          height="64"))
        assert all(a.status_code == 202 for a in asked)
    async with running_instance(data, database_url, run_workers=True) as inst:
        async with inst.client() as client:
            ready = [await media_when_ready(client, token, a.json()["id"], timeout=60)
                     for a in asked]
    assert sorted(calls) == [(1, 128), (3, 64)]
    assert [m["meta"]["original"]["width"] for m in ready] == [64, 64, 64, 128]


def _parameters(data: bytes) -> str:
    image = Image.open(io.BytesIO(data))
    return str(image.info["parameters"])


async def test_an_image_carries_its_provenance_in_file_and_post(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        asked = await generations_of(inst, token, prompt=PROMPT, negative_prompt="fog",
                                     seed="5", steps="2", width="64", height="64")
        assert asked.status_code == 202, asked.text
        async with inst.client() as client:
            ready = await media_when_ready(client, token, asked.json()["id"], timeout=60)
            full = (await client.get(ready["url"])).content
            small = await client.get(ready["preview_url"])
        text = _parameters(full)
        assert text.startswith(PROMPT + "\nNegative prompt: fog\n")
        for pair in ("Steps: 2", "Seed: 5", "Size: 64x64", "Model: tiny"):
            assert pair in text
        assert b"trainedAlgorithmicMedia" in full
        assert ready["description"] == PROMPT and ready["blurhash"]
        assert ready["preview_url"] != ready["url"] and small.status_code == 200
        assert ready["meta"]["original"]["width"] == 64 and ready["meta"]["small"]["width"]

        async with inst.client() as client:  # the post says how its image was made
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": f"/imagine {PROMPT}"})
        assert posted.status_code == 200, posted.text

        async def published() -> Status | None:
            row = await side.one(Status, Status.id == int(posted.json()["id"]))
            return row if row is not None and not row.pending else None

        status = await side.eventually(published, what="the /imagine post", timeout=60)
        assert PROMPT in status.content and "AI-generated image." in status.content
        assert "Model: tiny" in status.content and "Seed: " in status.content


async def test_a_generator_answers_a_local_mention_no_wider_than_asked(tmp_path,
                                                                       database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        generator = await side.account("painter", generator=True)
        token = await token_for(side, "asker")
        async with inst.client() as client:
            asked = await client.post("/api/v1/statuses", headers=bearer(token), data={
                "status": f"@painter {PROMPT}", "visibility": "unlisted"})
        assert asked.status_code == 200, asked.text

        async def answered() -> Status | None:
            return await side.one(Status, Status.account_id == generator.id)

        answer = await side.eventually(answered, what="the generator's answer", timeout=60)
        assert answer.visibility == "unlisted"
        assert answer.in_reply_to_id == int(asked.json()["id"])
        assert (answer.text or "").startswith(f"@asker {PROMPT}")
        assert "AI-generated image." in answer.content
        media = await side.rows(MediaAttachment, MediaAttachment.status_id == answer.id)
        assert len(media) == 1 and media[0].description == PROMPT
        async with inst.client() as client:  # the asker is notified of the answer
            notes = await client.get("/api/v1/notifications", headers=bearer(token))
        assert [(n["type"], n["status"]["id"]) for n in notes.json()] == [
            ("mention", str(answer.id))]


async def test_a_model_that_cannot_be_had_fails_requests_and_the_server_goes_on(
        tmp_path, database_url, caplog):
    caplog.set_level(logging.INFO)
    missing = tmp_path / "no-such-model"
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        inst.state.settings = dataclasses.replace(inst.state.settings,
                                                  image_model=str(missing))
        generator = await side.account("painter", generator=True)
        token = await token_for(side, "maker")
        async with inst.client() as client:
            kept = await generations_of(inst, token, prompt=PROMPT)
            imagined = await client.post("/api/v1/statuses", headers=bearer(token),
                                         data={"status": f"/imagine {PROMPT}"})
            mention = await client.post("/api/v1/statuses", headers=bearer(token),
                                        data={"status": f"@painter {PROMPT}"})
        assert (kept.status_code, imagined.status_code, mention.status_code) == (202, 200, 200)

        async def given_up() -> bool:
            jobs = await side.rows(Job, Job.kind == "render")
            return len(jobs) == 3 and all(job.state == "dead" for job in jobs)

        await side.eventually(given_up, what="the render jobs given up", timeout=60)
        async with inst.client() as client:
            media = await client.get(f"/api/v1/media/{kept.json()['id']}",
                                     headers=bearer(token))
            instance = await client.get("/api/v1/instance")
            plain = await client.post("/api/v1/statuses", headers=bearer(token),
                                      data={"status": "still here"})
        assert media.status_code == 422
        assert instance.status_code == 200 and plain.status_code == 200
        row = await side.one(Status, Status.id == int(imagined.json()["id"]))
        assert row is not None and row.deleted_at is not None  # withdrawn, never sent

        async def answered() -> Status | None:
            return await side.one(Status, Status.account_id == generator.id)

        answer = await side.eventually(answered, what="the generator's answer", timeout=30)
        assert "image model is not available" in (answer.text or "")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR
              and "image model unavailable" in r.getMessage()]
    assert errors and all(f"no model folder at {missing}" in r.getMessage() for r in errors)


def test_the_first_image_of_a_process_logs_the_model_loading(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="fediverse.generation.render")
    options = ImageOptions(dtype="float32", vae="full")
    install_pipeline(ImagePipeline("tiny", "cpu", options))  # this process's, not loaded yet
    for _ in range(2):
        [made] = render_asks("tiny", "cpu", tmp_path, [Ask(prompt=PROMPT, seed=1)],
                             options=options)
        assert made.info.model == "tiny" and made.info.seed == 1
    loading = [r.getMessage() for r in caplog.records if "image model" in r.getMessage()]
    assert loading[0] == "loading image model tiny on cpu"  # and only once
    assert len(loading) == 2 and loading[1].startswith("image model tiny loaded in ")



@pytest.mark.parametrize(("args", "env", "needle"), [
    (["--steps", "0"], {}, "steps"),
    (["--width", "65"], {}, "width"),
    ([], {"FEDIVERSE_IMAGE_MODEL": "{missing}"}, "no model folder at"),
])
def test_the_generate_command_refuses_in_one_line_and_writes_nothing(tmp_path, args, env,
                                                                    needle):
    out = tmp_path / "never.png"
    env = {key: value.format(missing=tmp_path / "no-model") for key, value in env.items()}
    result = run_cli(["generate", PROMPT, *args, "--out", str(out)], tmp_path, env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not out.exists()


def test_the_generate_command_writes_one_image_with_its_provenance(tmp_path):
    out = tmp_path / "made.png"
    result = run_cli(["generate", PROMPT, "--seed", "3", "--steps", "2", "--width", "64",
                      "--height", "64", "--out", str(out)], tmp_path, {})
    assert result.returncode == 0, result.stderr
    text = _parameters(out.read_bytes())
    assert text.startswith(PROMPT) and "Seed: 3" in text and "Steps: 2" in text
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["made.png"]
