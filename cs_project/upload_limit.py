"""Uploads over the size limit are refused before their body is read.

Django reads a request's whole body before any view runs (into a
temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE), so a view can only
refuse a 2 GB upload after storing it. This ASGI wrapper answers
`413 too_large` at once when `Content-Length` says the body is too big,
and stops reading, with the same answer, when a body without one grows
past the limit. The view checks the file's own size again.

Under uvicorn (production, deploy/serve) nothing more of the body is read.
Under Daphne (`make run`), Twisted receives a request's whole body before
any application sees it, so there the refusal keeps the body from Django
and the storage, not from the server's temporary buffer.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils import translation

from .languages import from_environ

PATH = "/api/uploads/"
# The multipart framing around the file: boundaries, headers, a long file name.
FRAMING_BYTES = 64 * 1024


class _TooLarge(Exception):
    pass


def _environ(scope: dict) -> dict:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return {
        "HTTP_ACCEPT_LANGUAGE": headers.get("accept-language", ""),
        "HTTP_COOKIE": headers.get("cookie", ""),
    }


def _content_length(scope: dict) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: dict, send) -> None:
    from chat.services.uploads import too_large  # the same wording as the view's

    with translation.override(from_environ(_environ(scope))):
        body = json.dumps(too_large().as_ack()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UploadBodyLimit:
    """ASGI middleware around the Django app (cs_project/asgi.py)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") != PATH:
            return await self.app(scope, receive, send)
        most = settings.UPLOAD_MAX_BYTES + FRAMING_BYTES
        length = _content_length(scope)
        if length is not None and length > most:
            return await _refuse(scope, send)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > most:
                    raise _TooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if not started:
                await _refuse(scope, send)
