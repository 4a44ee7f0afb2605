"""The error codes of PROTOCOL.md and the exception that carries them."""

from __future__ import annotations

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
UNKNOWN_EVENT = "unknown_event"
INTERNAL = "internal"
# A customer token that expired or was revoked (customer:join).
INVALID_TOKEN = "invalid_token"


class ChatError(Exception):
    """A refusal the client is told about; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_ack(self) -> dict:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}
