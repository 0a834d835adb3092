"""Uploaded images: checked by decoding, upright, re-encoded without metadata, with a
thumbnail, blurhash and Mastodon's meta; and their files."""

from __future__ import annotations

import io
from pathlib import Path

import blurhash
import pytest
from PIL import Image, features

from fediverse.media.errors import MediaError
from fediverse.media.processing import (
    MAX_BYTES,
    MAX_PIXELS,
    ORIGINAL_PIXELS,
    SMALL_SIDE,
    accepted_mime_types,
    decode,
    focus_from_text,
    meta_of,
    process,
)
from fediverse.media.storage import remove_files, write_files
from tests.media_samples import has_metadata, image_bytes, phone_photo, png_declaring


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_phone_photo_loses_its_exif_and_gps_and_stands_upright() -> None:
    source = phone_photo((80, 40), orientation=6)
    assert has_metadata(source)
    result = process(source)
    assert result.format == "JPEG" and result.mime_type == "image/jpeg"
    assert not has_metadata(result.original.data)
    assert not has_metadata(result.small.data)
    upright = opened(result.original.data)
    assert upright.size == (40, 80) == (result.original.width, result.original.height)
    # turned clockwise: the yellow left half is now on top
    assert upright.convert("RGB").getpixel((20, 5))[2] < 100  # type: ignore[index]
    assert upright.convert("RGB").getpixel((20, 75))[2] > 150  # type: ignore[index]


@pytest.mark.parametrize(("fmt", "mode", "expected"), [
    ("PNG", "RGB", "PNG"), ("PNG", "RGBA", "PNG"), ("PNG", "P", "PNG"), ("PNG", "L", "PNG"),
    ("PNG", "I;16", "PNG"), ("GIF", "P", "PNG"), ("WEBP", "RGB", "WEBP"), ("JPEG", "L", "JPEG"),
    ("JPEG", "CMYK", "JPEG"),
])
def test_formats_are_kept_or_made_common(fmt: str, mode: str, expected: str) -> None:
    colour = {"I;16": 30000, "L": 128, "P": 3, "CMYK": (0, 200, 200, 0)}.get(mode, (1, 2, 3))
    result = process(image_bytes(fmt, (30, 20), mode=mode, colour=colour))
    assert result.format == expected
    assert opened(result.original.data).format == expected
    assert (result.original.width, result.original.height) == (30, 20)


def test_transparency_is_kept() -> None:
    result = process(image_bytes("PNG", (10, 10), mode="RGBA", colour=(0, 0, 0, 0)))
    assert opened(result.original.data).mode == "RGBA"


@pytest.mark.skipif(not features.check("avif"), reason="Pillow without AVIF")
def test_avif_becomes_jpeg() -> None:
    result = process(image_bytes("AVIF", (32, 32)))
    assert result.format == "JPEG" and "image/avif" in accepted_mime_types()


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("P", (12, 12), i) for i in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    result = process(buffer.getvalue())
    assert result.format == "PNG" and opened(result.original.data).n_frames == 1


def test_large_images_are_scaled_down_with_a_small_thumbnail_and_blurhash() -> None:
    source = image_bytes("JPEG", (4000, 3000), colour=(90, 160, 40))
    result = process(source)
    assert result.original.width * result.original.height <= ORIGINAL_PIXELS
    assert abs(result.original.width / result.original.height - 4 / 3) < 0.01
    assert max(result.small.width, result.small.height) == SMALL_SIDE
    assert opened(result.small.data).size == (result.small.width, result.small.height)
    assert blurhash.is_valid_blurhash(result.blurhash)
    assert result.blurhash[0] == "U"  # 4x4 components, as Mastodon makes them


def test_an_image_no_larger_than_a_thumbnail_is_its_own_thumbnail() -> None:
    small = process(image_bytes("PNG", (SMALL_SIDE, 300)))
    assert small.small is small.original  # encoded once: the same file serves both
    larger = process(image_bytes("PNG", (SMALL_SIDE + 1, 300)))
    assert larger.small.data != larger.original.data
    assert (larger.small.width, opened(larger.small.data).width) == (SMALL_SIDE, SMALL_SIDE)


def test_meta_has_mastodons_sizes_and_focus() -> None:
    result = process(image_bytes("PNG", (1280, 640)))
    meta = meta_of(result, (0.5, -0.25))
    assert meta["original"] == {"width": 1280, "height": 640, "size": "1280x640", "aspect": 2.0}
    assert meta["small"] == {"width": 640, "height": 320, "size": "640x320", "aspect": 2.0}
    assert meta["focus"] == {"x": 0.5, "y": -0.25}


@pytest.mark.parametrize("data", [
    b"hello, I am text pretending to be a PNG\n",
    b"",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
], ids=["text", "empty", "png-signature-only", "svg"])
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(MediaError, match="Validation failed"):
        decode(data)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_types_are_refused(fmt: str) -> None:
    with pytest.raises(MediaError, match="content type"):
        decode(image_bytes(fmt, (16, 16)))


@pytest.mark.parametrize("size", [(6000, 6000), (20000, 20000), (2**31 - 1, 2**31 - 1)])
def test_decompression_bombs_are_refused_before_decoding(size: tuple[int, int]) -> None:
    bomb = png_declaring(*size)
    assert len(bomb) < 200
    with pytest.raises(MediaError):
        decode(bomb)


def test_the_pixel_limit_is_mastodons() -> None:
    assert MAX_PIXELS == 33_177_600
    with pytest.raises(MediaError, match="dimensions"):
        decode(png_declaring(7681, 4320))


def test_truncated_images_are_refused() -> None:
    whole = image_bytes("JPEG", (200, 200))
    with pytest.raises(MediaError, match="decoded"):
        decode(whole[: len(whole) // 2])


def test_files_over_16_mb_are_refused_unread() -> None:
    with pytest.raises(MediaError, match="16 MB"):
        decode(image_bytes("PNG", (8, 8)) + b"\x00" * MAX_BYTES)


@pytest.mark.parametrize(("text", "expected"), [
    ("0,0", (0.0, 0.0)), ("-1,1", (-1.0, 1.0)), ("0.25, -0.5", (0.25, -0.5)),
])
def test_focus_from_text(text: str, expected: tuple[float, float]) -> None:
    assert focus_from_text(text) == expected


@pytest.mark.parametrize("text", ["1", "a,b", "0,0,0", "2,0", "0,-1.5", "nan,0", "inf,0"])
def test_bad_focus_is_refused(text: str) -> None:
    with pytest.raises(MediaError, match="focus"):
        focus_from_text(text)


def test_files_get_random_names_under_the_media_dir(tmp_path: Path) -> None:
    result = process(image_bytes("PNG", (700, 100)))
    first, second = write_files(tmp_path, result), write_files(tmp_path, result)
    assert len({first.original, first.small, second.original, second.small}) == 4
    for path in (first.original, first.small):
        assert path.startswith("attachments/") and path.endswith(".png")
        assert len(Path(path).stem) == 32
    assert (tmp_path / first.original).read_bytes() == result.original.data
    assert (tmp_path / first.small).read_bytes() == result.small.data
    assert not list(tmp_path.rglob("*.tmp"))
    remove_files(tmp_path, first.original, first.small, None)
    assert not (tmp_path / first.original).exists() and not (tmp_path / first.small).exists()
