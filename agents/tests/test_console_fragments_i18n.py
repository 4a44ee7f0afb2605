"""The console's pages and fragments in the agent's language, through Django's
test client on a real (test) database: system messages worded for an agent
(the open conversation, transcripts, the conversation list's preview), the
labels of stored values, dates, the pages for non-agents and the login's
language cookie.

Expected texts come from the catalog (the msgid's gettext under
translation.override), and a Chinese one must hold Chinese characters: a
msgid missing from the zh_Hans catalog fails here by name.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import formats, timezone, translation
from django.utils.html import escape

from agents.services import agent_create
from chat import system_notes
from chat.models import Conversation, ConversationStatus, EndReason, Message, Sender
from customers.models import Customer

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff]")
ZH = "zh-hans"
ACCEPT = {ZH: "zh-CN,zh;q=0.9,en;q=0.5", "en": "en-US,en;q=0.9"}


def text_in(language: str, make) -> str:
    """What `make()` reads in `language`: Chinese in Chinese, never in English."""
    with translation.override(language):
        text = str(make())
    if language == ZH:
        assert CJK.search(text), f"not translated in the zh_Hans catalog: {text!r}"
    else:
        assert not CJK.search(text), text
    return text


def get(client, path: str, language: str, status: int = 200, accept: str | None = None) -> str:
    """The page at `path` for a browser preferring `language` (or saying `accept`), in `language`."""
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=accept or ACCEPT[language])
    assert response.status_code == status, (path, response.status_code)
    html = response.content.decode()
    if "<html" in html:
        assert f'<html lang="{language}"' in html
    return html


def shows(html: str, text: str) -> None:
    assert escape(text) in html, f"{text!r} is not on the page"


def note(code: str, **params) -> dict:
    code, params, text = system_notes.note(code, **params)
    return {
        "sender": Sender.SYSTEM,
        "sender_name": "System",
        "system_code": code,
        "system_params": params,
        "text": text,
    }


@pytest.fixture(params=[ZH, "en"])
def language(request):
    return request.param


@pytest.fixture
def bob(client):
    profile, _token = agent_create(
        username="bob", password="bob-pass", display_name="Bob", capacity=2, skills=[], supervisor=False
    )
    client.force_login(profile.user)
    return profile


@pytest.fixture
def transferred(bob):
    """Carla's conversation, transferred from Ann to Bob: its last message is the transfer's note."""
    carla = Customer.objects.create(name="Carla", email="carla@example.com")
    now = timezone.now()
    conversation = Conversation.objects.create(
        customer=carla, agent=bob, status=ConversationStatus.ACTIVE, assigned_at=now
    )
    Message.objects.create(
        conversation=conversation, created_at=now, **note(system_notes.JOINED, agent="Ann")
    )
    Message.objects.create(
        conversation=conversation, sender=Sender.CUSTOMER, sender_name="Carla", text="Hello", created_at=now
    )
    Message.objects.create(
        conversation=conversation,
        created_at=now,
        **note(system_notes.TRANSFERRED, from_agent="Ann", agent="Bob"),
    )
    return conversation


def agent_reads(language: str, code: str, **params) -> str:
    return text_in(language, lambda: system_notes.wording(code, params, system_notes.AGENT))


def test_the_list_previews_a_system_message_as_an_agent_reads_it(client, transferred, language):
    html = get(client, "/console/conversations/", language)
    preview = re.search(r'<span class="conv-last">(.*?)</span>', html, re.S).group(1)
    expected = agent_reads(language, system_notes.TRANSFERRED, from_agent="Ann", agent="Bob")
    assert preview == escape(expected)
    # Not the customer's wording, which is what the table's text keeps.
    assert "You were transferred" not in html


def test_the_open_conversation_and_its_transcript_word_system_messages_for_agents(
    client, transferred, language
):
    joined = agent_reads(language, system_notes.JOINED, agent="Ann")
    moved = agent_reads(language, system_notes.TRANSFERRED, from_agent="Ann", agent="Bob")
    for path in (f"/console/conversations/{transferred.id}/", f"/console/transcripts/{transferred.id}/"):
        html = get(client, path, language)
        shows(html, joined)
        shows(html, moved)
        shows(html, "Hello")
    html = get(client, f"/console/conversations/{transferred.id}/", language)
    shows(html, text_in(language, lambda: translation.gettext("Transfer")))
    shows(html, text_in(language, lambda: translation.pgettext("end a conversation", "End")))


def test_the_customer_panel_labels_counts_and_dates(client, transferred, language):
    ended = Conversation.objects.create(
        customer=transferred.customer,
        status=ConversationStatus.ENDED,
        ended_at=timezone.now(),
        end_reason=EndReason.CUSTOMER_LEFT,
    )
    html = get(client, f"/console/customers/{transferred.customer_id}/", language)
    shows(html, text_in(language, lambda: translation.gettext("Customer since")))
    shows(
        html,
        text_in(language, lambda: translation.ngettext("%(n)s conversation", "%(n)s conversations", 2))
        % {"n": 2},
    )
    shows(
        html, text_in(language, lambda: translation.ngettext("%(n)s message", "%(n)s messages", 3)) % {"n": 3}
    )
    shows(html, text_in(language, lambda: ConversationStatus.ACTIVE.label))
    shows(html, text_in(language, lambda: ConversationStatus.ENDED.label))
    with translation.override(language):
        since = formats.date_format(timezone.localtime(transferred.customer.created_at), "DATE_FORMAT")
    shows(html, since)
    if language == ZH:
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", since)
    transcript = get(client, f"/console/transcripts/{ended.id}/", language)
    shows(transcript, text_in(language, lambda: EndReason.CUSTOMER_LEFT.label))


def test_the_roster_and_queue_in_the_agent_language(client, bob, language):
    Conversation.objects.create(
        customer=Customer.objects.create(name="Dan"),
        status=ConversationStatus.QUEUED,
        queue_order=1,
        queued_at=timezone.now(),
    )
    roster = get(client, "/console/roster/", language)
    shows(roster, text_in(language, lambda: translation.gettext("Team channel")))
    shows(roster, text_in(language, lambda: translation.gettext("%(name)s (you)")) % {"name": "Bob"})
    queue = get(client, "/console/queue/", language)
    shows(queue, text_in(language, lambda: translation.gettext("Claim next")))
    waiting = text_in(language, lambda: translation.gettext("waiting %(time)s"))
    assert re.search(re.escape(escape(waiting)).replace(re.escape("%(time)s"), ".+?"), queue), queue


def test_the_console_page_in_the_agent_language(client, bob, language):
    html = get(client, "/console/", language)
    shows(html, text_in(language, lambda: translation.gettext("My conversations")))
    shows(html, text_in(language, lambda: translation.pgettext("agent status", "Busy")))
    assert 'id="console-language"' in html  # the switcher, in the header


def test_a_user_who_is_not_an_agent_is_told_in_their_language(client, language):
    user = get_user_model().objects.create_user("nina", password="nina-pass")
    client.force_login(user)
    html = get(client, "/console/", language, status=403)
    shows(html, text_in(language, lambda: translation.gettext("Agents only")))
    shows(
        html,
        text_in(
            language,
            lambda: translation.gettext("You are signed in as %(username)s, which is not an agent account."),
        )
        % {"username": "nina"},
    )


def test_signing_in_sets_the_language_the_agent_chose(client):
    profile, _token = agent_create(
        username="zoe", password="zoe-pass", display_name="Zoe", capacity=2, skills=[], supervisor=False
    )
    profile.language = ZH
    profile.save(update_fields=["language"])
    login = get(client, "/accounts/login/", "en")
    shows(login, "Agent console")
    response = client.post(
        "/accounts/login/",
        {"username": "zoe", "password": "zoe-pass", "next": "/console/"},
        HTTP_ACCEPT_LANGUAGE=ACCEPT["en"],
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == ZH
    # The cookie wins over the browser's English from now on.
    html = get(client, "/console/", ZH, accept=ACCEPT["en"])
    shows(html, text_in(ZH, lambda: translation.gettext("Console")))
