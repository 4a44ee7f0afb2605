"""Payload parsing by the limits of PROTOCOL.md (no server needed)."""

import pytest

from chat.errors import ChatError
from chat.realtime import validation


def code_of(call) -> str:
    with pytest.raises(ChatError) as info:
        call()
    return info.value.code


FIELDS = frozenset({"text", "client_id"})


def test_payload_accepts_one_object_or_nothing():
    assert validation.payload(({"text": "hi"},), FIELDS) == {"text": "hi"}
    assert validation.payload((), FIELDS) == {}
    assert validation.payload((None,), FIELDS) == {}


@pytest.mark.parametrize("args", [(["a"],), ("text",), (3,), (True,), ({"text": "a"}, {"text": "b"})])
def test_payload_must_be_a_single_object(args):
    assert code_of(lambda: validation.payload(args, FIELDS)) == "invalid_payload"


def test_unknown_fields_are_refused():
    assert code_of(lambda: validation.payload(({"text": "a", "html": 1},), FIELDS)) == "invalid_payload"


def test_payload_over_16_kib_is_too_large():
    assert code_of(lambda: validation.payload(({"text": "é" * 9000},), FIELDS)) == "too_large"
    nested = {"text": [{"x": "y" * 1000}] * 20}
    assert code_of(lambda: validation.payload((nested,), FIELDS)) == "too_large"


def test_text_is_trimmed_and_bounded():
    assert validation.text({"text": "  hi \n"}) == "hi"
    assert validation.text({"text": "x" * 4000}) == "x" * 4000
    assert code_of(lambda: validation.text({"text": "x" * 4001})) == "too_large"
    assert code_of(lambda: validation.text({"text": "   "})) == "invalid_payload"
    assert code_of(lambda: validation.text({"text": 5})) == "invalid_payload"
    assert code_of(lambda: validation.text({})) == "invalid_payload"
    assert code_of(lambda: validation.text({"text": "a\x00b"})) == "invalid_payload"


@pytest.mark.parametrize("value", ["", "a" * 65, "has space", "ü", 12, True, ["a"]])
def test_bad_client_ids(value):
    assert code_of(lambda: validation.client_id({"client_id": value})) == "invalid_payload"


def test_good_client_ids():
    assert validation.client_id({"client_id": "A-z_09" * 10 + "abcd"}) == "A-z_09" * 10 + "abcd"
    assert validation.client_id({}) is None


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "3", 2**63, None])
def test_identifiers_are_positive_json_integers(value):
    assert code_of(lambda: validation.identifier({"id": value}, "id")) == "invalid_payload"


def test_email_name_topic():
    assert validation.email({"email": " a@b.example "}) == "a@b.example"
    assert code_of(lambda: validation.email({"email": "not an address"})) == "invalid_payload"
    assert validation.name({"name": "x" * 80}) == "x" * 80
    assert code_of(lambda: validation.name({"name": "x" * 81})) == "invalid_payload"
    assert validation.topic({"topic": "  "}) is None


def test_agent_status_and_booleans():
    assert validation.agent_status({"status": "busy"}) == "busy"
    for bad in ("away", None, ["online"], 1):
        assert code_of(lambda bad=bad: validation.agent_status({"status": bad})) == "invalid_payload"
    assert validation.boolean({"is_typing": False}, "is_typing") is False
    assert code_of(lambda: validation.boolean({"is_typing": 0}, "is_typing")) == "invalid_payload"
