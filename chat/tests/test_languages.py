"""A socket's language, system notes worded per reader, and error messages
worded when read (no server needed).

Chinese wording comes from the zh_Hans catalog: what is asserted is that a
text equals the catalog's translation of its msgid and is Chinese, whatever
the wording.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from chat import system_notes
from chat.errors import INVALID_PAYLOAD, ChatError
from chat.realtime import validation
from cs_project import languages

CJK = re.compile(r"[\u3400-\u9fff]")


def in_chinese(msgid: str, **params) -> str:
    with translation.override("zh-hans"):
        text = gettext(msgid)
    return text % params if params else text


def environ(accept: str | None = None, cookie: str | None = None) -> dict:
    env = {}
    if accept is not None:
        env["HTTP_ACCEPT_LANGUAGE"] = accept
    if cookie is not None:
        env["HTTP_COOKIE"] = cookie
    return env


# --- connection_language -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh-hans", "zh-hans"), ("zh-CN", "zh-hans"), ("zh", "zh-hans"), ("ZH-Hans", "zh-hans"), ("en", "en")],
)
def test_auth_lang_names_a_supported_language(code, expected):
    assert languages.connection_language(environ("en"), code) == expected


@pytest.mark.parametrize("code", ["fr", "", "x" * 40, 42, None, ["zh"], {"lang": "zh"}, True])
def test_anything_else_in_auth_lang_is_ignored(code):
    assert languages.connection_language(environ("zh-CN,zh;q=0.9"), code) == "zh-hans"
    assert languages.connection_language(environ("en-US"), code) == "en"


def test_auth_lang_comes_before_the_profile_and_the_headers():
    env = environ("zh-CN", "django_language=zh-hans")
    assert languages.connection_language(env, "en", "zh-hans") == "en"


def test_the_agents_choice_comes_before_the_headers():
    assert languages.connection_language(environ("en", "django_language=en"), None, "zh-hans") == "zh-hans"
    # No choice made (blank): the headers decide.
    assert languages.connection_language(environ("zh-CN"), None, "") == "zh-hans"


def test_the_language_cookie_comes_before_accept_language():
    assert languages.connection_language(environ("en", "sessionid=x; django_language=zh-hans")) == "zh-hans"
    assert languages.connection_language(environ("zh-CN", "django_language=en")) == "en"
    # A cookie naming no supported language is passed over.
    assert languages.connection_language(environ("zh-CN", "django_language=fr")) == "zh-hans"


def test_accept_language_by_preference_and_english_without_any():
    assert languages.connection_language(environ("fr;q=1, zh-TW;q=0.8, en;q=0.5")) == "zh-hans"
    assert languages.connection_language(environ("de, en;q=0.5, zh;q=0.1")) == "en"
    assert languages.connection_language(environ()) == "en"
    assert languages.connection_language(environ("fr, de")) == "en"


# --- system notes --------------------------------------------------------------------


def test_a_note_is_stored_as_code_params_and_english_text():
    with translation.override("zh-hans"):  # whatever language is active
        code, params, text = system_notes.note(system_notes.JOINED, agent="Ann")
    assert (code, params, text) == ("joined", {"agent": "Ann"}, "Ann joined the conversation.")
    with pytest.raises(ValueError):
        system_notes.note("no_such_note")


def test_every_code_has_a_wording_for_each_reader_in_each_language():
    params = {"agent": "Ann", "from_agent": "Ben", "customer": "Carla"}
    for code in system_notes.CODES:
        for reader in (system_notes.CUSTOMER, system_notes.AGENT):
            english = system_notes.wording(code, params, reader)
            with translation.override("zh-hans"):
                chinese = system_notes.wording(code, params, reader)
            assert english and "%(" not in english, (code, reader, english)
            assert CJK.search(chinese), (code, reader, chinese)
            assert "%(" not in chinese, (code, reader, chinese)


def test_a_transfer_reads_differently_for_the_customer_and_for_agents():
    code, params, _text = system_notes.note(system_notes.TRANSFERRED, agent="Ben", from_agent="Ann")
    assert system_notes.wording(code, params, system_notes.CUSTOMER) == "You were transferred to Ben."
    assert (
        system_notes.wording(code, params, system_notes.AGENT) == "Ann transferred the conversation to Ben."
    )
    with translation.override("zh-hans"):
        agents = system_notes.wording(code, params, system_notes.AGENT)
    assert agents == in_chinese(
        "%(from_agent)s transferred the conversation to %(agent)s.", agent="Ben", from_agent="Ann"
    )
    assert "Ann" in agents and "Ben" in agents and CJK.search(agents)


def test_unknown_codes_and_missing_parameters_do_not_fail():
    assert system_notes.wording("from_the_future", {}, system_notes.AGENT, "as stored") == "as stored"
    assert system_notes.wording(system_notes.JOINED, {}, system_notes.AGENT) == " joined the conversation."


def _shape(system: dict | None, text: str) -> dict:
    return {"id": 1, "sender": "system" if system else "agent", "text": text, "system": system}


def test_localized_words_system_messages_only_and_changes_nothing_given():
    note = _shape({"code": "ended_by_agent", "params": {"agent": "Ann"}}, "Ann ended the conversation.")
    chat = _shape(None, "你好 hello")
    page = [chat, note]
    worded = system_notes.localized_all(page, system_notes.CUSTOMER, "zh-hans")
    assert worded[0] is chat
    assert worded[1]["text"] == in_chinese("%(agent)s ended the conversation.", agent="Ann")
    assert CJK.search(worded[1]["text"])
    assert worded[1]["system"] == note["system"]
    with translation.override("zh-hans"):
        assert worded[1]["sender_name"] == translation.pgettext("message sender", "System")
    assert CJK.search(worded[1]["sender_name"])
    assert note["text"] == "Ann ended the conversation."  # the input is not changed
    assert system_notes.localized(note, system_notes.AGENT, "en")["text"] == "Ann ended the conversation."
    assert system_notes.localized(chat, system_notes.AGENT, "zh-hans") is chat
    assert system_notes.localized_all([chat], system_notes.AGENT, "zh-hans") == [chat]


# --- errors ----------------------------------------------------------------------------


def test_an_error_is_worded_when_read_in_the_language_asked_for():
    with translation.override("zh-hans"):
        # Raised in one language, answered in another: nothing is worded at raise time.
        error = ChatError(INVALID_PAYLOAD, gettext_lazy("`%(field)s` must be a string."), field="text")
    english = error.as_ack("en")
    chinese = error.as_ack("zh-hans")
    assert english == {
        "ok": False,
        "error": {"code": "invalid_payload", "message": "`text` must be a string."},
    }
    assert chinese["error"]["code"] == "invalid_payload"
    assert chinese["error"]["message"] == in_chinese("`%(field)s` must be a string.", field="text")
    assert CJK.search(chinese["error"]["message"])
    assert error.as_ack() == english  # no language: the active one
    assert str(error) == error.message == "`text` must be a string."


def test_validation_errors_are_lazy():
    with pytest.raises(ChatError) as info:
        validation.limit({"limit": 0}, maximum=7)
    assert info.value.as_error("en") == {"code": "invalid_payload", "message": "`limit` must be 1 to 7."}
    assert info.value.as_error("zh-hans")["message"] == in_chinese(
        "`limit` must be 1 to %(maximum)s.", maximum=7
    )
