"""System messages: stored as a code and parameters, worded for each reader.

A conversation's system messages (an agent joined, a transfer, an end) are
read by the customer and by agents, each in their own language and from
their own side: the customer reads "You were transferred to Bob.", the
agents "Ann transferred the conversation to Bob.". `note()` makes what is
stored; `wording()` renders it in the active language; `localized()` gives
a Message shape as one reader sees it.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

CUSTOMER = "customer"
AGENT = "agent"

JOINED = "joined"
TRANSFERRED = "transferred"
ENDED_BY_CUSTOMER = "ended_by_customer"
ENDED_BY_AGENT = "ended_by_agent"
CLOSED_BY_SUPERVISOR = "closed_by_supervisor"
AGENT_OFFLINE = "agent_offline"
REQUEUED = "requeued"
CLOSED_IDLE = "closed_idle"


def _same(wording):
    return wording, wording


# code -> (what the customer reads, what agents read). Parameters are names:
# `agent`, `from_agent`, `customer`.
_WORDING = {
    JOINED: _same(_("%(agent)s joined the conversation.")),
    TRANSFERRED: (
        _("You were transferred to %(agent)s."),
        _("%(from_agent)s transferred the conversation to %(agent)s."),
    ),
    ENDED_BY_CUSTOMER: _same(_("%(customer)s ended the conversation.")),
    ENDED_BY_AGENT: _same(_("%(agent)s ended the conversation.")),
    CLOSED_BY_SUPERVISOR: _same(_("A supervisor closed the conversation.")),
    AGENT_OFFLINE: (
        _("%(agent)s went offline and no other agent is available. Write again to start a new conversation."),
        _("%(agent)s went offline and no other agent was available; the conversation ended."),
    ),
    REQUEUED: (
        _("%(agent)s is no longer available. You are first in line for the next agent."),
        _("%(agent)s left; the conversation went back to the head of the queue."),
    ),
    CLOSED_IDLE: _same(_("The conversation was closed after a period of inactivity.")),
}
CODES = frozenset(_WORDING)

# What `note()` makes and services store: (code, params, default-language text).
Note = tuple[str, dict, str]


class _Params(dict):
    """A missing parameter shows as empty rather than failing a whole page."""

    def __missing__(self, key):
        return ""


def wording(code: str, params: dict | None, reader: str, fallback: str = "") -> str:
    """The note in the active language, for `reader` (CUSTOMER or AGENT).

    An unknown code (a message stored before codes existed, or by a newer
    version) shows its stored text.
    """
    pair = _WORDING.get(code)
    if pair is None:
        return fallback
    return str(pair[reader == AGENT]) % _Params(params or {})


def note(code: str, **params) -> Note:
    """(code, params, text) to store: the text in the default language."""
    if code not in _WORDING:
        raise ValueError(f"unknown system note {code!r}")
    with translation.override(None):
        text = wording(code, params, CUSTOMER)
    return code, params, text


def _worded(message: dict, reader: str) -> dict:
    system = message.get("system")
    if system is None:
        return message
    text = wording(system["code"], system["params"], reader, message["text"])
    # The sender's name too, as admin and the console's pages name it.
    return {**message, "text": text, "sender_name": pgettext("message sender", "System")}


def localized(message: dict, reader: str, lang: str) -> dict:
    """`message` (a Message shape) as `reader` sees it in `lang`: a system
    message's text in that language; any other message as it is (the same
    dict, not a copy)."""
    if message.get("system") is None:
        return message
    with translation.override(lang):
        return _worded(message, reader)


def localized_all(messages: list[dict], reader: str, lang: str) -> list[dict]:
    """`localized` for a list: a new list, or `messages` itself when it holds
    no system message; the messages given are never changed."""
    if all(m.get("system") is None for m in messages):
        return messages
    with translation.override(lang):
        return [_worded(m, reader) for m in messages]
