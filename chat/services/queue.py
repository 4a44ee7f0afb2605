"""The queue and assignment: giving conversations to agents, in order.

`chat.assignment` decides (plain rules over snapshots); this module applies
its answers. Every transaction that may assign, requeue or end takes the
assignment lock first (`lock_assignment`). Functions named `do_*` change
state inside a caller's transaction that already holds it; the others are
services of their own (one transaction each).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, AgentStatus

from .. import access, assignment, selectors, system_notes
from ..errors import CONFLICT, INVALID_PAYLOAD, NOT_FOUND, ChatError
from ..events import (
    AgentStateChanged,
    ConversationAssigned,
    ConversationTakenAway,
    MessageCreated,
    QueueChanged,
)
from ..models import Conversation, ConversationStatus, Sender
from ..outbox import record
from .notes import system_message
from .receipts import do_mark_delivered


def lock_assignment() -> None:
    """Take the assignment lock: every agent row, in id order.

    Every transaction that may assign, requeue or end takes it first, before
    any other row lock, so on PostgreSQL they run one at a time across all
    processes and can never deadlock; SQLite's IMMEDIATE transactions already
    admit one writer at a time.
    """
    list(AgentProfile.objects.select_for_update().order_by("id").values_list("id"))


def agent_snapshots(profiles: list[AgentProfile] | None = None) -> list[assignment.AgentSnapshot]:
    """Every agent (or `profiles`, freshly loaded), as the assignment rules see it.

    The caller holds the assignment lock.
    """
    if profiles is None:
        profiles = list(AgentProfile.objects.order_by("id"))
    active = dict(
        Conversation.objects.filter(status=ConversationStatus.ACTIVE, agent__isnull=False)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    return [
        assignment.AgentSnapshot(
            id=p.id,
            status=p.status,
            sockets=p.sockets,
            active=active.get(p.id, 0),
            capacity=p.capacity,
            skills=frozenset(p.skills or ()),
            last_assigned_at=p.last_assigned_at.timestamp() if p.last_assigned_at else None,
        )
        for p in profiles
    ]


def lock_agents_conversation(conversation_id: int, agent_id: int) -> Conversation:
    """The conversation, row-locked, if this agent may act on it (chat.access); else the refusal."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(id=conversation_id)
        .first()
    )
    access.check_agent(selectors.access_row(conversation), agent_id)
    return conversation


def joined_note(agent_name: str) -> system_notes.Note:
    """The system note a conversation gets when its first agent joins."""
    return system_notes.note(system_notes.JOINED, agent=agent_name)


def do_assign(conversation: Conversation, agent_id: int, *, transferred_from: int | None) -> None:
    """Give `conversation` to the agent, with its note and its announcements."""
    now = timezone.now()
    agent = AgentProfile.objects.get(id=agent_id)
    was_queued = conversation.status == ConversationStatus.QUEUED
    conversation.agent = agent
    conversation.status = ConversationStatus.ACTIVE
    conversation.assigned_at = now
    if conversation.first_assigned_at is None:
        conversation.first_assigned_at = now
    conversation.queue_order = None
    fields = ["agent", "status", "assigned_at", "first_assigned_at", "queue_order"]
    if transferred_from:
        # The row is locked (lock_agents_conversation): counted here, for the
        # reports, with the `transferred` note below.
        conversation.transfer_count += 1
        fields.append("transfer_count")
    conversation.save(update_fields=fields)
    AgentProfile.objects.filter(id=agent_id).update(last_assigned_at=now)
    previous = AgentProfile.objects.get(id=transferred_from) if transferred_from else None
    # The agent gets this note inside `customer:new`, the customer after
    # `agent:assigned`.
    if previous is None:
        note = joined_note(agent.display_name)
    else:
        note = system_notes.note(
            system_notes.TRANSFERRED, agent=agent.display_name, from_agent=previous.display_name
        )
    m = system_message(conversation, note, now)
    m.save()
    # Agents are only given conversations while connected: what the customer
    # wrote so far reaches them now, in `customer:new`.
    do_mark_delivered(conversation, Sender.CUSTOMER)
    # The latest page: older messages come through `conversation:history`.
    messages, earlier = selectors.message_page(conversation.id, limit=settings.MESSAGE_PAGE_LIMIT)
    record(
        ConversationAssigned(
            conversation=selectors.conversation_by_id(conversation.id),
            messages=messages,
            customer_id=conversation.customer_id,
            agent_id=agent_id,
            transferred_from=selectors.agent_ref(previous),
            has_more=earlier,
        )
    )
    record(
        MessageCreated(
            message=selectors.message_shape(m), customer_id=conversation.customer_id, agent_id=None
        )
    )
    record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))
    if was_queued:
        record(QueueChanged())


def do_enqueue(conversation: Conversation) -> None:
    """Put a new conversation at the tail of the queue."""
    conversation.status = ConversationStatus.QUEUED
    conversation.agent = None
    conversation.queue_order = time.time_ns() // 1000
    conversation.queued_at = timezone.now()
    conversation.save(update_fields=["status", "agent", "queue_order", "queued_at"])
    record(QueueChanged())


def do_place(conversation: Conversation) -> None:
    """Give a new conversation to the best free agent, or queue it."""
    agents = agent_snapshots()
    chosen = assignment.pick_agent(agents, conversation.topic, assignment.known_skills_of(agents))
    if chosen is None:
        do_enqueue(conversation)
    else:
        do_assign(conversation, chosen.id, transferred_from=None)


def do_drain() -> None:
    """Serve the queue in order while agents have room."""
    # Usually nobody waits: then the agents need not be looked at (a login
    # or an end would otherwise read every agent, a thousand in a big team).
    if not selectors.queued_conversations().exists():
        return
    agents = agent_snapshots()
    if not any(assignment.accepts_new(a) for a in agents):
        return
    free = sum(a.capacity - a.active for a in agents if assignment.accepts_new(a))
    # Skills can make the head wait; look a little past what fits.
    head = list(selectors.queued_conversations().values_list("id", "topic")[: free * 4 + 20])
    plan = assignment.plan_drain(
        [assignment.QueuedConversation(id=i, topic=t) for i, t in head],
        agents,
        assignment.known_skills_of(agents),
        time.time(),
    )
    for conversation_id, agent_id in plan:
        do_assign(Conversation.objects.get(id=conversation_id), agent_id, transferred_from=None)


@transaction.atomic
def queue_drain() -> None:
    """Assign what fits now (operators' `queue drain`)."""
    lock_assignment()
    do_drain()


@transaction.atomic
def queue_claim(*, agent_id: int, conversation_id: int | None) -> dict:
    """The agent takes a queued conversation (that one, or the head)."""
    lock_assignment()
    agents = {a.id: a for a in agent_snapshots()}
    me = agents[agent_id]
    if me.status == AgentStatus.OFFLINE:
        raise ChatError(CONFLICT, _("Go online or busy before claiming."))
    if me.active >= me.capacity:
        raise ChatError(CONFLICT, _("You are at capacity."))
    queued = selectors.queued_conversations().select_for_update()
    if conversation_id is None:
        conversation = queued.first()
        if conversation is None:
            raise ChatError(CONFLICT, _("The queue is empty."))
    else:
        conversation = queued.filter(id=conversation_id).first()
        if conversation is None:
            if Conversation.objects.filter(id=conversation_id).exists():
                raise ChatError(CONFLICT, _("That conversation is no longer waiting."))
            raise ChatError(NOT_FOUND, _("No such conversation."))
    do_assign(conversation, agent_id, transferred_from=None)
    return selectors.conversation_by_id(conversation.id)


@transaction.atomic
def conversation_transfer(*, agent_id: int, conversation_id: int, to_agent_id: int) -> dict:
    """The assigned agent hands the conversation to another connected agent with room."""
    lock_assignment()
    conversation = lock_agents_conversation(conversation_id, agent_id)
    if to_agent_id == agent_id:
        raise ChatError(INVALID_PAYLOAD, _("Transfer to another agent, not yourself."))
    agents = {a.id: a for a in agent_snapshots()}
    target = agents.get(to_agent_id)
    if target is None:
        raise ChatError(NOT_FOUND, _("No such agent."))
    if target.status == AgentStatus.OFFLINE or target.sockets == 0:
        raise ChatError(CONFLICT, _("That agent is offline."))
    if target.active >= target.capacity:
        raise ChatError(CONFLICT, _("That agent is at capacity."))
    record(ConversationTakenAway(conversation_id=conversation_id, agent_id=agent_id))
    do_assign(conversation, to_agent_id, transferred_from=agent_id)
    record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))
    do_drain()
    return selectors.conversation_by_id(conversation_id)
