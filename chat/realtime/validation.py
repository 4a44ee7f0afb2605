"""Payload parsing for every client event, by the limits of PROTOCOL.md.

Each parser takes what the client sent and returns clean values or raises
ChatError; nothing here touches the database.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from ..errors import INVALID_PAYLOAD, TOO_LARGE, ChatError

MAX_PAYLOAD_BYTES = 16 * 1024
MAX_TEXT = 4000
MAX_NAME = 80
MAX_TOPIC = 80
MAX_RATING_COMMENT = 1000
MAX_HISTORY_LIMIT = 200
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
AGENT_STATUSES = ("online", "busy", "offline")


def _payload_size(value: Any) -> int:
    # The common payloads are flat dicts of strings and numbers: sum them up
    # without building a JSON string; nested values are measured exactly.
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 2
    if isinstance(value, dict):
        return 2 + sum(_payload_size(k) + _payload_size(v) + 2 for k, v in value.items())
    if isinstance(value, (int, float, bool)) or value is None:
        return 8
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))


def payload(args: tuple, allowed: frozenset[str]) -> dict:
    """The event's single object argument, size-checked, with known keys only."""
    if len(args) == 0:
        data: Any = {}
    elif len(args) == 1:
        data = args[0]
    else:
        raise ChatError(INVALID_PAYLOAD, _("Send one object as the event's payload."))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ChatError(INVALID_PAYLOAD, _("The payload must be a JSON object."))
    if _payload_size(data) > MAX_PAYLOAD_BYTES:
        raise ChatError(TOO_LARGE, _("The payload is over %(limit)s bytes."), limit=MAX_PAYLOAD_BYTES)
    unknown = set(data) - allowed
    if unknown:
        raise ChatError(
            INVALID_PAYLOAD,
            _("Unknown field(s): %(fields)s."),
            fields=", ".join(sorted(map(str, unknown))),
        )
    return data


def text(data: dict, field: str = "text") -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be a string."), field=field)
    value = value.strip()
    if not value:
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must not be empty."), field=field)
    if len(value) > MAX_TEXT:
        raise ChatError(
            TOO_LARGE, _("`%(field)s` is over %(limit)s characters."), field=field, limit=MAX_TEXT
        )
    if "\x00" in value:
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must not contain NUL characters."), field=field)
    return value


def message_body(data: dict) -> tuple[str, int | None]:
    """A message's text and `attachment_id`: with an attachment, the text may be empty."""
    attachment_id = identifier(data, "attachment_id", required=False)
    if attachment_id is None:
        return text(data), None
    value = data.get("text")
    if value is None or value == "":
        return "", attachment_id
    if not isinstance(value, str):
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be a string."), field="text")
    return (text(data) if value.strip() else ""), attachment_id


def client_id(data: dict) -> str | None:
    value = data.get("client_id")
    if value is None:
        return None
    if not isinstance(value, str) or not CLIENT_ID_RE.fullmatch(value):
        raise ChatError(INVALID_PAYLOAD, _("`client_id` must be 1 to 64 of A-Z a-z 0-9 _ -."))
    return value


def _optional_str(data: dict, field: str, limit: int) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be a string."), field=field)
    value = value.strip()
    if len(value) > limit:
        raise ChatError(
            INVALID_PAYLOAD, _("`%(field)s` is over %(limit)s characters."), field=field, limit=limit
        )
    if "\x00" in value:
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must not contain NUL characters."), field=field)
    return value or None


def name(data: dict) -> str | None:
    return _optional_str(data, "name", MAX_NAME)


def topic(data: dict) -> str | None:
    return _optional_str(data, "topic", MAX_TOPIC)


def email(data: dict) -> str | None:
    value = _optional_str(data, "email", 254)
    if value is None:
        return None
    try:
        validate_email(value)
    except ValidationError:
        raise ChatError(INVALID_PAYLOAD, _("`email` is not a valid address.")) from None
    return value


def token(data: dict) -> str | None:
    value = data.get("token")
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 512:
        raise ChatError(INVALID_PAYLOAD, _("`token` must be the string from an earlier join."))
    return value


def identifier(data: dict, field: str, *, required: bool = True) -> int | None:
    """A positive integer id (JSON numbers only; booleans are not ids)."""
    value = data.get(field)
    if value is None:
        if required:
            raise ChatError(INVALID_PAYLOAD, _("`%(field)s` is required."), field=field)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be a positive integer."), field=field)
    return value


def cursor(data: dict, field: str) -> int | None:
    """A message id to resume after: 0 or more, or absent."""
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be an integer of 0 or more."), field=field)
    return value


def limit(data: dict, default: int = 50, maximum: int = MAX_HISTORY_LIMIT) -> int:
    value = data.get("limit")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ChatError(INVALID_PAYLOAD, _("`limit` must be 1 to %(maximum)s."), maximum=maximum)
    return value


def offset(data: dict) -> int:
    """A position to list from: 0 or more, or absent (0)."""
    value = data.get("offset")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ChatError(INVALID_PAYLOAD, _("`offset` must be an integer of 0 or more."))
    return value


def boolean(data: dict, field: str) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise ChatError(INVALID_PAYLOAD, _("`%(field)s` must be true or false."), field=field)
    return value


def agent_status(data: dict) -> str:
    value = data.get("status")
    if value not in AGENT_STATUSES:
        raise ChatError(INVALID_PAYLOAD, _("`status` must be online, busy or offline."))
    return value


def rating(data: dict) -> tuple[int, str]:
    """`customer:rating`'s score (an integer 1 to 5; booleans are not) and comment ("" when absent)."""
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ChatError(INVALID_PAYLOAD, _("`score` must be an integer from 1 to 5."))
    return score, _optional_str(data, "comment", MAX_RATING_COMMENT) or ""
