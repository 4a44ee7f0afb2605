"""Socket.IO's JSON (orjson) reads and writes what the standard library does."""

import json

import pytest

from chat.realtime import socket_json

VALUES = [
    ["customer:message", {"text": "héllo 😀 <b>", "client_id": "c-1"}],
    {"id": 2**63, "big": 10**40, "neg": -(2**63) - 1, "f": 1.5, "none": None, "t": True},
    {"phone": "+1 5550123456789012345", "n": 1234567890123456789012, "e": 1e300},
    {"lone": "\ud800", "pair": "\ud83d\ude00"},
    [[], {}, "", 0, -1, 2**53 + 1],
]


@pytest.mark.parametrize("value", VALUES)
def test_decodes_what_json_writes(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, separators=(",", ":"))):
        assert socket_json.loads(text) == json.loads(text)
        # Messages from the pub/sub manager (Redis) are bytes.
        assert socket_json.loads(text.encode("utf-8", "surrogatepass")) == json.loads(text)


@pytest.mark.parametrize("value", VALUES)
def test_writes_what_json_reads_back_the_same(value):
    text = socket_json.dumps(value, separators=(",", ":"))
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ", " not in text and '": ' not in text  # compact, as python-socketio asks


def test_integer_keys_become_strings_like_json():
    assert json.loads(socket_json.dumps({1: "a"})) == {"1": "a"}


@pytest.mark.parametrize("text", ["[1,", "{'a': 1}", "", "NaNx", "[1] [2]"])
def test_invalid_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        socket_json.loads(text)


def test_what_json_cannot_write_is_a_type_error():
    with pytest.raises(TypeError):
        socket_json.dumps({"x": object()})
