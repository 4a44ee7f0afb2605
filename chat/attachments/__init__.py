"""Files and images in chats: what may be uploaded, how it is kept, and how it is linked.

- `kinds`: the kinds of file accepted, told by content (settings UPLOAD_TYPES).
- `images`: images re-encoded without metadata, and their thumbnails (Pillow).
- `files`: where the bytes go (Django's storage API) and when they are deleted.
- `links`: signed, expiring download links.

Uploading is `chat.services.uploads`; sending an attachment in a message
is the message writer's (`chat.message_store.attachments`); downloading is
`chat.views`.
"""

from __future__ import annotations

from .kinds import page_limits
from .links import link

__all__ = ["page_limits", "shape"]


def shape(a) -> dict:
    """The PROTOCOL.md Attachment of a stored `chat.models.Attachment`, with fresh links."""
    return {
        "id": a.id,
        "name": a.name,
        "size": a.size,
        "content_type": a.content_type,
        "url": link(a.id, "file"),
        "thumbnail_url": link(a.id, "thumbnail") if a.thumbnail else None,
        "width": a.width,
        "height": a.height,
    }
