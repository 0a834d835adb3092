"""Rendering queued requests: those of one size and step count in one pipeline call, each
picture encoded for the web (the full-size file with its provenance, a thumbnail, a blurhash)
and written under the media directory. Runs in a worker thread."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from fediverse.generation.requests import REMIX_STRENGTH, Ask
from fediverse.imaging import ImageOptions, Provenance, encode_image, get_pipeline
from fediverse.media.processing import Decoded, Processed, Rendition, assemble, derived
from fediverse.media.storage import StoredFiles, write_files

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)
# PNG encoding lets go of the GIL: a batch's pictures are encoded side by side.
_ENCODERS = ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1),
                               thread_name_prefix="encode")
Shape = tuple[int | None, int | None, int | None, bool]  # steps, width, height, remix


@dataclasses.dataclass(frozen=True)
class Rendered:
    """One finished picture: its encodings and where they were written."""

    processed: Processed
    files: StoredFiles
    info: Provenance  # how it was made


def shape_of(ask: Ask, source: Image | None = None) -> Shape:
    """Requests of the same shape share a pipeline call (a remix: its image's size)."""
    if source is not None:
        return ask.steps, source.width, source.height, True
    return ask.steps, ask.width, ask.height, False


def render_asks(model: str, device: str, media_dir: Path, asks: Sequence[Ask],
                sources: Sequence[Image] | None = None,
                options: ImageOptions | None = None) -> list[Rendered]:
    """Render requests of one shape in one call (image to image from `sources`, one per
    request, when given); one result per request, in order. `options`: precision and
    autoencoder (the defaults when None)."""
    pipeline = get_pipeline(model, device, options)
    if not pipeline.loaded:  # the first image of this process: loading can take a while
        log.info("loading image model %s on %s", model, device)
        started = time.monotonic()
        pipeline.load()
        log.info("image model %s loaded in %.1f s", model, time.monotonic() - started)
    negatives = [ask.negative_prompt or "" for ask in asks]
    prompts, seeds = [ask.prompt for ask in asks], [int(ask.seed or 0) for ask in asks]
    if sources is not None:
        settings = pipeline.settings(steps=asks[0].steps)
        images = pipeline.image_to_image(list(sources), prompts, seeds=seeds,
                                         strength=REMIX_STRENGTH, steps=asks[0].steps,
                                         negative_prompts=negatives if any(negatives) else None)
    else:
        steps, width, height, _ = shape_of(asks[0])
        settings = pipeline.settings(steps=steps, width=width, height=height)
        images = pipeline.generate(prompts, seeds=seeds, steps=settings.steps,
                                   width=settings.width, height=settings.height,
                                   guidance=settings.guidance,
                                   negative_prompts=negatives if any(negatives) else None)
    infos = [Provenance(prompt=ask.prompt, negative_prompt=ask.negative_prompt,
                        seed=int(ask.seed or 0), steps=settings.steps, model=model,
                        width=image.width, height=image.height, guidance=settings.guidance,
                        sampler=pipeline.sampler)
             for ask, image in zip(asks, images, strict=True)]
    return [Rendered(processed=processed, files=write_files(media_dir, processed), info=info)
            for processed, info in zip(encoded(images, infos), infos, strict=True)]


def encoded(images: Sequence[Image], infos: Sequence[Provenance]) -> list[Processed]:
    """PNG: the thumbnail and blurhash as for uploads, the full-size file with provenance.
    The full-size files are encoded in the pool while this thread makes the rest."""
    fulls: list[Future[bytes]] = [_ENCODERS.submit(encode_image, image, "PNG", info)
                                  for image, info in zip(images, infos, strict=True)]
    parts = [(decoded, *derived(decoded)) for decoded in (
        Decoded(image=image.convert("RGB"), source_format="PNG", icc_profile=None)
        for image in images)]
    return [assemble(decoded, Rendition(data=full.result(), width=decoded.image.width,
                                        height=decoded.image.height), small, blurhash)
            for (decoded, small, blurhash), full in zip(parts, fulls, strict=True)]
