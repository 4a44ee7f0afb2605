"""Ratings in admin: a column and a filter on the conversation list, and the
rating, its comment and when it was given on a conversation's page (read-only)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django.utils.html import escape

from agents.services import agent_create
from chat.admin import ConversationAdmin
from chat.models import Conversation, ConversationStatus, EndReason
from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(client):
    sue, _ = agent_create(
        username="sue", password="sue-pass", display_name="Sue", capacity=2, skills=[], supervisor=True
    )
    client.force_login(sue.user)
    now = timezone.now()
    ended = {"status": ConversationStatus.ENDED, "ended_at": now, "end_reason": EndReason.AGENT_ENDED}
    four = Conversation.objects.create(
        customer=Customer.objects.create(name="Carla"),
        rating=4,
        rating_comment="Kind <b>and</b> quick",
        rated_at=now,
        **ended,
    )
    unrated = Conversation.objects.create(customer=Customer.objects.create(name="Dan"), **ended)
    return four, unrated


def test_the_list_has_a_rating_column_and_filter():
    assert "rating" in ConversationAdmin.list_display
    assert "rating" in ConversationAdmin.list_filter


def test_the_list_filters_by_rating(client, rated):
    four, unrated = rated
    page = client.get("/admin/chat/conversation/", {"rating": 4})
    assert page.status_code == 200
    ids = [c.id for c in page.context["cl"].result_list]
    assert ids == [four.id]
    everything = client.get("/admin/chat/conversation/")
    assert {c.id for c in everything.context["cl"].result_list} == {four.id, unrated.id}


def test_a_conversation_shows_its_rating_read_only(client, rated):
    four, _ = rated
    page = client.get(f"/admin/chat/conversation/{four.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("rating", "rating_comment", "rated_at"):
        assert f"field-{field}" in html, field
        assert field in ConversationAdmin.readonly_fields
    assert escape("Kind <b>and</b> quick") in html
    assert 'name="rating"' not in html  # not editable
