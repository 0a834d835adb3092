"""Image generation: a diffusers pipeline loaded lazily (torch, diffusers and transformers
are imported only when first needed), its inputs checked, its pictures encoded with
provenance. `tiny` is a built-in random-weight model for tests and offline demos."""

from fediverse.imaging.encode import Provenance, encode_image, format_for_path
from fediverse.imaging.errors import ImagingError, InvalidRequest, ModelUnavailable
from fediverse.imaging.generate import GenerationInfo, generate_to_file
from fediverse.imaging.options import ImageOptions
from fediverse.imaging.pipeline import ImagePipeline, get_pipeline, resolve_device

__all__ = [
    "GenerationInfo",
    "ImageOptions",
    "ImagePipeline",
    "ImagingError",
    "InvalidRequest",
    "ModelUnavailable",
    "Provenance",
    "encode_image",
    "format_for_path",
    "generate_to_file",
    "get_pipeline",
    "resolve_device",
]
