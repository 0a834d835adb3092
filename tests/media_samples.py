"""Image files for the media tests, made in memory: a phone photo with GPS and orientation
EXIF, decompression bombs, renamed text."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD, ORIENTATION, GPS_LATITUDE_REF, GPS_LATITUDE = 0x8825, 0x0112, 1, 2


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB",
                colour: object = (200, 30, 30), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def phone_photo(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with a GPS position, a camera and an orientation
    (6: the picture must be turned 90 degrees clockwise to stand upright), and XMP."""
    image = Image.new("RGB", size, (10, 120, 200))
    image.paste((250, 250, 0), (0, 0, size[0] // 2, size[1]))  # left half yellow
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    gps = exif.get_ifd(GPS_IFD)
    gps[GPS_LATITUDE_REF] = "N"
    gps[GPS_LATITUDE] = (52.0, 31.0, 12.5)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), xmp=xmp, quality=95)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def has_metadata(data: bytes) -> bool:
    """Whether an encoded image still carries EXIF, GPS or XMP."""
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif()) or "exif" in image.info or "xmp" in image.info or (
        b"Exif\x00" in data or b"xmpmeta" in data or b"PhoneMaker" in data)
