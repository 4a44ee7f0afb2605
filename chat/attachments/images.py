"""Uploaded images, re-encoded: no metadata kept (EXIF location included), and a thumbnail.

Every image is decoded by Pillow and written again from its pixels, so
what is stored holds no EXIF, XMP or comment of the upload, and a file
that only looks like an image is refused. The orientation EXIF gave is
applied to the pixels first, so photos from phones stay upright.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from .kinds import Kind

# Pillow's own bomb check is replaced by UPLOAD_MAX_PIXELS, checked before decoding.
Image.MAX_IMAGE_PIXELS = None


class NotAnImage(Exception):
    """The file does not decode as the image its first bytes announce."""


class TooManyPixels(Exception):
    """Decoded, the image would be over UPLOAD_MAX_PIXELS."""


@dataclass(slots=True)
class Processed:
    content: bytes
    thumbnail: bytes
    width: int
    height: int


def _bare(image: Image.Image, keep_colour_profile: bool = True) -> Image.Image:
    """The image with none of what it was read with (Pillow writes `info` back:
    comments, EXIF, XMP), but its colour profile."""
    profile = image.info.get("icc_profile")
    image.info = {"icc_profile": profile} if profile and keep_colour_profile else {}
    return image


def _encode(image: Image.Image, kind: Kind, frames: list[Image.Image] | None, timing: dict) -> bytes:
    out = io.BytesIO()
    if kind.pillow_format == "JPEG":
        _bare(image.convert("RGB") if image.mode != "RGB" else image).save(
            out, "JPEG", quality=90, optimize=True
        )
    elif frames:
        # An animation keeps its frames and timing, nothing else.
        frames[0].save(
            out,
            kind.pillow_format,
            save_all=True,
            append_images=frames[1:],
            **timing,
            **({"lossless": True} if kind.pillow_format == "WEBP" else {}),
        )
    elif kind.pillow_format == "WEBP":
        _bare(image).save(out, "WEBP", quality=90)
    else:
        _bare(image).save(out, kind.pillow_format)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    side = settings.UPLOAD_THUMBNAIL_PIXELS
    thumb = image.copy()
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA")
    thumb.thumbnail((side, side))
    out = io.BytesIO()
    _bare(thumb).save(out, "WEBP", quality=80)
    return out.getvalue()


def process(data: bytes, kind: Kind) -> Processed:
    """Decode `data` as `kind`, check its size, and return it re-encoded with its thumbnail.

    Raises NotAnImage or TooManyPixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data), formats=[kind.pillow_format])
            width, height = source.size
            n_frames = getattr(source, "n_frames", 1)
            if width * height * n_frames > settings.UPLOAD_MAX_PIXELS:
                raise TooManyPixels()
            timing: dict = {}
            if n_frames > 1:
                frames, durations = [], []
                for index in range(n_frames):
                    source.seek(index)
                    durations.append(source.info.get("duration", 100))
                    frames.append(_bare(source.convert("RGBA"), keep_colour_profile=False))
                timing = {"duration": durations, "loop": source.info.get("loop", 0)}
                first = frames[0]
            else:
                source.load()
                first = ImageOps.exif_transpose(source)
                frames = None
            width, height = first.size
            return Processed(_encode(first, kind, frames, timing), _thumbnail(first), width, height)
    except TooManyPixels:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
    ) as e:
        raise NotAnImage() from e
    except Image.DecompressionBombWarning as e:
        raise TooManyPixels() from e
