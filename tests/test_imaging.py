"""The image pipeline on the built-in `tiny` model, on the CPU."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from fediverse.imaging import (
    InvalidRequest,
    ModelUnavailable,
    Provenance,
    encode_image,
    format_for_path,
    generate_to_file,
    get_pipeline,
    resolve_device,
)
from fediverse.imaging.encode import TRAINED_ALGORITHMIC_MEDIA, parameters_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_file(tmp_path: Path, name: str = "out.png", **options) -> tuple[Path, bytes]:
    options = {"prompt": "a lighthouse in fog", "seed": 7} | options
    info = generate_to_file(model="tiny", device="cpu", out=tmp_path / name, **options)
    return info.path, info.path.read_bytes()


def pixels(image: Image.Image) -> bytes:
    return image.convert("RGB").tobytes()


def test_importing_the_package_does_not_import_torch():
    code = ("import sys, fediverse.imaging; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("name", "expected"), [
    ("cpu", "cpu"), ("CPU", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps"),
])
def test_resolve_device_passes_named_devices_through(name, expected):
    assert resolve_device(name) == expected


def test_resolve_device_auto_picks_what_torch_offers():
    import torch

    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto") == expected


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu", ""])
def test_resolve_device_refuses_unknown_names(name):
    with pytest.raises(ValueError):
        resolve_device(name)


def test_generate_to_file_writes_png_with_provenance(tmp_path):
    info = generate_to_file(model="tiny", device="cpu", prompt="a lighthouse, in fog",
                            out=tmp_path / "a.png", seed=11, width=96, height=64,
                            negative_prompt="people")
    assert (info.seed, info.steps, info.width, info.height) == (11, 2, 96, 64)
    assert info.model == "tiny" and info.seconds > 0 and info.path == tmp_path / "a.png"
    data = info.path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (96, 64)
    assert image.text["parameters"] == (
        "a lighthouse, in fog\nNegative prompt: people\n"
        "Steps: 2, Sampler: Euler, CFG scale: 0, Seed: 11, Size: 96x64, Model: tiny")
    xmp = image.text["XML:com.adobe.xmp"]
    assert f'Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in xmp
    assert "a lighthouse, in fog" in xmp


def test_default_size_and_drawn_seed(tmp_path):
    info = generate_to_file(model="tiny", device="cpu", prompt="dunes", out=tmp_path / "d.png")
    assert (info.width, info.height) == (64, 64)
    assert 0 <= info.seed < 2**32
    assert f"Seed: {info.seed}," in Image.open(info.path).text["parameters"]


def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path):
    _, first = tiny_file(tmp_path, "1.png", seed=42)
    _, again = tiny_file(tmp_path, "2.png", seed=42)
    _, other = tiny_file(tmp_path, "3.png", seed=43)
    assert first == again
    assert first != other
    first_pixels = pixels(Image.open(io.BytesIO(first)))
    assert first_pixels != pixels(Image.open(io.BytesIO(other)))
    assert len(set(first_pixels)) > 20  # a picture, not a flat colour


def test_same_seed_gives_same_bytes_in_another_process(tmp_path):
    _, here = tiny_file(tmp_path, "here.png", seed=5)
    code = ("import sys; from pathlib import Path; from fediverse.imaging import generate_to_file;"
            " generate_to_file(model='tiny', device='cpu', prompt='a lighthouse in fog', seed=5,"
            " out=Path(sys.argv[1]))")
    there = tmp_path / "there.png"
    subprocess.run([sys.executable, "-c", code, str(there)], check=True, capture_output=True)
    assert there.read_bytes() == here


@pytest.mark.parametrize("guidance", [0.0, 4.0])
def test_a_batch_gives_the_same_pixels_as_single_calls(guidance):
    pipeline = get_pipeline("tiny", "cpu")
    prompts, seeds, negatives = ["a red boat", "a blue kite"], [3, 9], ["rain", "wind"]
    batch = pipeline.generate(prompts, seeds=seeds, negative_prompts=negatives,
                              guidance=guidance)
    singles = [pipeline.generate([prompt], seeds=[seed], negative_prompts=[negative],
                                 guidance=guidance)[0]
               for prompt, seed, negative in zip(prompts, seeds, negatives, strict=False)]
    assert [pixels(image) for image in batch] == [pixels(image) for image in singles]
    assert pixels(batch[0]) != pixels(batch[1])


def test_image_to_image_keeps_size_and_is_seeded():
    pipeline = get_pipeline("tiny", "cpu")
    source = pipeline.generate(["a field"], seeds=[1], width=128, height=64)[0]
    first = pipeline.image_to_image([source], ["a field at night"], seeds=[2], strength=0.5)
    again = pipeline.image_to_image([source], ["a field at night"], seeds=[2], strength=0.5)
    assert first[0].size == (128, 64)
    assert pixels(first[0]) == pixels(again[0])
    assert pixels(first[0]) != pixels(source)


@pytest.mark.parametrize("options", [
    {"width": 100}, {"height": 60}, {"width": 56}, {"width": 264}, {"height": 0},
    {"steps": 0}, {"steps": 51}, {"steps": 2.5},
    {"prompt": ""}, {"prompt": "   "}, {"prompt": "x" * 1001},
    {"negative_prompt": "y" * 1001}, {"seed": -1}, {"seed": 2**64},
])
def test_invalid_requests_are_refused(tmp_path, options):
    with pytest.raises(InvalidRequest) as caught:
        tiny_file(tmp_path, **options)
    assert caught.value.reason
    assert not (tmp_path / "out.png").exists()


def test_invalid_batches_are_refused():
    pipeline = get_pipeline("tiny", "cpu")
    with pytest.raises(InvalidRequest):
        pipeline.generate(["a", "b"], seeds=[1])
    with pytest.raises(InvalidRequest):
        pipeline.generate([], seeds=[])
    with pytest.raises(InvalidRequest):
        pipeline.generate(["a"], seeds=[1], guidance=-1.0)
    with pytest.raises(InvalidRequest):
        pipeline.image_to_image([Image.new("RGB", (64, 64))], ["a"], seeds=[1], strength=0)


def test_an_unknown_file_type_is_refused(tmp_path):
    with pytest.raises(InvalidRequest):
        tiny_file(tmp_path, "out.gif")


def test_an_unknown_model_fails_quickly_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        generate_to_file(model="nonexistent/model-xyz", device="cpu", prompt="a cat",
                         out=tmp_path / "cat.png", seed=1)
    assert time.monotonic() - started < 30
    assert "nonexistent/model-xyz" in caught.value.reason
    assert "\n" not in caught.value.reason
    assert not (tmp_path / "cat.png").exists()


def test_a_missing_model_folder_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="no model folder"):
        get_pipeline(str(tmp_path / "nothing-here"), "cpu").load()


@pytest.mark.parametrize(("name", "fmt", "mime"), [
    ("a.jpg", "JPEG", "image/jpeg"), ("a.jpeg", "JPEG", "image/jpeg"),
    ("a.webp", "WEBP", "image/webp"),
])
def test_jpeg_and_webp_carry_xmp_and_parameters(tmp_path, name, fmt, mime):
    path, data = tiny_file(tmp_path, name, seed=3)
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt and image.get_format_mimetype() == mime
    assert image.size == (64, 64)
    xmp = image.info["xmp"]
    assert TRAINED_ALGORITHMIC_MEDIA.encode() in (xmp if isinstance(xmp, bytes) else xmp.encode())
    comment = image.getexif().get_ifd(0x8769)[0x9286]
    assert comment.startswith(b"UNICODE\x00")
    assert "Seed: 3," in comment[8:].decode("utf-16-be")
    assert tiny_file(tmp_path, "again" + path.suffix, seed=3)[1] == data


def test_encoding_is_deterministic_and_quotes_like_a1111():
    image = Image.new("RGB", (16, 8), (200, 10, 10))
    info = Provenance(prompt="sunset", seed=1, steps=1, model="/models/a,b", width=16,
                      height=8)
    assert encode_image(image, "PNG", info) == encode_image(image, "PNG", info)
    assert parameters_text(info) == 'sunset\nSteps: 1, Seed: 1, Size: 16x8, Model: "/models/a,b"'
    assert format_for_path(Path("x")) == "PNG"


def test_pictures_are_rounded_to_8_bits_as_diffusers_rounds_them():
    import numpy as np
    import torch

    from fediverse.imaging.pipeline import pictures

    pipe = get_pipeline("tiny", "cpu").load()

    def run(output_type: str):
        return pipe(["a cat", "a dog"], num_inference_steps=2, output_type=output_type,
                    generator=[torch.Generator().manual_seed(s) for s in (1, 2)]).images

    theirs, ours = run("pil"), pictures(run("pt"))
    assert [image.mode for image in ours] == ["RGB", "RGB"]
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(theirs, ours,
                                                                          strict=True))


def test_per_sample_calls_once_per_sample_and_joins_like_one_call():
    import torch

    from fediverse.imaging.loading import per_sample

    seen: list[tuple[int, int, int]] = []

    def forward(sample, timestep, hidden=None, extra=None, return_dict=True):
        seen.append((sample.shape[0], hidden.shape[0], extra["ids"].shape[0]))
        out = sample * 2 + hidden.sum() + extra["ids"].sum() + timestep
        return {"sample": out} if return_dict else (out, timestep)

    sample, hidden = torch.arange(6.0).reshape(3, 2), torch.ones(3, 4)
    extra, timestep = {"ids": torch.arange(3.0).reshape(3, 1)}, torch.tensor(5.0)
    whole = forward(sample, timestep, hidden=hidden, extra=extra)["sample"]
    seen.clear()
    split = per_sample(forward)
    assert torch.equal(split(sample, timestep, hidden=hidden, extra=extra)["sample"],
                       torch.cat([forward(sample[i:i + 1], timestep, hidden=hidden[i:i + 1],
                                          extra={"ids": extra["ids"][i:i + 1]})["sample"]
                                  for i in range(3)]))
    assert seen[:3] == [(1, 1, 1)] * 3
    joined, step = split(sample=sample, timestep=timestep, hidden=hidden, extra=extra,
                         return_dict=False)
    assert joined.shape == whole.shape and torch.equal(step, timestep)
    one = split(sample[:1], timestep, hidden=hidden, extra=extra)  # batch 1: passed as is
    assert seen[-1] == (1, 3, 3) and one["sample"].shape == (1, 2)
