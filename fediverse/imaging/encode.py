"""Encoding a generated image with its provenance: the A1111 `parameters` text that image
tools read, and XMP naming the IPTC digital source type for generated media. The bytes are
the same for the same image and metadata (nothing time-dependent is written)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from fediverse.imaging.errors import InvalidRequest

if TYPE_CHECKING:
    from PIL.Image import Image

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
XMP_KEY = "XML:com.adobe.xmp"
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Provenance:
    """How an image was made."""

    prompt: str
    seed: int
    steps: int
    model: str
    width: int
    height: int
    negative_prompt: str | None = None
    guidance: float | None = None
    sampler: str | None = None


def format_for_path(path: Path) -> str:
    """Pillow's format name for a file name: .png (also when there is no suffix), .jpg/.jpeg,
    .webp."""
    suffix = path.suffix.lower() or ".png"
    if suffix not in FORMATS:
        raise InvalidRequest(f"unsupported image type {suffix}: use .png, .jpg or .webp")
    return FORMATS[suffix]


def parameters_text(info: Provenance) -> str:
    """The A1111 `parameters` text: prompt, negative prompt, then `Key: value` pairs."""
    lines = [info.prompt]
    if info.negative_prompt:
        lines.append(f"Negative prompt: {info.negative_prompt}")
    pairs = [("Steps", str(info.steps))]
    if info.sampler:
        pairs.append(("Sampler", info.sampler))
    if info.guidance is not None:
        pairs.append(("CFG scale", f"{info.guidance:g}"))
    pairs += [("Seed", str(info.seed)), ("Size", f"{info.width}x{info.height}"),
              ("Model", info.model)]
    lines.append(", ".join(f"{key}: {quoted(value)}" for key, value in pairs))
    return "\n".join(lines)


def quoted(value: str) -> str:
    """A value as A1111 writes it: JSON-quoted when it holds a comma, colon or newline."""
    return json.dumps(value, ensure_ascii=False) if re.search(r"[,:\n]", value) else value


def xmp_packet(info: Provenance) -> str:
    """XMP with the IPTC digital source type, the prompt as description, the tool's name."""
    description = escape(_NOT_XML.sub("", info.prompt))
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"\n'
        '    xmp:CreatorTool="fediverse">\n'
        '   <dc:description><rdf:Alt>'
        f'<rdf:li xml:lang="x-default">{description}</rdf:li></rdf:Alt></dc:description>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="r"?>'
    )


def encode_image(image: Image, fmt: str, info: Provenance) -> bytes:
    """The image as PNG, JPEG or WEBP bytes with `info` embedded."""
    buffer = io.BytesIO()
    xmp = xmp_packet(info)
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        chunks = PngInfo()
        chunks.add_text("parameters", parameters_text(info))
        chunks.add_itxt(XMP_KEY, xmp)
        image.save(buffer, "PNG", pnginfo=chunks, optimize=False)
    elif fmt in ("JPEG", "WEBP"):
        options = {"quality": 92} if fmt == "JPEG" else {"quality": 90, "method": 4}
        image.convert("RGB").save(buffer, fmt, exif=exif_comment(parameters_text(info)),
                                  xmp=xmp.encode("utf-8"), **options)
    else:
        raise InvalidRequest(f"unsupported image format {fmt}")
    return buffer.getvalue()


def exif_comment(text: str) -> bytes:
    """EXIF with the parameters as UserComment, where A1111 keeps them in JPEG and WebP."""
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = b"UNICODE\x00" + text.encode("utf-16-be")
    return exif.tobytes()
