"""Pipeline options (issue 5, CPU speed): precision and the tiny autoencoder, on `tiny`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fediverse.generation.render import render_asks
from fediverse.generation.requests import Ask
from fediverse.imaging import ImageOptions, ModelUnavailable, generate_to_file, get_pipeline
from fediverse.imaging.loading import cpu_has_fast_bfloat16, dtype_for
from fediverse.settings import Settings, SettingsError, load

TINY_VAE = ImageOptions(vae="tiny")


def run_cli(args: list[str], data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    full_env |= {"FEDIVERSE_DATA_DIR": str(data_dir), "FEDIVERSE_IMAGE_MODEL": "tiny",
                 "FEDIVERSE_DEVICE": "cpu", **env}
    return subprocess.run([sys.executable, "-m", "fediverse", *args], env=full_env,
                          capture_output=True, text=True, timeout=300)


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_the_tiny_autoencoder_decodes_through_the_workers_render_path(tmp_path):
    asks = [Ask(prompt="a lighthouse in fog", seed=3, steps=2, width=96, height=64),
            Ask(prompt="a red boat", seed=4, steps=2, width=96, height=64)]
    rendered = render_asks("tiny", "cpu", tmp_path, asks, options=TINY_VAE)
    assert type(get_pipeline("tiny", "cpu", TINY_VAE).load().vae).__name__ == "AutoencoderTiny"
    assert type(get_pipeline("tiny", "cpu").load().vae).__name__ == "AutoencoderKL"
    assert len(rendered) == 2
    for result in rendered:
        original = result.processed.original
        image = Image.open(io.BytesIO(original.data))
        assert image.format == "PNG" and image.size == (96, 64)
        assert (original.width, original.height) == (96, 64)
        assert "Seed: " in image.text["parameters"]
        assert len(set(image.convert("RGB").tobytes())) > 20  # a picture, not a flat colour
        assert result.processed.blurhash
        assert (tmp_path / result.files.original).is_file()
    assert pixels(rendered[0].processed.original.data) != \
        pixels(rendered[1].processed.original.data)


def test_the_tiny_autoencoder_changes_the_picture_not_its_size(tmp_path):
    full = generate_to_file(model="tiny", device="cpu", prompt="dunes", seed=5,
                            out=tmp_path / "full.png")
    tiny = generate_to_file(model="tiny", device="cpu", prompt="dunes", seed=5,
                            out=tmp_path / "tiny.png", options=TINY_VAE)
    assert (tiny.width, tiny.height) == (full.width, full.height) == (64, 64)
    assert pixels(tiny.path.read_bytes()) != pixels(full.path.read_bytes())


@pytest.mark.parametrize("options", [
    ImageOptions(vae="tiny"), ImageOptions(dtype="bfloat16"),
    ImageOptions(dtype="bfloat16", vae="tiny"), ImageOptions(dtype="float32", vae="tiny"),
])
def test_same_seed_gives_same_bytes_with_each_option(tmp_path, options):
    def made(name: str, seed: int) -> bytes:
        return generate_to_file(model="tiny", device="cpu", prompt="an owl", seed=seed,
                                out=tmp_path / name, options=options).path.read_bytes()

    first, again, other = made("1.png", 42), made("2.png", 42), made("3.png", 43)
    assert first == again
    assert pixels(first) != pixels(other)


def test_an_autoencoder_from_a_local_folder(tmp_path):
    from fediverse.imaging.tiny import build_autoencoder

    folder = tmp_path / "taesd-tiny"
    build_autoencoder(small=True).save_pretrained(folder)
    from_folder = get_pipeline("tiny", "cpu", ImageOptions(vae=str(folder)))
    built = get_pipeline("tiny", "cpu", TINY_VAE)
    assert type(from_folder.load().vae).__name__ == "AutoencoderTiny"
    # the same weights, saved and loaded: the same picture
    assert from_folder.generate(["a kite"], seeds=[8])[0].tobytes() == \
        built.generate(["a kite"], seeds=[8])[0].tobytes()


def test_a_tiny_autoencoder_not_at_hand_is_one_clear_error(tmp_path, monkeypatch):
    from fediverse.imaging.tiny import build_pipeline

    model = tmp_path / "model"
    build_pipeline().save_pretrained(model)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="madebyollin/taesd"):
        get_pipeline(str(model), "cpu", TINY_VAE).load()
    with pytest.raises(ModelUnavailable, match="no model folder"):
        get_pipeline(str(model), "cpu", ImageOptions(vae=str(tmp_path / "none"))).load()


def test_bfloat16_runs_in_bfloat16_and_still_makes_a_picture(tmp_path):
    import torch

    pipeline = get_pipeline("tiny", "cpu", ImageOptions(dtype="bfloat16"))
    image = pipeline.generate(["a kite"], seeds=[1])[0]
    assert pipeline.load().unet.dtype == torch.bfloat16
    assert pipeline.load().vae.dtype == torch.bfloat16
    assert image.size == (64, 64) and len(set(image.convert("RGB").tobytes())) > 20


def test_remix_with_the_tiny_autoencoder_keeps_size_and_seed():
    pipeline = get_pipeline("tiny", "cpu", TINY_VAE)
    source = pipeline.generate(["a field"], seeds=[1], width=128, height=64)[0]
    first = pipeline.image_to_image([source], ["a field at night"], seeds=[2], strength=0.5)
    again = pipeline.image_to_image([source], ["a field at night"], seeds=[2], strength=0.5)
    assert first[0].size == (128, 64)
    assert first[0].tobytes() == again[0].tobytes()
    assert first[0].tobytes() != source.tobytes()


def test_auto_precision_follows_the_device():
    import torch

    expected = torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32
    assert dtype_for("cpu") == dtype_for("cpu", "auto") == expected
    assert dtype_for("cuda", "auto") == torch.float16
    assert dtype_for("cpu", "float32") == torch.float32
    assert dtype_for("cuda", "bfloat16") == torch.bfloat16


def test_settings_carry_the_options():
    settings = load(env={"FEDIVERSE_IMAGE_DTYPE": "bfloat16", "FEDIVERSE_IMAGE_VAE": "tiny"})
    assert settings.image_options == ImageOptions(dtype="bfloat16", vae="tiny")
    assert Settings().image_options == ImageOptions(dtype="auto", vae="full")
    folder = load(env={"FEDIVERSE_IMAGE_VAE": "/models/taesd"}).image_options
    assert folder.vae == "/models/taesd" and folder.tiny_vae


@pytest.mark.parametrize(("env", "needle"), [
    ({"FEDIVERSE_IMAGE_DTYPE": "float64"}, "FEDIVERSE_IMAGE_DTYPE: unknown image dtype 'float64'"),
    ({"FEDIVERSE_IMAGE_DTYPE": ""}, "FEDIVERSE_IMAGE_DTYPE: unknown image dtype ''"),
    ({"FEDIVERSE_IMAGE_DTYPE": "BF16"}, "FEDIVERSE_IMAGE_DTYPE: unknown image dtype 'BF16'"),
    ({"FEDIVERSE_IMAGE_VAE": " "}, "FEDIVERSE_IMAGE_VAE: unknown image autoencoder ' '"),
])
def test_bad_options_are_one_line_each(env, needle):
    with pytest.raises(SettingsError) as caught:
        load(env=env)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(needle)
    assert "\n" not in caught.value.problems[0]


@pytest.mark.parametrize(("dtype", "vae"), [("half", "full"), ("auto", "")])
def test_options_refuse_unknown_values(dtype, vae):
    with pytest.raises(ValueError, match="unknown image"):
        ImageOptions(dtype=dtype, vae=vae)


def test_generate_command_with_the_tiny_autoencoder(tmp_path):
    out = tmp_path / "tiny.png"
    result = run_cli(["generate", "a lighthouse", "--seed", "9", "--out", str(out)], tmp_path,
                     {"FEDIVERSE_IMAGE_VAE": "tiny", "FEDIVERSE_IMAGE_DTYPE": "float32"})
    assert result.returncode == 0, result.stderr
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (64, 64)
    # the same seed in this process, with the same options, gives the same bytes
    here = generate_to_file(model="tiny", device="cpu", prompt="a lighthouse", seed=9,
                            out=tmp_path / "here.png",
                            options=ImageOptions(dtype="float32", vae="tiny"))
    assert here.path.read_bytes() == out.read_bytes()


def test_generate_command_refuses_a_bad_dtype_in_one_line(tmp_path):
    out = tmp_path / "never.png"
    result = run_cli(["generate", "a lighthouse", "--out", str(out)], tmp_path,
                     {"FEDIVERSE_IMAGE_DTYPE": "float8"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "FEDIVERSE_IMAGE_DTYPE" in lines[0], result.stderr
    assert not out.exists()
