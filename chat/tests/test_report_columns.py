"""The worker thread's batches (Django's connection: every batch the loop
hands over) keep what the reports read: resends from earlier batches and
attachments included."""

from __future__ import annotations

import pytest

from agents.services import agent_create
from chat import outbox
from chat.message_store import Draft, store_batch
from chat.models import Attachment, Conversation, Message
from chat.services import joins

pytestmark = pytest.mark.django_db(transaction=True)


def _kept(conversation_id: int) -> tuple:
    """The conversation's kept figures, checked against its messages."""
    c = Conversation.objects.get(id=conversation_id)
    messages = Message.objects.filter(conversation_id=conversation_id)
    first = messages.filter(sender="agent").order_by("id").first()
    defined = (
        messages.exclude(sender="system").count(),
        first.created_at if first else None,
        first.sender_agent_id if first else None,
    )
    kept = (c.message_count, c.first_agent_message_at, c.first_agent_message_agent_id)
    assert kept == defined
    return kept


def test_resends_and_attachments_on_the_worker_thread():
    ann, _ = agent_create(
        username="ann", password=None, display_name="Ann", capacity=2, skills=[], supervisor=False
    )
    ann.sockets = 1
    ann.save(update_fields=["sockets"])
    with outbox.collecting():
        (joined,) = joins.customers_start(starts=[joins.Start(name="Carla", email=None, topic=None)])
    conversation, customer = joined.conversation_id, joined.customer_id

    def agent_says(text, client_id=None, attachment_id=None):
        return Draft(
            conversation, "agent", "Ann", text, client_id, agent_id=ann.id, attachment_id=attachment_id
        )

    upload = Attachment.objects.create(name="a.txt", size=1, content_type="text/plain", customer_id=customer)
    draft = Draft(conversation, "customer", "Carla", "", "c-1", customer_id=customer, attachment_id=upload.id)
    [sent] = store_batch(drafts=[draft], delivered_ids=[])
    assert sent.new and _kept(conversation) == (1, None, None)

    # The first agent message carries an upload of the agent's.
    upload = Attachment.objects.create(name="b.txt", size=1, content_type="text/plain", agent=ann)
    [first] = store_batch(drafts=[agent_says("here", "a-1", upload.id)], delivered_ids=[])
    at = Message.objects.get(id=first.message["id"]).created_at
    assert _kept(conversation) == (2, at, ann.id)

    # A later batch resending it (and its upload) with a new message: the
    # resend is the stored message, the new one counts, the first stays.
    drafts = [agent_says("here", "a-1", upload.id), agent_says("more")]
    resend, new = store_batch(drafts=drafts, delivered_ids=[])
    assert (resend.message["id"], resend.new, new.new) == (first.message["id"], False, True)
    assert _kept(conversation) == (3, at, ann.id)
