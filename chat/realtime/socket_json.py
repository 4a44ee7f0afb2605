"""JSON for Socket.IO packets: orjson behind the calls python-socketio makes.

Every frame in and out is a JSON text; the standard library's encoder took
about 6 µs per message shape and its decoder about 3 µs per incoming event,
orjson under 1 µs each (docs/PERFORMANCE.md). Its output is compact (the
separators python-socketio asks for) and keeps non-ASCII characters as
UTF-8 instead of escaping them: the same JSON values either way.

orjson differs from the standard library at the edges: it refuses lone
UTF-16 surrogates (`"\\ud800"`), which `json` accepts and produces, and
reads an integer beyond 64 bits as a float where `json` keeps it exact.
Texts with a lone surrogate, or with a run of 19 digits or more (maybe such
an integer), go through `json`, so what a client may send, and what it gets
back, is the same as with python-socketio's default.
"""

from __future__ import annotations

import json
import re

import orjson

# Payloads may have integer keys (json.dumps turns them into strings too).
_OPTIONS = orjson.OPT_NON_STR_KEYS
_LONG_NUMBER = re.compile(r"\d{19}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{19}")  # pub/sub messages (Redis) arrive as bytes


def dumps(value, **_ignored) -> str:
    """`json.dumps`'s place; its keyword arguments (separators) are what orjson does anyway."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # a huge integer, a lone surrogate, or a type json refuses too
        return json.dumps(value, separators=(",", ":"))


def loads(text, **_ignored):
    long_number = _LONG_NUMBER_BYTES if isinstance(text, bytes | bytearray) else _LONG_NUMBER
    if long_number.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # valid JSON orjson refuses, or the error json gives
