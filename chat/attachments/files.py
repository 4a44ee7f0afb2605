"""Where uploaded bytes go: Django's default storage (settings FILE_STORAGE).

Stored names are random (`attachments/2026/12/<32 hex>.png`): nothing in a
name says whose file it is or can be guessed. The upload's own name is
kept in the database and given back in Content-Disposition.

Files are deleted only after the transaction that deletes their row
commits, whichever way it goes (a conversation purged, a customer
deleted, an unsent upload swept, a row deleted in admin): a rollback keeps
them.
"""

from __future__ import annotations

import logging
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone

log = logging.getLogger(__name__)


def new_name(extension: str, suffix: str = "") -> str:
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{secrets.token_hex(16)}{suffix}{extension}"


def save(name: str, content: bytes) -> str:
    """Store `content` under `name` (or a name the storage chooses beside it); the stored name."""
    return default_storage.save(name, ContentFile(content))


def delete_now(*names: str) -> None:
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except Exception:
            # A file left behind costs space, never correctness: say so and go on.
            log.exception("could not delete stored file %s", name)


def _delete_files_of(sender, instance, **kwargs) -> None:
    names = (instance.file.name, instance.thumbnail.name)
    transaction.on_commit(lambda: delete_now(*names), robust=True)


def connect_signals() -> None:
    """Delete an attachment's files once its deletion commits (chat.apps)."""
    from ..models import Attachment

    post_delete.connect(_delete_files_of, sender=Attachment, dispatch_uid="chat.attachment.files")
