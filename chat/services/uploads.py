"""Uploads: a file checked, cleaned and stored, ready to be sent in a message.

An upload belongs to whoever made it (a customer or an agent) and may be
sent once, by them (chat.message_store.attachments). What is refused keeps
nothing: the checks come before any file is stored, and a row that fails
to be created takes its files with it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from ..attachments import files, images, kinds, shape
from ..errors import TOO_LARGE, UNSUPPORTED_TYPE, ChatError
from ..models import Attachment

MAX_NAME = 200
# Path separators and control characters never reach a stored or shown name.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_name(raw: str | None, extension: str) -> str:
    """The upload's name as shown: its last path part, without control characters, at most 200."""
    name = unicodedata.normalize("NFC", raw or "")
    name = _UNSAFE.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    if not name:
        return "file" + extension
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: MAX_NAME - len(ext)] + ext
    return name


def too_large() -> ChatError:
    """`too_large`, naming the limit in the active language's units ("10.0 MB")."""
    return ChatError(
        TOO_LARGE,
        _("The file is over the limit of %(limit)s."),
        limit=filesizeformat(settings.UPLOAD_MAX_BYTES).replace("\xa0", " "),
    )


def _unsupported() -> ChatError:
    names = ", ".join(kinds.allowed())
    return ChatError(
        UNSUPPORTED_TYPE,
        _("This kind of file cannot be sent. Accepted: %(kinds)s."),
        kinds=names,
    )


def attachment_upload(*, upload: UploadedFile, customer_id: int | None, agent_id: int | None) -> dict:
    """Check, clean and store an upload; its PROTOCOL.md Attachment.

    Raises ChatError `too_large` (over UPLOAD_MAX_BYTES, or an image over
    UPLOAD_MAX_PIXELS) or `unsupported_type` (content of no accepted kind),
    storing nothing.
    """
    if (customer_id is None) == (agent_id is None):
        raise ValueError("an upload has exactly one uploader")
    if upload.size is None or upload.size > settings.UPLOAD_MAX_BYTES:
        raise too_large()
    upload.seek(0)
    data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise too_large()
    kind = kinds.detect(data, upload.name or "")
    if kind is None or kind.name not in kinds.allowed():
        raise _unsupported()
    width = height = None
    thumbnail = None
    if kind.image:
        try:
            processed = images.process(data, kind)
        except images.TooManyPixels:
            raise ChatError(
                TOO_LARGE,
                _("The image is over the limit of %(pixels)s million pixels."),
                pixels=f"{settings.UPLOAD_MAX_PIXELS / 1e6:g}",
            ) from None
        except images.NotAnImage:
            raise _unsupported() from None
        data, thumbnail = processed.content, processed.thumbnail
        width, height = processed.width, processed.height
    stored = [files.save(files.new_name(kind.extension), data)]
    try:
        if thumbnail is not None:
            stored.append(files.save(files.new_name(".webp", "-thumb"), thumbnail))
        with transaction.atomic():
            attachment = Attachment.objects.create(
                file=stored[0],
                thumbnail=stored[1] if thumbnail is not None else "",
                name=clean_name(upload.name, kind.extension),
                size=len(data),
                content_type=kind.content_type,
                width=width,
                height=height,
                customer_id=customer_id,
                agent_id=agent_id,
            )
    except BaseException:
        files.delete_now(*stored)
        raise
    return shape(attachment)


def attachments_purge_unsent(*, older_than: datetime, batch: int) -> int:
    """Delete up to `batch` uploads never sent and made before `older_than`; how many.

    Their files go once the deletion commits (chat.attachments.files).
    """
    with transaction.atomic():
        ids = list(
            Attachment.objects.filter(message__isnull=True, created_at__lt=older_than)
            .order_by("created_at")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return 0
        # Checked again in the delete: one sent meanwhile stays.
        _, per_model = Attachment.objects.filter(id__in=ids, message__isnull=True).delete()
    return per_model.get(Attachment._meta.label, 0)
