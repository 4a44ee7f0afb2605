"""Customers joining: new visitors (in batches), resumes with a token, reopening."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile
from customers import tokens
from customers.models import Customer

from .. import assignment, selectors
from ..errors import FORBIDDEN, INVALID_PAYLOAD, INVALID_TOKEN, ChatError
from ..events import AgentStateChanged, ConversationAssigned, MessageCreated, QueueChanged
from ..models import Conversation, ConversationStatus, Message, Sender
from ..outbox import record
from .notes import system_message
from .queue import agent_snapshots, do_place, joined_note, lock_assignment
from .receipts import do_mark_delivered


@dataclass(frozen=True)
class Start:
    """A new customer's first `customer:join` (no token)."""

    name: str
    email: str | None
    topic: str | None


@dataclass
class JoinResult:
    ack: dict
    customer_id: int
    customer_name: str
    conversation_id: int
    # `agent:assigned`'s payload when this join assigned the conversation:
    # the joining socket is told after its ack (it was not in the room yet).
    assigned: dict | None = None


def _assigned_payload(conversation: dict) -> dict:
    return {"conversation_id": conversation["id"], "agent": conversation["agent"], "transferred": False}


def _open_conversation(customer: Customer, topic: str | None) -> Conversation:
    conversation = Conversation.objects.create(
        customer=customer, status=ConversationStatus.QUEUED, topic=topic, queue_order=0
    )
    do_place(conversation)
    return conversation


@transaction.atomic
def customer_join(
    *,
    token: str | None,
    customer_id: int | None,
    name: str | None,
    email: str | None,
    topic: str | None,
    last_message_id: int | None,
) -> JoinResult:
    """Start a chat (no token) or resume the customer's current one.

    `customer_id` is the identity the socket already proved (connect auth);
    a token in the payload must name the same customer.
    """
    lock_assignment()
    if token is not None:
        parsed = tokens.read(token)
        customer = (
            Customer.objects.select_for_update().filter(id=parsed[0], token_key=parsed[1]).first()
            if parsed
            else None
        )
        if customer is None:
            # Expired, revoked, or never issued here.
            raise ChatError(INVALID_TOKEN, _("The token is no longer valid; join without one."))
        if customer_id is not None and customer.id != customer_id:
            raise ChatError(FORBIDDEN, _("This socket belongs to another customer."))
    elif customer_id is not None:
        customer = Customer.objects.select_for_update().get(id=customer_id)
    else:
        if name is None:
            raise ChatError(INVALID_PAYLOAD, _("`name` is required to start a chat."))
        return _start_customers([Start(name=name, email=email, topic=topic)])[0]
    customer.last_seen_at = timezone.now()
    customer.save(update_fields=["last_seen_at"])
    conversation = selectors.current_conversation(customer.id)
    opened = conversation is None
    if opened:
        conversation = _open_conversation(customer, topic)
    else:
        do_mark_delivered(conversation, Sender.AGENT)
        do_mark_delivered(conversation, Sender.SYSTEM)
    conversation.refresh_from_db()
    shape = selectors.conversation_by_id(conversation.id)
    ack = {
        "ok": True,
        "token": tokens.issue(customer.id, customer.token_key),
        "customer": selectors.customer_shape(customer),
        "conversation": shape,
        "queue_position": selectors.queue_position(conversation),
    }
    ack["messages"], ack["has_more"] = selectors.message_page(
        conversation.id, after_id=last_message_id, limit=settings.MESSAGE_PAGE_LIMIT
    )
    assigned = _assigned_payload(shape) if opened and shape["agent"] is not None else None
    return JoinResult(ack, customer.id, customer.name, conversation.id, assigned)


@transaction.atomic
def customers_start(*, starts: list[Start]) -> list[JoinResult]:
    """Create customers with their first conversations, many at once.

    One assignment lock, one look at the agents and a few bulk inserts serve
    the whole batch, where one join at a time cost about twenty queries: this
    is what lets a storm of new visitors be placed in time. Each conversation
    is placed as `do_place` would place it, in the order of `starts`.
    """
    lock_assignment()
    return _start_customers(starts)


def _start_customers(starts: list[Start]) -> list[JoinResult]:
    now = timezone.now()
    profiles = {p.id: p for p in AgentProfile.objects.order_by("id")}
    pool = {a.id: a for a in agent_snapshots(list(profiles.values()))}
    known = assignment.known_skills_of(pool.values())
    customers = Customer.objects.bulk_create(
        [Customer(name=s.name, email=s.email or "", last_seen_at=now) for s in starts]
    )
    queue = selectors.queued_conversations().aggregate(n=Count("id"), last=Max("queue_order"))
    waiting = queue["n"]
    # After everyone waiting, even if the clock went back.
    next_order = max(time.time_ns() // 1000, (queue["last"] or 0) + 1)
    conversations: list[Conversation] = []
    positions: list[int | None] = []
    for i, (start, customer) in enumerate(zip(starts, customers, strict=True)):
        chosen = assignment.pick_agent(list(pool.values()), start.topic, known)
        if chosen is None:
            waiting += 1
            positions.append(waiting)
            conversations.append(
                Conversation(
                    customer=customer,
                    status=ConversationStatus.QUEUED,
                    topic=start.topic,
                    queue_order=next_order + i,
                    queued_at=now,
                )
            )
            continue
        # A microsecond apart, so the longest-idle rule sees them in order.
        at = now + timedelta(microseconds=i)
        pool[chosen.id] = replace(chosen, active=chosen.active + 1, last_assigned_at=at.timestamp())
        positions.append(None)
        conversations.append(
            Conversation(
                customer=customer,
                agent=profiles[chosen.id],
                status=ConversationStatus.ACTIVE,
                topic=start.topic,
                assigned_at=at,
                first_assigned_at=at,
            )
        )
    Conversation.objects.bulk_create(conversations)
    assigned = [c for c in conversations if c.agent_id is not None]
    notes = {c.id: system_message(c, joined_note(c.agent.display_name), c.assigned_at) for c in assigned}
    Message.objects.bulk_create(notes.values())
    last_assigned = {c.agent_id: c.assigned_at for c in assigned}  # the last one wins
    for agent_id, at in last_assigned.items():
        AgentProfile.objects.filter(id=agent_id).update(last_assigned_at=at)

    results = []
    for conversation, customer, position in zip(conversations, customers, positions, strict=True):
        conversation.unread_count = 0
        conversation.customer_conversations = 1
        shape = selectors.conversation_shape(conversation)
        messages = [selectors.message_shape(notes[conversation.id])] if conversation.id in notes else []
        if conversation.agent_id is not None:
            record(
                ConversationAssigned(
                    conversation=shape,
                    messages=messages,
                    customer_id=customer.id,
                    agent_id=conversation.agent_id,
                    transferred_from=None,
                )
            )
            record(MessageCreated(message=messages[0], customer_id=customer.id, agent_id=None))
        ack = {
            "ok": True,
            "token": tokens.issue(customer.id, customer.token_key),
            "customer": selectors.customer_shape(customer, 1),
            "conversation": shape,
            "messages": messages,
            "has_more": False,
            "queue_position": position,
        }
        told = _assigned_payload(shape) if conversation.agent_id is not None else None
        results.append(JoinResult(ack, customer.id, customer.name, conversation.id, told))
    for agent_id in last_assigned:
        record(AgentStateChanged(agent=selectors.agent_state(profiles[agent_id], pool[agent_id].active)))
    if len(assigned) < len(conversations):
        record(QueueChanged())
    return results


@transaction.atomic
def conversation_reopen(*, customer_id: int, topic: str | None = None) -> int:
    """The customer's open conversation, opening a new one if the last ended."""
    lock_assignment()
    customer = Customer.objects.select_for_update().get(id=customer_id)
    current = selectors.current_conversation(customer.id)
    if current is not None and current.status != ConversationStatus.ENDED:
        return current.id
    if topic is None and current is not None:
        topic = current.topic
    try:
        with transaction.atomic():
            return _open_conversation(customer, topic).id
    except IntegrityError:
        # Another process opened it first (one open conversation per customer).
        return selectors.current_conversation(customer.id).id


@transaction.atomic
def customer_seen(*, customer_id: int) -> None:
    Customer.objects.filter(id=customer_id).update(last_seen_at=timezone.now())
