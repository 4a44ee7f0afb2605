"""Signed, expiring download links: `/api/attachments/<id>/<part>?e=<expiry>&s=<signature>`.

Anyone holding a link may download until it expires; nobody can make one
without the secret key. A link lasts at least ATTACHMENT_URL_MAX_AGE
seconds: its expiry is rounded up to a step (a quarter of that), so links
made within one step are the same URL and a browser that has an image
keeps using its copy.
"""

from __future__ import annotations

import hmac
import math
import time

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "chat.attachments.link"
PARTS = ("file", "thumbnail")


def _step(max_age: int) -> int:
    return max(1, max_age // 4)


def _signature(attachment_id: int, part: str, expires: int) -> str:
    return salted_hmac(SALT, f"{attachment_id}:{part}:{expires}", algorithm="sha256").hexdigest()[:32]


def link(attachment_id: int, part: str, now: float | None = None) -> str:
    """A signed link to `part` ("file" or "thumbnail") of the attachment."""
    max_age = settings.ATTACHMENT_URL_MAX_AGE
    step = _step(max_age)
    now = time.time() if now is None else now
    expires = math.ceil((now + max_age) / step) * step
    return f"/api/attachments/{attachment_id}/{part}?e={expires}&s={_signature(attachment_id, part, expires)}"


def valid(attachment_id: int, part: str, expires: str | None, signature: str | None) -> bool:
    """Whether a link's `e` and `s` are this attachment part's, and it has not expired."""
    if part not in PARTS or not expires or not signature or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(attachment_id, part, int(expires)), signature)
