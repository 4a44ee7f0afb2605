"""Admin in the supervisor's language: the index, the conversation list (status
labels, filters, actions), a transcript's system messages, the actions'
messages, in Chinese for a browser that prefers it (or the language cookie)
and in English otherwise.

Real requests through Django's test client, on a real (test) database. The
expected texts come from the catalog (the msgid's gettext under
translation.override), never from wording written here: a Chinese one must
also contain CJK characters, so a msgid missing from the zh_Hans catalog
fails here by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.text import capfirst

from agents.admin import AgentProfileAdmin
from agents.models import AgentProfile, AgentStatus
from agents.services import agent_create
from chat import system_notes
from chat.admin import ConversationAdmin, _closed, _requeued
from chat.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    EndReason,
    LiveQueue,
    Message,
    Sender,
)
from customers.admin import CustomerAdmin
from customers.models import Customer

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

CJK = re.compile(r"[\u3400-\u9fff]")
ZH = "zh-hans"


def text_in(language: str, make: Callable[[], object]) -> str:
    """What `make()` (a gettext call, a lazy string) reads in `language`; in
    Chinese it must be Chinese, or the zh_Hans catalog lacks it."""
    with translation.override(language):
        text = str(make())
    if language == ZH:
        assert CJK.search(text), f"not translated in the zh_Hans catalog: {text!r}"
    else:
        assert not CJK.search(text), text
    return text


def shows(html: str, language: str, *makes: Callable[[], object]) -> None:
    for make in makes:
        text = text_in(language, make)
        # Escaped, but for help texts, which admin writes as HTML.
        assert escape(text) in html or text in html, f"{text!r} is not on the page"


def note(code: str, **params) -> dict:
    code, params, text = system_notes.note(code, **params)
    return {"system_code": code, "system_params": params, "text": text}


@pytest.fixture
def supervisor(client):
    profile, _token = agent_create(
        username="sue", password="sue-pass", display_name="Sue", capacity=2, skills=[], supervisor=True
    )
    client.force_login(profile.user)
    return profile


@pytest.fixture
def conversations(supervisor):
    """An active conversation with a transfer in its transcript, an ended one, a queued one."""
    ann, _ = agent_create(
        username="ann", password=None, display_name="Ann", capacity=2, skills=[], supervisor=False
    )
    bob, _ = agent_create(
        username="bob", password=None, display_name="Bob", capacity=2, skills=[], supervisor=False
    )
    carla, dan, eve = (Customer.objects.create(name=n) for n in ("Carla", "Dan", "Eve"))
    now = timezone.now()
    active = Conversation.objects.create(
        customer=carla, agent=bob, status=ConversationStatus.ACTIVE, assigned_at=now
    )
    ended = Conversation.objects.create(
        customer=dan, status=ConversationStatus.ENDED, ended_at=now, end_reason=EndReason.CUSTOMER_LEFT
    )
    queued = Conversation.objects.create(customer=eve, status=ConversationStatus.QUEUED, queue_order=1)
    system = {"sender": Sender.SYSTEM, "sender_name": "System", "created_at": now}
    Message.objects.create(conversation=active, **system, **note(system_notes.JOINED, agent="Ann"))
    Message.objects.create(
        conversation=active, sender=Sender.CUSTOMER, sender_name="Carla", text="Hello there", created_at=now
    )
    Message.objects.create(
        conversation=active,
        **system,
        **note(system_notes.TRANSFERRED, from_agent="Ann", agent="Bob"),
    )
    Message.objects.create(
        conversation=ended, **system, **note(system_notes.ENDED_BY_CUSTOMER, customer="Dan")
    )
    return {"active": active, "ended": ended, "queued": queued, "ann": ann, "bob": bob}


@pytest.fixture(params=[ZH, "en"])
def language(request):
    """Each test twice: a browser that prefers Chinese, one that prefers English."""
    return request.param


def get(client, path: str, language: str) -> str:
    accept = "zh-CN,zh;q=0.9,en;q=0.5" if language == ZH else "en-US,en;q=0.9"
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200, (path, response.status_code)
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    return html


def post_action(client, path: str, action: str, ids, language: str) -> str:
    accept = "zh-CN,zh;q=0.9" if language == ZH else "en"
    response = client.post(
        path,
        {"action": action, "_selected_action": [str(i) for i in ids]},
        HTTP_ACCEPT_LANGUAGE=accept,
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_index_reads_in_the_browsers_language(client, supervisor, language):
    html = get(client, "/admin/", language)
    shows(
        html,
        language,
        lambda: admin.site.site_header,
        lambda: admin.site.index_title,
        # The apps and their models, as the index lists them.
        lambda: capfirst(Conversation._meta.app_config.verbose_name),
        lambda: capfirst(AgentProfile._meta.app_config.verbose_name),
        lambda: capfirst(Customer._meta.app_config.verbose_name),
        lambda: capfirst(Conversation._meta.verbose_name_plural),
        lambda: capfirst(LiveQueue._meta.verbose_name_plural),
        lambda: capfirst(Message._meta.verbose_name_plural),
        lambda: capfirst(AgentProfile._meta.verbose_name_plural),
        lambda: capfirst(Customer._meta.verbose_name_plural),
        # Django's own, from its own catalog.
        lambda: translation.gettext("Log out"),
    )
    title = text_in(language, lambda: admin.site.site_title)
    assert f"| {escape(title)}</title>" in html


def test_the_language_cookie_chooses_as_well(client, supervisor):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = ZH
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html
    shows(html, ZH, lambda: admin.site.site_header)


def test_the_conversation_list_shows_statuses_filters_and_actions(client, conversations, language):
    html = get(client, "/admin/chat/conversation/", language)
    shows(
        html,
        language,
        lambda: ConversationStatus.ACTIVE.label,
        lambda: ConversationStatus.ENDED.label,
        lambda: ConversationStatus.QUEUED.label,
        lambda: EndReason.CUSTOMER_LEFT.label,
        # Column headers and filters: the fields' verbose names.
        lambda: capfirst(Conversation._meta.get_field("status").verbose_name),
        lambda: capfirst(Conversation._meta.get_field("end_reason").verbose_name),
        lambda: capfirst(Conversation._meta.get_field("customer").verbose_name),
        # Every end reason is a filter choice.
        *(lambda reason=reason: reason.label for reason in EndReason),
        lambda: ConversationAdmin.close.short_description,
        lambda: ConversationAdmin.return_to_queue.short_description,
    )


def test_a_transcript_shows_its_system_messages_in_the_readers_language(client, conversations, language):
    active = conversations["active"]
    html = get(client, f"/admin/chat/conversation/{active.id}/change/", language)
    joined, transferred = Message.objects.filter(conversation=active, sender=Sender.SYSTEM).order_by("id")
    shows(
        html,
        language,
        # The agents' side of each note (the customer reads "You were transferred...").
        lambda: system_notes.wording(joined.system_code, joined.system_params, system_notes.AGENT),
        lambda: system_notes.wording(transferred.system_code, transferred.system_params, system_notes.AGENT),
        lambda: Sender.SYSTEM.label,
        lambda: Sender.CUSTOMER.label,
        lambda: DeliveryStatus.SENT.label,
        lambda: ConversationStatus.ACTIVE.label,
        lambda: capfirst(Message._meta.verbose_name_plural),
        lambda: capfirst(Conversation._meta.get_field("assigned_at").verbose_name),
        lambda: Conversation._meta.get_field("agent").help_text,
    )
    assert "Hello there" in html
    if language == ZH:
        # The stored default-language text is not what a Chinese reader gets.
        assert escape(transferred.text) not in html and escape(joined.text) not in html


def test_the_message_list_and_a_message_show_the_readers_wording(client, conversations, language):
    ended = conversations["ended"]
    message = Message.objects.get(conversation=ended)
    wording = lambda: system_notes.wording(message.system_code, message.system_params, system_notes.AGENT)  # noqa: E731
    shows(get(client, "/admin/chat/message/", language), language, wording, lambda: Sender.SYSTEM.label)
    shows(get(client, f"/admin/chat/message/{message.id}/change/", language), language, wording)


def test_closing_from_admin_answers_in_the_readers_language(client, conversations, language):
    active, ended = conversations["active"], conversations["ended"]
    html = post_action(client, "/admin/chat/conversation/", "close", [active.id, ended.id], language)
    # One closed, one refused with the service's own message.
    shows(
        html, language, lambda: _closed(1), lambda: translation.gettext("The conversation has already ended.")
    )
    assert Conversation.objects.get(id=active.id).status == ConversationStatus.ENDED
    assert Conversation.objects.get(id=active.id).end_reason == EndReason.CLOSED_BY_SUPERVISOR


def test_returning_to_the_queue_counts_in_the_readers_language(client, conversations, language):
    active = conversations["active"]
    # Another agent is signed in (busy, so the queue keeps it): requeued rather than ended.
    AgentProfile.objects.filter(id=conversations["ann"].id).update(sockets=1, status=AgentStatus.BUSY)
    html = post_action(client, "/admin/chat/conversation/", "return_to_queue", [active.id], language)
    shows(html, language, lambda: _requeued(1))
    assert Conversation.objects.get(id=active.id).status == ConversationStatus.QUEUED


def test_the_live_queue_reads_in_the_readers_language(client, conversations, language):
    html = get(client, "/admin/chat/livequeue/", language)
    shows(
        html,
        language,
        lambda: capfirst(LiveQueue._meta.verbose_name_plural),
        lambda: capfirst(Conversation._meta.get_field("queued_at").verbose_name),
        lambda: ConversationAdmin.close.short_description,
    )


def test_the_agent_list_and_its_actions_read_in_the_readers_language(client, conversations, language):
    # An administrator: deactivating an agent changes its user, which a supervisor may not.
    User.objects.filter(username="sue").update(is_superuser=True)
    html = get(client, "/admin/agents/agentprofile/", language)
    shows(
        html,
        language,
        lambda: AgentStatus.ONLINE.label,
        lambda: capfirst(AgentProfileAdmin.active.short_description),
        lambda: capfirst(AgentProfile._meta.get_field("capacity").verbose_name),
        lambda: AgentProfileAdmin.rotate_api_token.short_description,
        lambda: AgentProfileAdmin.deactivate.short_description,
    )
    ann = conversations["ann"]
    form = get(client, f"/admin/agents/agentprofile/{ann.id}/change/", language)
    shows(
        form,
        language,
        lambda: AgentProfile._meta.get_field("capacity").help_text,
        lambda: AgentProfile._meta.get_field("skills").help_text,
    )
    html = post_action(client, "/admin/agents/agentprofile/", "deactivate", [ann.id], language)
    shows(
        html,
        language,
        lambda: (
            translation.ngettext(
                "%(count)d agent deactivated; their sockets are disconnected.",
                "%(count)d agents deactivated; their sockets are disconnected.",
                1,
            )
            % {"count": 1}
        ),
    )


def test_the_customer_list_and_its_action_read_in_the_readers_language(client, conversations, language):
    html = get(client, "/admin/customers/customer/", language)
    shows(
        html,
        language,
        lambda: capfirst(Customer._meta.get_field("last_seen_at").verbose_name),
        lambda: CustomerAdmin.revoke_tokens.short_description,
    )
    dan = conversations["ended"].customer
    html = post_action(client, "/admin/customers/customer/", "revoke_tokens", [dan.id], language)
    shows(
        html,
        language,
        lambda: (
            translation.ngettext(
                "%(count)d customer signed out: their tokens no longer work.",
                "%(count)d customers signed out: their tokens no longer work.",
                1,
            )
            % {"count": 1}
        ),
    )


def test_stored_values_stay_the_same_in_every_language():
    """The labels are translated; what is stored and sent is not."""
    with translation.override(ZH):
        assert [s.value for s in ConversationStatus] == ["queued", "active", "ended"]
        assert [s.value for s in AgentStatus] == ["online", "busy", "offline"]
        assert [s.value for s in Sender] == ["customer", "agent", "system"]
        from chat.selectors import STATUS_NAMES

        assert STATUS_NAMES == {0: "sent", 1: "delivered", 2: "read"}


def test_a_status_name_for_scripts_is_the_wire_name_in_every_language(conversations):
    from chat.templatetags.chat_messages import status_name

    message = Message.objects.filter(sender=Sender.CUSTOMER).first()
    for language in (ZH, "en"):
        with translation.override(language):
            assert status_name(message) == "sent"
