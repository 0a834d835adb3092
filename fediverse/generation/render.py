"""Rendering queued requests: those of one size and step count in one pipeline call, each
picture encoded for the web (the full-size file with its provenance, a thumbnail, a blurhash)
and written under the media directory. Runs in a worker thread."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fediverse.generation.requests import Ask
from fediverse.imaging import Provenance, encode_image, get_pipeline
from fediverse.media.processing import Decoded, Processed, Rendition, render
from fediverse.media.storage import StoredFiles, write_files

if TYPE_CHECKING:
    from PIL.Image import Image

Shape = tuple[int | None, int | None, int | None]  # steps, width, height


@dataclasses.dataclass(frozen=True)
class Rendered:
    """One finished picture: its encodings and where they were written."""

    processed: Processed
    files: StoredFiles


def shape_of(ask: Ask) -> Shape:
    """Requests of the same shape share a pipeline call."""
    return ask.steps, ask.width, ask.height


def render_asks(model: str, device: str, media_dir: Path, asks: Sequence[Ask]
                ) -> list[Rendered]:
    """Render requests of one shape in one call; one result per request, in order."""
    pipeline = get_pipeline(model, device)
    steps, width, height = shape_of(asks[0])
    settings = pipeline.settings(steps=steps, width=width, height=height)
    negatives = [ask.negative_prompt or "" for ask in asks]
    images = pipeline.generate([ask.prompt for ask in asks],
                               seeds=[int(ask.seed or 0) for ask in asks],
                               steps=settings.steps, width=settings.width,
                               height=settings.height, guidance=settings.guidance,
                               negative_prompts=negatives if any(negatives) else None)
    results = []
    for ask, image in zip(asks, images, strict=True):
        info = Provenance(prompt=ask.prompt, negative_prompt=ask.negative_prompt,
                          seed=int(ask.seed or 0), steps=settings.steps, model=model,
                          width=image.width, height=image.height, guidance=settings.guidance,
                          sampler=pipeline.sampler)
        processed = encoded(image, info)
        results.append(Rendered(processed=processed, files=write_files(media_dir, processed)))
    return results


def encoded(image: Image, info: Provenance) -> Processed:
    """PNG: the thumbnail and blurhash as for uploads, the full-size file with provenance."""
    processed = render(Decoded(image=image.convert("RGB"), source_format="PNG",
                               icc_profile=None))
    original = Rendition(data=encode_image(image, "PNG", info), width=image.width,
                         height=image.height)
    return dataclasses.replace(processed, original=original)
