"""The image pipeline on CUDA, through the worker's own path (render_asks), on the built-in
`tiny` model. Skipped where torch sees no GPU (CI); run on a GPU machine with:

    python -m pytest --noconftest -q tests/test_imaging_cuda.py
"""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from fediverse.generation.render import render_asks  # noqa: E402
from fediverse.generation.requests import Ask  # noqa: E402
from fediverse.imaging import get_pipeline  # noqa: E402
from fediverse.imaging.encode import parameters_text  # noqa: E402

PROMPTS = ["a lighthouse in fog", "a red boat", "an owl in a pine tree"]


def asks(seeds: list[int]) -> list[Ask]:
    return [Ask(prompt=PROMPTS[i % len(PROMPTS)], seed=seed) for i, seed in enumerate(seeds)]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_cuda_loads_half_precision_with_fused_attention():
    from diffusers.models.attention_processor import AttnProcessor2_0

    pipe = get_pipeline("tiny", "cuda").load()
    assert pipe.unet.dtype == torch.float16 and pipe.unet.device.type == "cuda"
    assert pipe.vae.dtype == torch.float16 and pipe.text_encoder.dtype == torch.float16
    processors = pipe.unet.attn_processors.values()
    assert processors and all(isinstance(p, AttnProcessor2_0) for p in processors)


def test_cuda_same_seed_gives_the_same_bytes(tmp_path):
    first = render_asks("tiny", "cuda", tmp_path, asks([5, 6]))
    again = render_asks("tiny", "cuda", tmp_path, asks([5, 6]))
    for one, two in zip(first, again, strict=True):
        assert one.processed.original.data == two.processed.original.data
        assert one.processed.blurhash == two.processed.blurhash
        assert (tmp_path / one.files.original).read_bytes() == one.processed.original.data


def test_cuda_pictures_are_finite_and_carry_provenance(tmp_path):
    rendered = render_asks("tiny", "cuda", tmp_path, asks([1, 2, 3, 4]))
    for item in rendered:
        image = pixels(item.processed.original.data)
        assert image.std() > 1  # half precision gave no NaN (black) or flat picture
        text = Image.open(io.BytesIO(item.processed.original.data)).text["parameters"]
        assert text == parameters_text(item.info)
    assert len({item.processed.original.data for item in rendered}) == 4


def test_cuda_a_seed_gives_nearly_the_same_picture_alone_or_in_a_batch(tmp_path):
    batch = render_asks("tiny", "cuda", tmp_path, asks([11, 12, 13]))
    alone = render_asks("tiny", "cuda", tmp_path, [Ask(prompt=PROMPTS[1], seed=12)])
    difference = np.abs(pixels(batch[1].processed.original.data)
                        - pixels(alone[0].processed.original.data))
    # the starting noise is the same (CPU generators); kernels for another batch size may
    # round differently in half precision
    assert difference.mean() < 1.0 and difference.max() <= 16
