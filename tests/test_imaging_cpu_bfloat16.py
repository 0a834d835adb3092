"""The image pipeline on a CPU with native bfloat16 (AVX512-BF16 or AMX), where `auto` picks
bfloat16: pictures stay seeded, batch-independent, and close to float32's. Skipped on other
CPUs (they run in float32, which tests/test_imaging.py covers)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fediverse.imaging import ImageOptions, ImagePipeline, generate_to_file  # noqa: E402
from fediverse.imaging.loading import cpu_has_fast_bfloat16  # noqa: E402

pytestmark = pytest.mark.skipif(not cpu_has_fast_bfloat16(), reason="no native bfloat16 CPU")

import numpy as np  # noqa: E402

PROMPTS = ["a lighthouse in fog", "a red boat", "an owl in a pine tree", "a bowl of oranges"]
SEEDS = [3, 9, 4242, 77]
AUTOENCODERS = ["full", "tiny"]


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module", params=AUTOENCODERS)
def pipelines(request) -> tuple[ImagePipeline, ImagePipeline]:
    """The `auto` pipeline (bfloat16 here) and a float32 one, with the same autoencoder."""
    return (ImagePipeline("tiny", "cpu", ImageOptions(vae=request.param)),
            ImagePipeline("tiny", "cpu", ImageOptions(dtype="float32", vae=request.param)))


def test_auto_runs_every_model_in_bfloat16(pipelines):
    pipe = pipelines[0].load()
    assert {pipe.unet.dtype, pipe.vae.dtype, pipe.text_encoder.dtype} == {torch.bfloat16}


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    made = [generate_to_file(model="tiny", device="cpu", prompt=PROMPTS[0], seed=SEEDS[0],
                             out=tmp_path / f"{n}.png").path.read_bytes() for n in range(2)]
    other = generate_to_file(model="tiny", device="cpu", prompt=PROMPTS[0], seed=SEEDS[1],
                             out=tmp_path / "other.png").path.read_bytes()
    assert made[0] == made[1] and made[0] != other


@pytest.mark.parametrize("guidance", [0.0, 4.0])
def test_a_seed_gives_the_same_pixels_alone_and_in_a_batch(pipelines, guidance):
    """bfloat16 kernels sum in another order for another batch size (GroupNorm on
    channels-last input): exact only because each picture runs alone inside a batch."""
    ours = pipelines[0]
    batch = ours.generate(PROMPTS, seeds=SEEDS, guidance=guidance,
                          negative_prompts=["rain", "wind", "", "fog"] if guidance else None)
    for n, (prompt, seed, image) in enumerate(zip(PROMPTS, SEEDS, batch, strict=True)):
        alone = ours.generate([prompt], seeds=[seed], guidance=guidance,
                              negative_prompts=[["rain", "wind", "", "fog"][n]]
                              if guidance else None)[0]
        assert np.array_equal(pixels(alone), pixels(image)), (seed, guidance)
    assert not np.array_equal(pixels(batch[0]), pixels(batch[1]))


def test_a_remix_gives_the_same_pixels_alone_and_in_a_batch(pipelines):
    ours = pipelines[0]
    sources = ours.generate(PROMPTS[:3], seeds=SEEDS[:3])
    prompts = [prompt + " at night" for prompt in PROMPTS[:3]]
    batch = ours.image_to_image(sources, prompts, seeds=SEEDS[:3], strength=0.5)
    for source, prompt, seed, image in zip(sources, prompts, SEEDS, batch, strict=False):
        alone = ours.image_to_image([source], [prompt], seeds=[seed], strength=0.5)[0]
        assert np.array_equal(pixels(alone), pixels(image))


def test_pictures_are_float32_pictures_within_rounding(pipelines):
    ours, exact = pipelines
    got = ours.generate(PROMPTS, seeds=SEEDS)
    want = exact.generate(PROMPTS, seeds=SEEDS)
    for image, expected in zip(got, want, strict=True):
        a, b = pixels(image), pixels(expected)
        assert a.std() > 5 and len(np.unique(a.reshape(-1, 3), axis=0)) > 20  # not flat, no NaN
        difference = np.abs(a - b)
        # measured: mean 0.5, max 4 (full autoencoder); mean 0.04, max 1 (tiny). Another
        # picture differs by tens on average.
        assert difference.mean() < 1.5 and difference.max() <= 16, (difference.mean(),
                                                                   difference.max())
