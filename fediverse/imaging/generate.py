"""One picture from a prompt to a file: what `fediverse generate` calls."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fediverse.imaging.encode import Provenance, encode_image, format_for_path
from fediverse.imaging.options import ImageOptions
from fediverse.imaging.pipeline import get_pipeline
from fediverse.imaging.request import check_prompts
from fediverse.media.storage import write_durably

SEED_LIMIT = 2**32  # random seeds fit the 32 bits other tools expect


@dataclass(frozen=True)
class GenerationInfo:
    """What was made: the seed (drawn if none was given), the settings used, the time taken
    (loading the model included) and where the file is."""

    seed: int
    steps: int
    width: int
    height: int
    model: str
    seconds: float
    path: Path
    guidance: float | None = None
    device: str = "cpu"


def random_seed() -> int:
    return secrets.randbelow(SEED_LIMIT)


def generate_to_file(*, model: str, device: str, prompt: str, out: Path,
                     seed: int | None = None, steps: int | None = None,
                     width: int | None = None, height: int | None = None,
                     negative_prompt: str | None = None, progress: bool = False,
                     options: ImageOptions | None = None) -> GenerationInfo:
    """Generate one image and write it to `out` (.png, .jpg/.jpeg or .webp) with provenance.

    Raises InvalidRequest for a bad prompt, size, steps or file type, ModelUnavailable when
    the model cannot be loaded, ValueError for an unknown device."""
    started = time.monotonic()
    out = Path(out)
    fmt = format_for_path(out)
    pipeline = get_pipeline(model, device, options)
    seed = random_seed() if seed is None else seed
    negatives = None if negative_prompt is None else [negative_prompt]
    check_prompts([prompt], negatives, [seed])  # before any model is loaded
    settings = pipeline.settings(steps=steps, width=width, height=height)
    image = pipeline.generate([prompt], seeds=[seed], steps=settings.steps,
                              width=settings.width, height=settings.height,
                              negative_prompts=negatives, guidance=settings.guidance,
                              progress=progress)[0]
    info = Provenance(prompt=prompt, negative_prompt=negative_prompt, seed=seed,
                      steps=settings.steps, model=model, width=image.width,
                      height=image.height, guidance=settings.guidance,
                      sampler=pipeline.sampler)
    write_durably({out: encode_image(image, fmt, info)})
    return GenerationInfo(seed=seed, steps=settings.steps, width=image.width,
                          height=image.height, model=model,
                          seconds=time.monotonic() - started, path=out,
                          guidance=settings.guidance, device=pipeline.device)
