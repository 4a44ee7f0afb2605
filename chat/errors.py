"""The error codes of PROTOCOL.md and the exception that carries them."""

from __future__ import annotations

from django.utils import translation

INVALID_PAYLOAD = "invalid_payload"
TOO_LARGE = "too_large"
NOT_JOINED = "not_joined"
NOT_LOGGED_IN = "not_logged_in"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
# The server's bounded queues are full; try again (chat.batching).
OVERLOADED = "overloaded"
# An upload whose content is none of the kinds accepted (POST /api/uploads/).
UNSUPPORTED_TYPE = "unsupported_type"
UNKNOWN_EVENT = "unknown_event"
INTERNAL = "internal"
# A customer token that expired or was revoked (customer:join, connecting).
INVALID_TOKEN = "invalid_token"
# An /agent connection without an agent's credentials (connecting only).
UNAUTHORIZED = "unauthorized"


class ChatError(Exception):
    """A refusal the client is told about; nothing was changed.

    `message` is a lazy translation (`gettext_lazy("... %(field)s ...")`)
    with its parameters as keywords, worded only when read: a refusal made
    inside a batch that serves many sockets (the message writer, the start
    batcher) is answered to each in that socket's language (`as_ack(lang)`).
    The code is the same in every language.
    """

    def __init__(self, code: str, message, **params) -> None:
        super().__init__(code)
        self.code = code
        self._message = message
        self.params = params

    @property
    def message(self) -> str:
        """The message in the active language."""
        text = str(self._message)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message

    def in_language(self, lang: str | None) -> str:
        """The message in `lang` (a supported code; None: the active language)."""
        if lang is None:
            return self.message
        with translation.override(lang):
            return self.message

    def as_error(self, lang: str | None = None) -> dict:
        """`{code, message}`, the message in `lang` (the socket's language)."""
        return {"code": self.code, "message": self.in_language(lang)}

    def as_ack(self, lang: str | None = None) -> dict:
        """The error ack, its message in `lang` (the socket's language)."""
        return {"ok": False, "error": self.as_error(lang)}
