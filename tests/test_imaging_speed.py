"""CPU speed work on the image pipeline (issue 5): the prompt embedding cache, on `tiny`."""

from __future__ import annotations

import pytest

from fediverse.imaging import ImageOptions, ImagePipeline
from fediverse.imaging.pipeline import EMBEDDINGS_CACHED


def pixels(image) -> bytes:
    return image.convert("RGB").tobytes()


def encoder_calls(pipeline: ImagePipeline) -> list[int]:
    """A list that grows by one (the batch size) each time the text encoder runs."""
    calls: list[int] = []
    pipeline.load().text_encoder.register_forward_hook(
        lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    return calls


@pytest.mark.parametrize("guidance", [0.0, 4.0])
def test_a_repeated_prompt_skips_the_text_encoder_and_gives_the_same_picture(guidance):
    pipeline = ImagePipeline("tiny", "cpu")  # a fresh one: an empty cache
    calls = encoder_calls(pipeline)
    first = pipeline.generate(["a lighthouse in fog"], seeds=[5], guidance=guidance)[0]
    encoded = len(calls)
    assert encoded == (2 if guidance > 1 else 1)  # the negative ("") too under guidance
    again = pipeline.generate(["a lighthouse in fog"], seeds=[5], guidance=guidance)[0]
    assert len(calls) == encoded
    assert pixels(again) == pixels(first)
    uncached = ImagePipeline("tiny", "cpu").generate(["a lighthouse in fog"], seeds=[5],
                                                      guidance=guidance)[0]
    assert pixels(uncached) == pixels(first)


def test_each_prompt_of_a_batch_is_encoded_alone_once():
    pipeline = ImagePipeline("tiny", "cpu", ImageOptions(vae="tiny"))
    calls = encoder_calls(pipeline)
    pipeline.generate(["a red boat", "a blue kite", "a red boat"], seeds=[1, 2, 3],
                      negative_prompts=["rain", "rain", "wind"], guidance=4.0)
    assert calls == [1, 1, 1, 1]  # two prompts, two negatives, each alone


def test_the_cache_keeps_only_the_most_recent_prompts():
    pipeline = ImagePipeline("tiny", "cpu")
    calls = encoder_calls(pipeline)
    prompts = [f"prompt {n}" for n in range(EMBEDDINGS_CACHED + 1)]
    for start in range(0, len(prompts), 16):
        chunk = prompts[start:start + 16]
        pipeline.generate(chunk, seeds=list(range(len(chunk))))
    assert len(calls) == len(prompts)
    pipeline.generate([prompts[-1]], seeds=[0])  # still cached
    assert len(calls) == len(prompts)
    pipeline.generate([prompts[0]], seeds=[0])  # dropped, encoded again
    assert len(calls) == len(prompts) + 1


def test_a_compiled_denoiser_draws_the_same_picture_within_rounding():
    import numpy as np

    # float32: in bfloat16, fused kernels keep float32 where eager rounds each step (3 levels)
    compiled = ImagePipeline("tiny", "cpu", ImageOptions(dtype="float32", compile=True))
    assert type(compiled.load().unet).__name__ == "OptimizedModule"
    got = compiled.generate(["a fox", "a hare"], seeds=[4, 5])
    want = ImagePipeline("tiny", "cpu", ImageOptions(dtype="float32")).generate(
        ["a fox", "a hare"], seeds=[4, 5])
    for image, expected in zip(got, want, strict=True):
        difference = np.abs(np.asarray(image, dtype=int) - np.asarray(expected, dtype=int))
        assert difference.max() <= 2  # float rounding of fused kernels, not a new picture


def test_the_compile_setting_reaches_the_options():
    from fediverse.settings import SettingsError, load

    assert load(env={"FEDIVERSE_IMAGE_COMPILE": "1"}).image_options.compile is True
    assert load(env={}).image_options.compile is False
    with pytest.raises(SettingsError, match="FEDIVERSE_IMAGE_COMPILE: expected 1 or 0"):
        load(env={"FEDIVERSE_IMAGE_COMPILE": "maybe"})
    with pytest.raises(ValueError, match="image compile"):
        ImageOptions(compile="yes")
