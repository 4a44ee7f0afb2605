"""The kinds of file that may be uploaded, told by their content, never their name.

A file is one of these kinds only if its first bytes say so (and, for an
image, only if Pillow then decodes it as that format). Its name is not
believed, but a name that claims another kind is refused. Text is text
only if it is valid UTF-8 with no control characters but tab, line feed,
carriage return and form feed. So a script renamed `.png` is refused, and
an HTML page named `.txt` is kept as text and always downloaded, never
shown (chat.views.download).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # as in settings.UPLOAD_TYPES
    content_type: str
    # The first is given to the stored file; a name may end in any of them.
    extensions: tuple[str, ...]
    image: bool = False  # a raster image Pillow decodes, re-encodes and thumbnails
    pillow_format: str | None = None

    @property
    def extension(self) -> str:
        return self.extensions[0]


KINDS = {
    k.name: k
    for k in (
        Kind("png", "image/png", (".png",), image=True, pillow_format="PNG"),
        Kind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), image=True, pillow_format="JPEG"),
        Kind("gif", "image/gif", (".gif",), image=True, pillow_format="GIF"),
        Kind("webp", "image/webp", (".webp",), image=True, pillow_format="WEBP"),
        Kind("pdf", "application/pdf", (".pdf",)),
        Kind("zip", "application/zip", (".zip",)),
        Kind("txt", "text/plain", (".txt", ".text", ".log", ".md")),
        Kind("csv", "text/csv", (".csv",)),
    )
}

# The bytes a kind's files start with (`RIFF????WEBP`: WebP's 4 size bytes vary).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
)
# Control characters text may not hold: all but tab, line feed, form feed and
# carriage return.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def allowed() -> dict[str, Kind]:
    """The kinds settings.UPLOAD_TYPES accepts, by name."""
    unknown = set(settings.UPLOAD_TYPES) - set(KINDS)
    if unknown:
        raise ImproperlyConfigured(
            f"UPLOAD_TYPES has unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}."
        )
    return {name: KINDS[name] for name in settings.UPLOAD_TYPES}


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CONTROLS.search(text) is None


def _by_content(data: bytes, extension: str) -> Kind | None:
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return KINDS[kind]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return KINDS["webp"]
    if data and _is_text(data):
        return KINDS["csv"] if extension == ".csv" else KINDS["txt"]
    return None


def detect(data: bytes, name: str) -> Kind | None:
    """The kind of a file by its content, or None when it is none of them.

    The name's extension, if it has one, must agree: a script renamed
    `.png` is text that claims to be an image, and `.svg`, `.html` or `.exe`
    name no accepted kind, whatever they hold. Images may carry another
    image kind's extension (a PNG saved as `.jpg`): they are re-encoded as
    what they are. Without an extension the content decides.
    """
    extension = os.path.splitext(name.lower())[1]
    kind = _by_content(data, extension)
    if kind is None or not extension or extension in kind.extensions:
        return kind
    if kind.image and any(extension in k.extensions for k in KINDS.values() if k.image):
        return kind
    return None


def page_limits() -> dict:
    """What the pages check before uploading: the size limit and an `accept` list."""
    kinds = allowed().values()
    accept = sorted({k.content_type for k in kinds}) + sorted({e for k in kinds for e in k.extensions})
    return {"max_bytes": settings.UPLOAD_MAX_BYTES, "accept": ",".join(accept)}
