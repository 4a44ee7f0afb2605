"""`manage.py queue`: the operators' maintenance command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agents.services import agent_create
from chat.models import Attachment, Conversation, ConversationStatus, Message
from customers.models import Customer


def run(*args) -> str:
    out = StringIO()
    call_command("queue", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def waiting(db):
    customers = [Customer.objects.create(name=f"C{i}") for i in range(3)]
    return [
        Conversation.objects.create(customer=c, status=ConversationStatus.QUEUED, queue_order=i)
        for i, c in enumerate(customers)
    ]


@pytest.mark.django_db(transaction=True)
def test_status_lists_the_queue_in_order_and_the_agents(waiting):
    agent_create(username="op", password=None, display_name="Op", capacity=1, skills=[], supervisor=False)
    out = run("status")
    assert "queued 3, active 0, ended 0" in out
    assert out.index("C0") < out.index("C1") < out.index("C2")
    assert "agent Op: online, sockets 0, 0/1" in out


@pytest.mark.django_db(transaction=True)
def test_drain_assigns_only_to_connected_agents_with_room(waiting):
    profile, _ = agent_create(
        username="op", password=None, display_name="Op", capacity=2, skills=[], supervisor=False
    )
    assert "assigned 0, still queued 3" in run("drain")  # not connected
    profile.sockets = 1
    profile.save()
    assert "assigned 2, still queued 1" in run("drain")
    # The head of the queue (lowest queue order) went first.
    statuses = list(Conversation.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["active", "active", "queued"]


@pytest.mark.django_db(transaction=True)
def test_purge_deletes_only_old_ended_conversations_and_dry_run_deletes_nothing(waiting):
    old, recent = waiting[0], waiting[1]
    for conversation, age in ((old, 100), (recent, 10)):
        conversation.status = ConversationStatus.ENDED
        conversation.queue_order = None
        conversation.ended_at = timezone.now() - timedelta(days=age)
        conversation.save()
        Message.objects.create(
            conversation=conversation,
            sender="customer",
            sender_name="C",
            text="hi",
            created_at=timezone.now(),
        )
    # The old conversation's customer has nothing left, but was created just now: kept.
    assert run("purge", "--days", "90", "--dry-run").endswith(
        "would delete 1 conversations, 1 messages, 0 internal messages, 0 customers,"
        " 0 expired sessions (dry run)\n"
    )
    assert Conversation.objects.count() == 3
    # An upload never sent, older than UPLOAD_UNSENT_MAX_AGE, and a recent one.
    for age in (2, 0):
        upload = Attachment.objects.create(
            name="x.txt", size=1, content_type="text/plain", customer=recent.customer
        )
        Attachment.objects.filter(id=upload.id).update(created_at=timezone.now() - timedelta(days=age))
    out = run("purge", "--days", "90", "--batch", "1")
    assert "deleted 1/1 conversations, 1/1 messages\n" in out
    assert out.endswith(
        "deleted 1 conversations, 1 messages, 0 internal messages, 0 customers, 0 expired sessions\n"
        "deleted 1 uploads never sent\n"
    )
    assert list(Attachment.objects.values_list("id", flat=True)) == [upload.id]
    assert set(Conversation.objects.values_list("id", flat=True)) == {recent.id, waiting[2].id}
    with pytest.raises(CommandError):
        run("purge", "--days", "0")
    with pytest.raises(CommandError):
        run("purge", "--batch", "0")


@pytest.mark.django_db(transaction=True)
def test_purge_defaults_to_the_retention_setting(waiting, settings):
    settings.RETENTION_DAYS = 0.5
    conversation = waiting[0]
    conversation.status = ConversationStatus.ENDED
    conversation.queue_order = None
    conversation.ended_at = timezone.now() - timedelta(days=1)
    conversation.save()
    assert "deleted 1 conversations" in run("purge")
    settings.RETENTION_DAYS = 0
    with pytest.raises(CommandError, match="keeps everything"):
        run("purge")
