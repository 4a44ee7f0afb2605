"""What each public service announces, checked in-process (no server).

Each test calls one service inside the outbox collector, the way
`chat.actions.run` does, on a real (test) database, and asserts the typed
events it recorded and their fields. A refused call records nothing. The
live tests check that these events reach real clients as PROTOCOL.md says.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentProfile
from agents.services import agent_create
from chat import events as ev
from chat import outbox, selectors
from chat.errors import ChatError
from chat.message_store import Draft, Stored, store_batch
from chat.models import Conversation, Message
from chat.services import endings, identity, internal, joins, presence, processes, queue, ratings, receipts

pytestmark = pytest.mark.django_db(transaction=True)


def announced(service, **kwargs):
    """(result, events) of one service call, as committed."""
    with outbox.collecting() as events:
        result = service(**kwargs)
    return result, list(events)


def kinds(events) -> list[type]:
    return [type(e) for e in events]


def make_agent(name: str, *, connected: bool = True, status: str = "online", capacity: int = 2) -> int:
    profile, _token = agent_create(
        username=name,
        password=None,
        display_name=name.title(),
        capacity=capacity,
        skills=[],
        supervisor=False,
    )
    AgentProfile.objects.filter(id=profile.id).update(sockets=1 if connected else 0, status=status)
    return profile.id


def start(name: str = "Carla", topic: str | None = None) -> joins.JoinResult:
    (result,), _events = announced(
        joins.customers_start, starts=[joins.Start(name=name, email=None, topic=topic)]
    )
    return result


# What a queued conversation given to an agent announces.
SERVED_FROM_THE_QUEUE = [ev.ConversationAssigned, ev.MessageCreated, ev.AgentStateChanged, ev.QueueChanged]


def refused(service, code: str, **kwargs) -> None:
    with outbox.collecting() as events, pytest.raises(ChatError) as error:
        service(**kwargs)
    assert error.value.code == code
    assert events == []


# --- joins --------------------------------------------------------------------------


def test_a_start_with_a_free_agent_is_assigned_with_its_note():
    ann = make_agent("ann")
    (result,), events = announced(joins.customers_start, starts=[joins.Start("Carla", None, None)])
    assert kinds(events) == [ev.ConversationAssigned, ev.MessageCreated, ev.AgentStateChanged]
    assigned, note, state = events
    assert assigned.agent_id == ann and assigned.customer_id == result.customer_id
    assert assigned.transferred_from is None and assigned.conversation["status"] == "active"
    assert [m["text"] for m in assigned.messages] == ["Ann joined the conversation."]
    assert assigned.messages[0]["system"] == {"code": "joined", "params": {"agent": "Ann"}}
    assert note.message == assigned.messages[0] and note.agent_id is None
    assert state.agent["id"] == ann and state.agent["active"] == 1
    assert result.assigned == {
        "conversation_id": result.conversation_id,
        "agent": {"id": ann, "name": "Ann"},
        "transferred": False,
    }


def test_a_start_with_nobody_free_waits_in_the_queue():
    (result,), events = announced(joins.customers_start, starts=[joins.Start("Carla", None, None)])
    assert events == [ev.QueueChanged()]
    assert result.ack["queue_position"] == 1 and result.assigned is None


def test_a_resume_marks_the_agents_messages_delivered():
    ann = make_agent("ann")
    joined = start()
    note_id = Message.objects.get(conversation_id=joined.conversation_id).id
    result, events = announced(
        joins.customer_join,
        token=joined.ack["token"],
        customer_id=None,
        name=None,
        email=None,
        topic=None,
        last_message_id=None,
    )
    assert events == [
        ev.ReceiptsChanged(
            conversation_id=joined.conversation_id,
            up_to_id=note_id,
            status="delivered",
            to="agent",
            customer_id=joined.customer_id,
            agent_id=ann,
        )
    ]
    assert result.assigned is None  # resumed, not newly assigned


def test_a_join_with_a_forged_token_is_refused():
    refused(
        joins.customer_join,
        "invalid_token",
        token="not-a-token",
        customer_id=None,
        name=None,
        email=None,
        topic=None,
        last_message_id=None,
    )


def test_reopening_after_the_end_places_a_new_conversation():
    joined = start()
    announced(endings.conversation_end_by_customer, customer_id=joined.customer_id)
    ann = make_agent("ann")
    new_id, events = announced(joins.conversation_reopen, customer_id=joined.customer_id)
    assert new_id != joined.conversation_id
    # Opened as queued and placed at once: the queue is refreshed too.
    assert kinds(events) == [
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    assert events[0].conversation["id"] == new_id and events[0].agent_id == ann


# --- identities taken back ---------------------------------------------------------


def test_starting_over_revokes_the_previous_customer_and_ends_its_chat():
    ann = make_agent("ann", capacity=5)
    joined = start()
    token = joined.ack["token"]
    result, events = announced(
        identity.customer_start_over, token=token, customer_id=None, name="Dora", email=None, topic=None
    )
    assert result.customer_id != joined.customer_id and result.ack["customer"]["name"] == "Dora"
    assert kinds(events) == [
        ev.MessageCreated,
        ev.ConversationEnded,
        ev.AgentStateChanged,
        ev.SocketsRevoked,
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
    ]
    assert events[1] == ev.ConversationEnded(joined.conversation_id, "customer_left", joined.customer_id, ann)
    assert events[3] == ev.SocketsRevoked(kind="customer", id=joined.customer_id)
    # The previous token no longer works anywhere; the new one does.
    refused(
        joins.customer_join,
        "invalid_token",
        token=token,
        customer_id=None,
        name=None,
        email=None,
        topic=None,
        last_message_id=None,
    )
    assert selectors.customer_by_token(token=token) is None
    assert selectors.customer_by_token(token=result.ack["token"])[0] == result.customer_id


def test_starting_over_with_another_customers_token_is_refused():
    carla, dora = start("Carla"), start("Dora")
    refused(
        identity.customer_start_over,
        "forbidden",
        token=dora.ack["token"],
        customer_id=carla.customer_id,
        name="Eve",
        email=None,
        topic=None,
    )
    assert selectors.customer_by_token(token=dora.ack["token"]) is not None


def test_a_supervisor_revokes_a_customers_tokens():
    joined = start()
    _, events = announced(identity.customer_tokens_revoke, customer_id=joined.customer_id)
    assert kinds(events) == [ev.MessageCreated, ev.ConversationEnded, ev.QueueChanged, ev.SocketsRevoked]
    assert events[1].reason == "closed_by_supervisor"
    assert events[0].message["system"] == {"code": "closed_by_supervisor", "params": {}}
    assert selectors.customer_by_token(token=joined.ack["token"]) is None
    # Nothing open any more: revoking again only revokes.
    _, events = announced(identity.customer_tokens_revoke, customer_id=joined.customer_id)
    assert kinds(events) == [ev.SocketsRevoked]


# --- endings -------------------------------------------------------------------------


def test_the_customer_ends_with_a_note_and_the_agent_is_freed():
    ann = make_agent("ann")
    joined = start()
    _, events = announced(endings.conversation_end_by_customer, customer_id=joined.customer_id)
    assert kinds(events) == [ev.MessageCreated, ev.ConversationEnded, ev.AgentStateChanged]
    note, ended, state = events
    assert note.message["text"] == "Carla ended the conversation." and note.agent_id == ann
    assert note.message["system"] == {"code": "ended_by_customer", "params": {"customer": "Carla"}}
    assert ended == ev.ConversationEnded(joined.conversation_id, "customer_left", joined.customer_id, ann)
    assert state.agent["active"] == 0
    refused(endings.conversation_end_by_customer, "conflict", customer_id=joined.customer_id)


def test_a_rating_of_the_ended_conversation_tells_its_agent_once():
    ann = make_agent("ann")
    joined = start()
    refused(ratings.conversation_rate, "not_found", customer_id=joined.customer_id, score=4, comment="")
    announced(endings.conversation_end_by_customer, customer_id=joined.customer_id)
    result, events = announced(
        ratings.conversation_rate, customer_id=joined.customer_id, score=4, comment="Kind"
    )
    assert result == {"conversation_id": joined.conversation_id, "score": 4}
    assert events == [
        ev.ConversationRated(
            conversation_id=joined.conversation_id,
            score=4,
            comment="Kind",
            customer={"id": joined.customer_id, "name": "Carla"},
            agent_id=ann,
        )
    ]
    assert selectors.conversation_by_id(joined.conversation_id)["rating"]["score"] == 4
    refused(ratings.conversation_rate, "conflict", customer_id=joined.customer_id, score=5, comment="")
    assert Conversation.objects.get(id=joined.conversation_id).rating == 4


def test_the_agent_ends_and_the_queue_drains_into_the_room():
    ann = make_agent("ann", capacity=1)
    first, second = start("Carla"), start("Dora")
    _, events = announced(
        endings.conversation_end_by_agent, agent_id=ann, conversation_id=first.conversation_id
    )
    assert kinds(events) == [
        ev.MessageCreated,
        ev.ConversationEnded,
        ev.AgentStateChanged,
        ev.ConversationAssigned,  # Dora, who waited
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    assert events[1].reason == "agent_ended" and events[3].customer_id == second.customer_id
    assert events[0].message["system"] == {"code": "ended_by_agent", "params": {"agent": "Ann"}}


def test_only_the_assigned_agent_may_end_and_not_twice():
    ann, ben = make_agent("ann"), make_agent("ben", status="busy")
    joined = start()
    refused(
        endings.conversation_end_by_agent, "forbidden", agent_id=ben, conversation_id=joined.conversation_id
    )
    refused(endings.conversation_end_by_agent, "not_found", agent_id=ann, conversation_id=999_999)
    announced(endings.conversation_end_by_agent, agent_id=ann, conversation_id=joined.conversation_id)
    refused(
        endings.conversation_end_by_agent, "conflict", agent_id=ann, conversation_id=joined.conversation_id
    )
    # Ownership comes first: another agent hears `forbidden`, ended or not.
    refused(
        endings.conversation_end_by_agent, "forbidden", agent_id=ben, conversation_id=joined.conversation_id
    )


def test_a_supervisor_closes():
    make_agent("ann")
    joined = start()
    _, events = announced(endings.conversation_close_by_supervisor, conversation_id=joined.conversation_id)
    assert kinds(events) == [ev.MessageCreated, ev.ConversationEnded, ev.AgentStateChanged]
    assert events[1].reason == "closed_by_supervisor"
    assert events[0].message["system"] == {"code": "closed_by_supervisor", "params": {}}
    refused(endings.conversation_close_by_supervisor, "conflict", conversation_id=joined.conversation_id)


def test_a_supervisor_requeues_to_another_agent():
    ann = make_agent("ann")
    joined = start()
    ben = make_agent("ben")
    _, events = announced(endings.conversation_requeue_by_supervisor, conversation_id=joined.conversation_id)
    assert kinds(events) == [
        ev.MessageCreated,  # "Ann is no longer available..."
        ev.ConversationTakenAway,
        ev.QueueChanged,
        ev.AgentStateChanged,
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    assert events[1] == ev.ConversationTakenAway(joined.conversation_id, ann)
    assert events[0].message["system"] == {"code": "requeued", "params": {"agent": "Ann"}}
    assert events[4].agent_id == ben


def test_idle_customers_are_closed_unless_connected():
    make_agent("ann")
    joined = start()
    long_ago = timezone.now() - timedelta(hours=2)
    Conversation.objects.update(created_at=long_ago)
    Message.objects.update(created_at=long_ago)
    from customers.models import Customer

    Customer.objects.update(last_seen_at=long_ago)
    count, events = announced(
        endings.conversations_close_idle, idle_seconds=60, connected_customer_ids={joined.customer_id}
    )
    assert count == 0 and events == []
    count, events = announced(endings.conversations_close_idle, idle_seconds=60, connected_customer_ids=set())
    assert count == 1
    assert kinds(events) == [ev.MessageCreated, ev.ConversationEnded, ev.AgentStateChanged]
    assert events[1].reason == "customer_idle"
    assert events[0].message["system"] == {"code": "closed_idle", "params": {}}


# --- queue and assignment --------------------------------------------------------------


def test_claiming_takes_the_head_of_the_queue():
    waiting = start()
    ann = make_agent("ann", status="busy")
    shape, events = announced(queue.queue_claim, agent_id=ann, conversation_id=None)
    assert shape["id"] == waiting.conversation_id and shape["agent"]["id"] == ann
    assert kinds(events) == [
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    refused(queue.queue_claim, "conflict", agent_id=ann, conversation_id=None)  # empty


def test_draining_assigns_what_fits():
    first, second = start("Carla"), start("Dora")
    ann = make_agent("ann", capacity=1)
    _, events = announced(queue.queue_drain)
    assert kinds(events) == [
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    assert events[0].customer_id == first.customer_id and events[0].agent_id == ann
    assert Conversation.objects.get(id=second.conversation_id).status == "queued"


def test_a_transfer_tells_both_agents():
    ann = make_agent("ann")
    joined = start()
    ben = make_agent("ben")
    shape, events = announced(
        queue.conversation_transfer, agent_id=ann, conversation_id=joined.conversation_id, to_agent_id=ben
    )
    assert shape["agent"]["id"] == ben
    assert kinds(events) == [
        ev.ConversationTakenAway,
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.AgentStateChanged,
    ]
    assert events[0] == ev.ConversationTakenAway(joined.conversation_id, ann)
    assert events[1].transferred_from == {"id": ann, "name": "Ann"}
    assert events[2].message["text"] == "You were transferred to Ben."
    transferred = {"code": "transferred", "params": {"agent": "Ben", "from_agent": "Ann"}}
    assert events[2].message["system"] == transferred
    # The new agent's page holds the same note (worded for agents when sent).
    assert events[1].messages[-1] == events[2].message
    assert {events[3].agent["id"], events[4].agent["id"]} == {ann, ben}
    refused(
        queue.conversation_transfer,
        "forbidden",
        agent_id=ann,
        conversation_id=joined.conversation_id,
        to_agent_id=ben,
    )
    refused(
        queue.conversation_transfer,
        "invalid_payload",
        agent_id=ben,
        conversation_id=joined.conversation_id,
        to_agent_id=ben,
    )


# --- receipts and internal chat ---------------------------------------------------------


def test_reading_announces_once():
    ann = make_agent("ann")
    joined = start()
    [stored] = store_batch(
        drafts=[
            Draft(joined.conversation_id, "customer", "Carla", "hello", None, customer_id=joined.customer_id)
        ],
        delivered_ids=[],
    )
    up_to = stored.message["id"]
    _, events = announced(
        receipts.message_read, conversation_id=joined.conversation_id, up_to_id=up_to, agent_id=ann
    )
    assert events == [
        ev.ReceiptsChanged(joined.conversation_id, up_to, "read", "customer", joined.customer_id, ann)
    ]
    _, again = announced(
        receipts.message_read, conversation_id=joined.conversation_id, up_to_id=up_to, agent_id=ann
    )
    assert again == []
    refused(
        receipts.message_read,
        "forbidden",
        conversation_id=joined.conversation_id,
        up_to_id=up_to,
        customer_id=joined.customer_id + 1,
    )


def test_an_internal_message_is_announced_once_per_client_id():
    ann, ben = make_agent("ann"), make_agent("ben")
    kwargs = {
        "sender_id": ann,
        "text": "psst",
        "to_agent_id": ben,
        "conversation_id": None,
        "client_id": "i-1",
    }
    (shape, new), events = announced(internal.internal_message_create, **kwargs)
    assert new and events == [ev.InternalMessageCreated(message=shape, sender_id=ann, to_agent_id=ben)]
    assert shape["from"] == {"id": ann, "name": "Ann"} and shape["text"] == "psst"
    (again, new), events = announced(internal.internal_message_create, **kwargs)
    assert again == shape and not new and events == []
    refused(
        internal.internal_message_create,
        "invalid_payload",
        **{**kwargs, "to_agent_id": ann, "client_id": None},
    )


# --- presence --------------------------------------------------------------------------


def test_logging_in_counts_the_socket_and_serves_the_queue():
    waiting = start()
    ann = make_agent("ann", connected=False)
    login, events = announced(presence.agent_login, agent_id=ann, new_socket=True, process_id="p1")
    assert login["agent"]["connected"] is True and login["queue"] == []
    assert kinds(events) == [ev.AgentStateChanged, *SERVED_FROM_THE_QUEUE]
    assert events[1].customer_id == waiting.customer_id


def test_the_last_socket_closing_is_announced():
    ann = make_agent("ann", connected=False)
    announced(presence.agent_login, agent_id=ann, new_socket=True, process_id="p1")
    _, events = announced(presence.agent_socket_closed, agent_id=ann, process_id="p1")
    assert kinds(events) == [ev.AgentStateChanged] and events[0].agent["connected"] is False
    # Closed twice (a process taken for dead, then its socket): counted down once.
    assert announced(presence.agent_socket_closed, agent_id=ann, process_id="p1") == (None, [])


def test_going_offline_hands_conversations_back_or_ends_them():
    ann = make_agent("ann")
    joined = start()
    state, events = announced(presence.agent_set_status, agent_id=ann, status="offline")
    assert state["status"] == "offline"
    # Nobody else is here: the conversation ends rather than waiting for nobody.
    assert kinds(events) == [
        ev.MessageCreated,
        ev.ConversationEnded,
        ev.AgentStateChanged,
        ev.AgentStateChanged,
    ]
    assert events[1] == ev.ConversationEnded(joined.conversation_id, "agent_offline", joined.customer_id, ann)
    assert events[0].message["system"] == {"code": "agent_offline", "params": {"agent": "Ann"}}


def test_agents_gone_past_the_grace_period_go_offline():
    ann = make_agent("ann")
    joined = start()
    make_agent("ben", status="busy")
    AgentProfile.objects.filter(id=ann).update(
        sockets=0, last_disconnect_at=timezone.now() - timedelta(minutes=5)
    )
    gone, events = announced(presence.agents_expire_absent, grace_seconds=60)
    assert gone == [ann]
    assert kinds(events) == [
        ev.MessageCreated,
        ev.ConversationTakenAway,
        ev.QueueChanged,
        ev.AgentStateChanged,
        ev.AgentStateChanged,
    ]
    assert events[1] == ev.ConversationTakenAway(joined.conversation_id, ann)
    assert announced(presence.agents_expire_absent, grace_seconds=60) == ([], [])


def test_raising_capacity_drains_the_queue():
    ann = make_agent("ann", capacity=0)
    waiting = start()
    _, events = announced(presence.agent_set_capacity, agent_id=ann, capacity=1)
    assert kinds(events) == [ev.AgentStateChanged, *SERVED_FROM_THE_QUEUE]
    assert events[1].customer_id == waiting.customer_id
    refused(presence.agent_set_capacity, "conflict", agent_id=ann, capacity=-1)


def test_quiet_services_announce_nothing():
    joined = start()
    assert announced(processes.processes_forget_all_but, process_id="p1") == (None, [])
    assert announced(processes.process_heartbeat, process_id="p1", host="h", pid=1) == (False, [])
    assert announced(processes.process_heartbeat, process_id="p1", host="h", pid=1) == (True, [])
    assert announced(processes.processes_expire_silent, timeout_seconds=60) == ([], [])
    assert announced(joins.customer_seen, customer_id=joined.customer_id) == (None, [])


# --- the message store -------------------------------------------------------------------


def test_a_message_after_the_end_opens_and_announces_a_new_conversation():
    make_agent("ann")
    joined = start()
    announced(endings.conversation_end_by_customer, customer_id=joined.customer_id)
    draft = Draft(
        joined.conversation_id, "customer", "Carla", "back again", "c-1", customer_id=joined.customer_id
    )
    [stored], events = announced(store_batch, drafts=[draft], delivered_ids=[])
    assert isinstance(stored, Stored) and stored.new
    assert stored.message["conversation_id"] != joined.conversation_id
    assert kinds(events) == [
        ev.ConversationAssigned,
        ev.MessageCreated,
        ev.AgentStateChanged,
        ev.QueueChanged,
    ]
    assert events[0].conversation["id"] == stored.message["conversation_id"]


def test_the_usual_batch_announces_nothing_and_refuses_by_access():
    ann, ben = make_agent("ann"), make_agent("ben", status="busy")
    joined = start()
    drafts = [
        Draft(joined.conversation_id, "agent", "Ann", "hi", "a-1", agent_id=ann),
        Draft(joined.conversation_id, "agent", "Ben", "me too", None, agent_id=ben),
        Draft(999_999, "agent", "Ann", "lost", None, agent_id=ann),
        Draft(joined.conversation_id, "agent", "Ann", "hi", "a-1", agent_id=ann),  # a resend
    ]
    outcomes, events = announced(store_batch, drafts=drafts, delivered_ids=[])
    assert events == []
    first, ben_refused, missing, resend = outcomes
    assert first.new and first.agent_id == ann and first.customer_id == joined.customer_id
    assert (ben_refused.code, missing.code) == ("forbidden", "not_found")
    assert resend.message == first.message and not resend.new
