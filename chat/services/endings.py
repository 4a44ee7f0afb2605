"""Conversations that end or leave their agent: ended, closed idle, or requeued."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, AgentStatus

from .. import assignment, selectors, system_notes
from ..errors import CONFLICT, ChatError
from ..events import AgentStateChanged, ConversationEnded, ConversationTakenAway, MessageCreated, QueueChanged
from ..models import Conversation, ConversationStatus, EndReason
from ..outbox import record
from .notes import system_message
from .queue import do_drain, lock_agents_conversation, lock_assignment


def do_system_note(conversation: Conversation, note: system_notes.Note) -> None:
    """Store a system message (`system_notes.note(...)`) and announce it to both sides."""
    m = system_message(conversation, note, timezone.now())
    m.save()
    record(
        MessageCreated(
            message=selectors.message_shape(m),
            customer_id=conversation.customer_id,
            agent_id=conversation.agent_id,
        )
    )


def do_end(conversation: Conversation, reason: str, note: system_notes.Note) -> None:
    """End the conversation with a note; the agent's room goes to the queue."""
    agent_id = conversation.agent_id
    was_queued = conversation.status == ConversationStatus.QUEUED
    do_system_note(conversation, note)
    conversation.status = ConversationStatus.ENDED
    conversation.ended_at = timezone.now()
    conversation.end_reason = reason
    conversation.queue_order = None
    conversation.save(update_fields=["status", "ended_at", "end_reason", "queue_order"])
    record(
        ConversationEnded(
            conversation_id=conversation.id,
            reason=reason,
            customer_id=conversation.customer_id,
            agent_id=agent_id,
        )
    )
    if agent_id is not None:
        record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))
        do_drain()
    if was_queued:
        record(QueueChanged())


@transaction.atomic
def conversation_end_by_customer(*, customer_id: int) -> None:
    lock_assignment()
    conversation = (
        Conversation.objects.select_for_update()
        .filter(customer_id=customer_id)
        .exclude(status=ConversationStatus.ENDED)
        .first()
    )
    if conversation is None:
        raise ChatError(CONFLICT, _("There is no open conversation to end."))
    note = system_notes.note(system_notes.ENDED_BY_CUSTOMER, customer=conversation.customer.name)
    do_end(conversation, EndReason.CUSTOMER_LEFT, note)


@transaction.atomic
def conversation_end_by_agent(*, agent_id: int, conversation_id: int) -> dict:
    lock_assignment()
    conversation = lock_agents_conversation(conversation_id, agent_id)
    note = system_notes.note(system_notes.ENDED_BY_AGENT, agent=conversation.agent.display_name)
    do_end(conversation, EndReason.AGENT_ENDED, note)
    return selectors.conversation_by_id(conversation_id)


@transaction.atomic
def conversation_close_by_supervisor(*, conversation_id: int) -> None:
    lock_assignment()
    conversation = Conversation.objects.select_for_update().get(id=conversation_id)
    if conversation.status == ConversationStatus.ENDED:
        raise ChatError(CONFLICT, _("The conversation has already ended."))
    do_end(conversation, EndReason.CLOSED_BY_SUPERVISOR, system_notes.note(system_notes.CLOSED_BY_SUPERVISOR))


@transaction.atomic
def conversation_requeue_by_supervisor(*, conversation_id: int) -> None:
    lock_assignment()
    conversation = (
        Conversation.objects.select_for_update(of=("self",)).select_related("agent").get(id=conversation_id)
    )
    if conversation.status != ConversationStatus.ACTIVE:
        raise ChatError(CONFLICT, _("Only active conversations can be returned to the queue."))
    _requeue_or_end([conversation], conversation.agent)
    do_drain()


def _requeue_or_end(conversations: list[Conversation], leaving: AgentProfile) -> None:
    """Hand the conversations of an agent who left back to the queue's head.

    Where no other agent is logged in to take them over, they end with
    `agent_offline` instead of waiting for nobody.
    """
    if not conversations:
        return
    others = (
        AgentProfile.objects.exclude(id=leaving.id)
        .exclude(status=AgentStatus.OFFLINE)
        .filter(sockets__gt=0)
        .exists()
    )
    if not others:
        note = system_notes.note(system_notes.AGENT_OFFLINE, agent=leaving.display_name)
        for conversation in conversations:
            do_end(conversation, EndReason.AGENT_OFFLINE, note)
        return
    head = selectors.queued_conversations().aggregate(m=Min("queue_order"))["m"]
    note = system_notes.note(system_notes.REQUEUED, agent=leaving.display_name)
    for conversation, order in zip(
        conversations, assignment.requeue_order(head, len(conversations)), strict=True
    ):
        do_system_note(conversation, note)
        record(ConversationTakenAway(conversation_id=conversation.id, agent_id=leaving.id))
        conversation.status = ConversationStatus.QUEUED
        conversation.agent = None
        conversation.queue_order = order
        conversation.queued_at = timezone.now()
        conversation.save(update_fields=["status", "agent", "queue_order", "queued_at"])
    record(QueueChanged())
    record(AgentStateChanged(agent=selectors.agent_state_by_id(leaving.id)))


def do_release_conversations_of(agent: AgentProfile) -> None:
    """Requeue (or end) an agent's active conversations; then serve the queue."""
    held = list(
        Conversation.objects.select_for_update()
        .filter(agent=agent, status=ConversationStatus.ACTIVE)
        .order_by("assigned_at", "id")
    )
    _requeue_or_end(held, agent)
    do_drain()


def conversations_close_idle(*, idle_seconds: float, connected_customer_ids: set[int]) -> int:
    """End conversations whose customer has been gone and silent too long.

    A customer with a socket connected (`connected_customer_ids`) is not gone.
    The sweeper calls this every few seconds: candidates are found by a plain
    read, and only when there are any is the write lock taken (it would
    stall the message writer's next commit behind SQLite's busy wait).
    """
    cutoff = timezone.now() - timedelta(seconds=idle_seconds)
    if not selectors.idle_conversation_ids(cutoff, connected_customer_ids):
        return 0
    with transaction.atomic():
        lock_assignment()
        candidates = (
            Conversation.objects.select_for_update(of=("self",))
            .filter(id__in=selectors.idle_conversation_ids(cutoff, connected_customer_ids))
            .exclude(status=ConversationStatus.ENDED)
            .select_related("customer")
        )
        count = 0
        for conversation in candidates:
            do_end(conversation, EndReason.CUSTOMER_IDLE, system_notes.note(system_notes.CLOSED_IDLE))
            count += 1
        return count
