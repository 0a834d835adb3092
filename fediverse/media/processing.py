"""Uploaded images, from bytes to what we store: decoded to check them (type, size, pixels,
decompression bombs), turned upright by their EXIF orientation, re-encoded without any
metadata (no EXIF, GPS or XMP), with a thumbnail, a blurhash and Mastodon's `meta` sizes.
Pure functions: no database, no files."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import blurhash  # type: ignore[import-untyped]
from PIL import Image, ImageOps

from fediverse.media.errors import MediaError

MAX_BYTES = 16 * 1024 * 1024  # Mastodon's image_size_limit
MAX_PIXELS = 7680 * 4320  # Mastodon's image_matrix_limit (33,177,600)
ORIGINAL_PIXELS = 3840 * 2160  # larger originals are scaled down to this area, as Mastodon does
SMALL_SIDE = 640  # the thumbnail's longest side
BLURHASH_SIDE = 64  # the blurhash is computed on a copy this small, so it is fast
BLURHASH_COMPONENTS = (4, 4)  # Mastodon's; it drops hashes of more than 5x5
JPEG_QUALITY = 90

# what we decode -> what we write: formats clients show everywhere
_OUTPUT = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "PNG", "WEBP": "WEBP", "AVIF": "JPEG", "HEIF": "JPEG"}
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_EXTENSION = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def accepted_mime_types() -> list[str]:
    """The image types an upload may be, as the instance's configuration lists them."""
    names = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
             "AVIF": "image/avif", "HEIF": "image/heic"}
    Image.init()
    return [mime for fmt, mime in names.items() if fmt in Image.OPEN]


@dataclass(frozen=True)
class Decoded:
    """An upload that passed every check, upright, in RGB or RGBA."""

    image: Image.Image
    source_format: str  # Pillow's name of what was uploaded: JPEG, PNG, GIF...
    icc_profile: bytes | None  # colours stay right; it says nothing of who or where

    @property
    def pixels(self) -> int:
        return self.image.width * self.image.height


@dataclass(frozen=True)
class Rendition:
    """One encoded image file."""

    data: bytes
    width: int
    height: int

    def meta(self) -> dict[str, Any]:
        """Mastodon's size entry: width, height, "WxH" and aspect."""
        return {"width": self.width, "height": self.height, "size": f"{self.width}x{self.height}",
                "aspect": self.width / self.height}


@dataclass(frozen=True)
class Processed:
    """What an upload becomes: the original and the thumbnail, in one format."""

    original: Rendition
    small: Rendition
    format: str  # JPEG, PNG or WEBP
    blurhash: str

    @property
    def mime_type(self) -> str:
        return _MIME[self.format]

    @property
    def extension(self) -> str:
        return _EXTENSION[self.format]


def process(data: bytes) -> Processed:
    """Check and re-encode an upload; MediaError says why one is refused."""
    return render(decode(data))


def decode(data: bytes) -> Decoded:
    """Decode an upload fully, refusing what is not an image we take or is too large."""
    if not data:
        raise MediaError("Validation failed: File is empty")
    if len(data) > MAX_BYTES:
        raise MediaError(f"Validation failed: File file size must be less than {MAX_BYTES // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as exc:  # Pillow's plugins raise many kinds on hostile files
        raise MediaError("Validation failed: File content type is invalid") from exc
    return _checked(image)


def _checked(image: Image.Image) -> Decoded:
    fmt = image.format or ""
    if fmt not in _OUTPUT:
        raise MediaError("Validation failed: File content type is invalid")
    # the header's size, before anything is decoded: a small file may declare a huge image
    if image.width * image.height > MAX_PIXELS or image.width < 1 or image.height < 1:
        raise MediaError(f"Validation failed: Image dimensions must be at most {MAX_PIXELS:,} pixels")
    icc = image.info.get("icc_profile") if image.mode != "CMYK" else None
    try:
        image.seek(0)  # animations: the first frame
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        clean = _rgb(upright)
    except Exception as exc:  # truncated data, bad EXIF, bombs: whatever the decoder meets
        raise MediaError("Validation failed: File could not be decoded") from exc
    clean.info = {}
    return Decoded(image=clean, source_format=fmt, icc_profile=icc or None)


def _rgb(image: Image.Image) -> Image.Image:
    """RGBA when the image has transparency, RGB otherwise."""
    if image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if image.mode.startswith("I"):  # 16/32-bit greyscale: scale to 8 bits first
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def render(decoded: Decoded) -> Processed:
    """The re-encoded original (scaled to at most ORIGINAL_PIXELS), thumbnail and blurhash."""
    original = _encode(_fit_area(decoded.image, ORIGINAL_PIXELS), output_format(decoded),
                       decoded.icc_profile)
    return assemble(decoded, original, *derived(decoded))


def derived(decoded: Decoded) -> tuple[Rendition | None, str]:
    """The thumbnail and the blurhash. The thumbnail is None when the image is no larger
    than one: the original's file then serves as the thumbnail too (same pixels)."""
    small = _fit_side(decoded.image, SMALL_SIDE)
    blurhash = blurhash_of(small)
    if small is decoded.image:
        return None, blurhash
    return _encode(small, output_format(decoded), decoded.icc_profile), blurhash


def assemble(decoded: Decoded, original: Rendition, small: Rendition | None,
             blurhash: str) -> Processed:
    """The parts, encoded apart (see `derived`), as one Processed."""
    return Processed(original=original, small=small or original,
                     format=output_format(decoded), blurhash=blurhash)


def output_format(decoded: Decoded) -> str:
    """JPEG stays JPEG, PNG stays PNG, WebP stays WebP; GIF becomes PNG; AVIF and HEIC become
    JPEG, or PNG when they carry transparency."""
    fmt = _OUTPUT[decoded.source_format]
    if fmt == "JPEG" and decoded.image.mode == "RGBA":
        return "PNG"
    return fmt


def _fit_area(image: Image.Image, pixels: int) -> Image.Image:
    if image.width * image.height <= pixels:
        return image
    scale = math.sqrt(pixels / (image.width * image.height))
    size = (max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _fit_side(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return copy


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> Rendition:
    """The image as `fmt`, carrying nothing but its pixels and colour profile."""
    image.info = {}  # resize and copy carry the source's info along: drop it all
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, optimize=True, progressive=True)
    elif fmt == "WEBP":
        options.update(quality=JPEG_QUALITY, method=4)
    else:
        options.update(optimize=False, compress_level=6)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return Rendition(data=buffer.getvalue(), width=image.width, height=image.height)


def blurhash_of(image: Image.Image) -> str:
    """Mastodon's blurhash of an image, computed on a copy at most BLURHASH_SIDE wide."""
    copy = image.copy()
    copy.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE), Image.Resampling.BILINEAR)
    if copy.mode == "RGBA":  # transparent areas read as white, as apps show them
        backdrop = Image.new("RGBA", copy.size, (255, 255, 255, 255))
        copy = Image.alpha_composite(backdrop, copy)
    return str(blurhash.encode(copy.convert("RGB"), *BLURHASH_COMPONENTS))


def meta_of(processed: Processed, focus: tuple[float, float]) -> dict[str, Any]:
    """The MediaAttachment's `meta`: original and small sizes, and the focal point."""
    return {"original": processed.original.meta(), "small": processed.small.meta(),
            "focus": focus_meta(focus)}


def focus_meta(focus: tuple[float, float]) -> dict[str, float]:
    return {"x": focus[0], "y": focus[1]}


def focus_from_text(text: str) -> tuple[float, float]:
    """A focal point "x,y", each from -1.0 to 1.0 (Mastodon's form); MediaError otherwise."""
    parts = text.split(",")
    try:
        x, y = (float(part) for part in parts)
    except ValueError:
        raise MediaError("Validation failed: focus must be two numbers, x,y") from None
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise MediaError("Validation failed: focus must be between -1.0 and 1.0")
    return x, y
