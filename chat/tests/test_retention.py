"""Retention (chat.services.retention) on the real database: what goes, what stays."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from agents.services import agent_create
from chat.models import Conversation, ConversationStatus, InternalMessage, Message
from chat.services.retention import Purged, conversations_purge, retention_cutoff
from customers.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = 30


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def customer(name: str, age: float) -> Customer:
    c = Customer.objects.create(name=name)
    Customer.objects.filter(id=c.id).update(created_at=ago(age), last_seen_at=ago(age))
    return c


def conversation(who: Customer, status: str, age: float, agent=None, ended_age: float | None = None):
    fields = {"status": status}
    if status == ConversationStatus.ACTIVE:
        fields["agent"] = agent
    if status == ConversationStatus.QUEUED:
        fields["queue_order"] = who.id
    if status == ConversationStatus.ENDED:
        fields["ended_at"] = ago(age if ended_age is None else ended_age)
    c = Conversation.objects.create(customer=who, **fields)
    Conversation.objects.filter(id=c.id).update(created_at=ago(age))
    for text in ("hello", "bye"):
        Message.objects.create(
            conversation=c, sender="customer", sender_name=who.name, text=text, created_at=ago(age)
        )
    return c


def internal(sender, age: float, to=None, about=None) -> InternalMessage:
    m = InternalMessage.objects.create(sender=sender, to_agent=to, conversation=about, text="psst")
    InternalMessage.objects.filter(id=m.id).update(created_at=ago(age))
    return m


def session(expired: bool) -> str:
    store = SessionStore()
    store["x"] = 1
    store.set_expiry(-60 if expired else 3600)
    store.create()
    return store.session_key


@pytest.fixture
def agents():
    made = [
        agent_create(username=n, password=None, display_name=n, capacity=2, skills=[], supervisor=False)[0]
        for n in ("ann", "ben")
    ]
    return made


@pytest.fixture
def world(agents):
    ann, ben = agents
    w = {}
    # Goes: an old ended conversation, and its customer with nothing left.
    w["gone_customer"] = customer("Gone", 400)
    w["gone"] = conversation(w["gone_customer"], ConversationStatus.ENDED, 400, ended_age=100)
    w["note_on_gone"] = internal(ann, 1, to=ben, about=w["gone"])  # recent, but tied to it
    # Stays: open conversations, however old.
    w["queued"] = conversation(customer("Waiting", 400), ConversationStatus.QUEUED, 400)
    w["active"] = conversation(customer("Talking", 400), ConversationStatus.ACTIVE, 400, agent=ann)
    w["old_note_on_active"] = internal(ann, 400, to=ben, about=w["active"])
    # A customer with an old ended and a recent ended conversation: the old one goes.
    w["regular"] = customer("Regular", 400)
    w["regular_old"] = conversation(w["regular"], ConversationStatus.ENDED, 400, ended_age=200)
    w["regular_recent"] = conversation(w["regular"], ConversationStatus.ENDED, 400, ended_age=DAYS - 1)
    # Ended long ago by its creation, but recently by ended_at: stays.
    w["ended_lately"] = conversation(customer("Slow", 400), ConversationStatus.ENDED, 400, ended_age=2)
    # Customers with nothing: old goes, recent stays, connected stays.
    w["empty_old"] = customer("Empty", 100)
    w["empty_recent"] = customer("New", 1)
    w["empty_connected"] = customer("Here", 100)
    w["seen_lately"] = customer("Back", 100)
    Customer.objects.filter(id=w["seen_lately"].id).update(last_seen_at=ago(1))
    # Internal messages not tied to a conversation: by age.
    w["dm_old"] = internal(ann, DAYS + 1, to=ben)
    w["team_old"] = internal(ben, DAYS + 1)
    w["dm_recent"] = internal(ann, DAYS - 1, to=ben)
    w["session_expired"] = session(expired=True)
    w["session_live"] = session(expired=False)
    return w


def purge(world, **kwargs) -> Purged:
    return conversations_purge(
        older_than=retention_cutoff(DAYS),
        batch=kwargs.pop("batch", 100),
        connected_customer_ids={world["empty_connected"].id},
        **kwargs,
    )


def ids(model) -> set[int]:
    return set(model.objects.values_list("id", flat=True))


def test_deletes_what_is_old_and_keeps_the_rest(world):
    w = world
    result = purge(w)

    assert ids(Conversation) == {w[k].id for k in ("queued", "active", "regular_recent", "ended_lately")}
    assert not Message.objects.filter(conversation_id__in=[w["gone"].id, w["regular_old"].id]).exists()
    assert Message.objects.count() == 2 * 4
    assert ids(Customer) == {
        w["queued"].customer_id,
        w["active"].customer_id,
        w["regular"].id,
        w["ended_lately"].customer_id,
        w["empty_recent"].id,
        w["empty_connected"].id,
        w["seen_lately"].id,
    }
    assert ids(InternalMessage) == {w["old_note_on_active"].id, w["dm_recent"].id}
    assert set(Session.objects.values_list("pk", flat=True)) == {w["session_live"]}
    assert result == Purged(
        conversations=2, messages=4, internal_messages=3, customers=2, sessions=1, complete=True
    )


def test_a_second_purge_finds_nothing(world):
    purge(world)
    assert purge(world) == Purged()


def test_dry_run_counts_what_a_purge_deletes_and_deletes_nothing(world):
    before = {m: ids(m) for m in (Conversation, Message, InternalMessage, Customer)}
    would = purge(world, dry_run=True)
    assert {m: ids(m) for m in before} == before
    assert Session.objects.count() == 2
    assert would == purge(world)


def test_batches_are_bounded_and_report_progress(agents):
    for i in range(5):
        conversation(customer(f"C{i}", 400), ConversationStatus.ENDED, 400)  # two messages each
    seen = [Purged()]
    result = conversations_purge(older_than=retention_cutoff(DAYS), batch=3, progress=seen.append)
    steps = list(pairwise(seen))
    assert len(steps) >= 4  # ten messages, at most three a batch
    for before, after in steps:
        assert 0 < after.messages - before.messages <= 3
        assert after.conversations - before.conversations <= 3
    assert result.conversations == 5 and result.messages == 10 and result.customers == 5
    assert result.complete and not Conversation.objects.exists()


def test_max_batches_stops_early_and_says_so(agents):
    for i in range(2):
        conversation(customer(f"C{i}", 400), ConversationStatus.ENDED, 400)  # two messages each
    first = conversations_purge(older_than=retention_cutoff(DAYS), batch=2, max_batches=1)
    # The first conversation's two messages, then the conversation itself.
    assert (first.messages, first.conversations, first.complete) == (2, 1, False)
    assert Conversation.objects.count() == 1 and Message.objects.count() == 2
    rest = conversations_purge(older_than=retention_cutoff(DAYS), batch=2, max_batches=1)
    assert (rest.messages, rest.conversations, rest.complete) == (2, 1, False)
    last = conversations_purge(older_than=retention_cutoff(DAYS), batch=2, max_batches=1)
    assert last == Purged()
    assert not Conversation.objects.exists() and not Customer.objects.exists()
