"""Everything that changes conversations and messages.

Each public function is one transaction, keyword-only, and announces what it
changed through `outbox.record` (sent after commit by chat.realtime). They are
synchronous: the async transport calls them through `chat.actions.run`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from agents.models import AgentProfile, AgentStatus
from customers import tokens
from customers.models import Customer

from . import assignment, message_sql, selectors
from .errors import CONFLICT, FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, ChatError
from .models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    EndReason,
    InternalMessage,
    Message,
    Sender,
)
from .outbox import record

# --- assignment -------------------------------------------------------------


def lock_assignment() -> None:
    """Take the assignment lock: every agent row, in id order.

    Every transaction that may assign, requeue or end takes it first, before
    any other row lock, so on PostgreSQL they run one at a time across all
    processes and can never deadlock; SQLite's IMMEDIATE transactions already
    admit one writer at a time.
    """
    list(AgentProfile.objects.select_for_update().order_by("id").values_list("id"))


def _agent_snapshots(profiles: list[AgentProfile] | None = None) -> list[assignment.AgentSnapshot]:
    """Every agent (or `profiles`, freshly loaded), as the assignment rules
    see it. The caller holds the assignment lock (every service that assigns
    takes it first)."""
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


def _system_message(conversation: Conversation, text: str) -> None:
    m = Message.objects.create(
        conversation=conversation,
        sender=Sender.SYSTEM,
        sender_name="System",
        text=text,
        created_at=timezone.now(),
    )
    record(
        "message",
        message=selectors.message_shape(m),
        customer_id=conversation.customer_id,
        agent_id=conversation.agent_id,
    )


def _assign(conversation: Conversation, agent_id: int, *, transferred_from: int | None) -> None:
    now = timezone.now()
    agent = AgentProfile.objects.get(id=agent_id)
    was_queued = conversation.status == ConversationStatus.QUEUED
    conversation.agent = agent
    conversation.status = ConversationStatus.ACTIVE
    conversation.assigned_at = now
    conversation.queue_order = None
    conversation.save(update_fields=["agent", "status", "assigned_at", "queue_order"])
    AgentProfile.objects.filter(id=agent_id).update(last_assigned_at=now)
    # The agent gets this note inside `customer:new`, the customer after
    # `agent:assigned`.
    if transferred_from is None:
        note = f"{agent.display_name} joined the conversation."
    else:
        note = f"You were transferred to {agent.display_name}."
    m = Message.objects.create(
        conversation=conversation, sender=Sender.SYSTEM, sender_name="System", text=note, created_at=now
    )
    # Agents are only given conversations while connected: what the customer
    # wrote so far reaches them now, in `customer:new`.
    mark_delivered(conversation, Sender.CUSTOMER)
    record(
        "assigned",
        conversation=selectors.conversation_by_id(conversation.id),
        messages=selectors.messages_after(conversation.id),
        customer_id=conversation.customer_id,
        agent_id=agent_id,
        transferred_from=(
            selectors.agent_ref(AgentProfile.objects.get(id=transferred_from)) if transferred_from else None
        ),
    )
    record(
        "message",
        message=selectors.message_shape(m),
        customer_id=conversation.customer_id,
        agent_id=None,
    )
    record("agent_state", agent=selectors.agent_state_by_id(agent_id))
    if was_queued:
        record("queue_changed")


def _enqueue(conversation: Conversation) -> None:
    """Put a new conversation at the tail of the queue."""
    conversation.status = ConversationStatus.QUEUED
    conversation.agent = None
    conversation.queue_order = time.time_ns() // 1000
    conversation.queued_at = timezone.now()
    conversation.save(update_fields=["status", "agent", "queue_order", "queued_at"])
    record("queue_changed")


def _place(conversation: Conversation) -> None:
    """Give a new conversation to the best free agent, or queue it."""
    agents = _agent_snapshots()
    chosen = assignment.pick_agent(agents, conversation.topic, assignment.known_skills_of(agents))
    if chosen is None:
        _enqueue(conversation)
    else:
        _assign(conversation, chosen.id, transferred_from=None)


def drain() -> None:
    """Serve the queue in order while agents have room.

    Runs inside the caller's transaction, which holds the assignment lock.
    """
    # Usually nobody waits: then the agents need not be looked at (a login
    # or an end would otherwise read every agent, a thousand in a big team).
    if not selectors.queued_conversations().exists():
        return
    agents = _agent_snapshots()
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
        conversation = Conversation.objects.get(id=conversation_id)
        _assign(conversation, agent_id, transferred_from=None)


@transaction.atomic
def queue_drain() -> None:
    lock_assignment()
    drain()


# --- customers --------------------------------------------------------------


@dataclass
class JoinResult:
    ack: dict
    customer_id: int
    customer_name: str
    conversation_id: int


def _open_conversation(customer: Customer, topic: str | None) -> Conversation:
    conversation = Conversation.objects.create(
        customer=customer, status=ConversationStatus.QUEUED, topic=topic, queue_order=0
    )
    _place(conversation)
    return conversation


def _current_conversation(customer: Customer) -> Conversation | None:
    return customer.conversations.order_by("-id").first()


def mark_delivered(conversation: Conversation, sender: str) -> None:
    """Mark `sender`'s messages delivered now that the other side is here."""
    pending = Message.objects.filter(conversation=conversation, sender=sender, status=DeliveryStatus.SENT)
    up_to = pending.aggregate(m=Max("id"))["m"]
    if up_to is None:
        return
    pending.update(status=DeliveryStatus.DELIVERED)
    record(
        "status",
        conversation_id=conversation.id,
        up_to_id=up_to,
        status="delivered",
        to=("customer" if sender == Sender.CUSTOMER else "agent"),
        customer_id=conversation.customer_id,
        agent_id=conversation.agent_id,
    )


def customer_identify(*, token: str) -> tuple[int, str, int | None] | None:
    """(customer id, name, current conversation id) for a valid token, or None."""
    parsed = tokens.read(token)
    if parsed is None:
        return None
    customer = Customer.objects.filter(id=parsed[0], token_key=parsed[1]).first()
    if customer is None:
        return None
    current = _current_conversation(customer)
    return customer.id, customer.name, current.id if current else None


def _queue_position(conversation: Conversation) -> int | None:
    if conversation.status != ConversationStatus.QUEUED:
        return None
    return (
        selectors.queued_conversations()
        .filter(
            Q(queue_order__lt=conversation.queue_order)
            | Q(queue_order=conversation.queue_order, id__lt=conversation.id)
        )
        .count()
        + 1
    )


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
            raise ChatError(FORBIDDEN, "The token is not valid here; join without one.")
        if customer_id is not None and customer.id != customer_id:
            raise ChatError(FORBIDDEN, "This socket belongs to another customer.")
    elif customer_id is not None:
        customer = Customer.objects.select_for_update().get(id=customer_id)
    else:
        if name is None:
            raise ChatError(INVALID_PAYLOAD, "`name` is required to start a chat.")
        return _start_customers([Start(name=name, email=email, topic=topic)])[0]
    customer.last_seen_at = timezone.now()
    customer.save(update_fields=["last_seen_at"])
    conversation = _current_conversation(customer)
    if conversation is None:
        conversation = _open_conversation(customer, topic)
    else:
        mark_delivered(conversation, Sender.AGENT)
        mark_delivered(conversation, Sender.SYSTEM)
    conversation.refresh_from_db()
    ack = {
        "ok": True,
        "token": tokens.issue(customer.id, customer.token_key),
        "customer": selectors.customer_shape(customer),
        "conversation": selectors.conversation_by_id(conversation.id),
        "messages": selectors.messages_after(conversation.id, last_message_id),
        "queue_position": _queue_position(conversation),
    }
    return JoinResult(ack, customer.id, customer.name, conversation.id)


@dataclass(frozen=True)
class Start:
    """A new customer's first `customer:join` (no token)."""

    name: str
    email: str | None
    topic: str | None


@transaction.atomic
def customers_start(*, starts: list[Start]) -> list[JoinResult]:
    """Create customers with their first conversations, many at once.

    One assignment lock, one look at the agents and a few bulk inserts serve
    the whole batch, where one join at a time cost about twenty queries: this
    is what lets a storm of new visitors be placed in time. Each conversation
    is placed as `_place` would place it, in the order of `starts`.
    """
    lock_assignment()
    return _start_customers(starts)


def _start_customers(starts: list[Start]) -> list[JoinResult]:
    now = timezone.now()
    profiles = {p.id: p for p in AgentProfile.objects.order_by("id")}
    pool = {a.id: a for a in _agent_snapshots(list(profiles.values()))}
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
            )
        )
    Conversation.objects.bulk_create(conversations)
    assigned = [c for c in conversations if c.agent_id is not None]
    notes = {
        c.id: Message(
            conversation=c,
            sender=Sender.SYSTEM,
            sender_name="System",
            text=f"{c.agent.display_name} joined the conversation.",
            created_at=c.assigned_at,
        )
        for c in assigned
    }
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
                "assigned",
                conversation=shape,
                messages=messages,
                customer_id=customer.id,
                agent_id=conversation.agent_id,
                transferred_from=None,
            )
            record("message", message=messages[0], customer_id=customer.id, agent_id=None)
        ack = {
            "ok": True,
            "token": tokens.issue(customer.id, customer.token_key),
            "customer": selectors.customer_shape(customer, 1),
            "conversation": shape,
            "messages": messages,
            "queue_position": position,
        }
        results.append(JoinResult(ack, customer.id, customer.name, conversation.id))
    for agent_id in last_assigned:
        record("agent_state", agent=selectors.agent_state(profiles[agent_id], pool[agent_id].active))
    if len(assigned) < len(conversations):
        record("queue_changed")
    return results


@transaction.atomic
def conversation_reopen(*, customer_id: int, topic: str | None = None) -> int:
    """The customer's open conversation, opening a new one if the last ended."""
    lock_assignment()
    customer = Customer.objects.select_for_update().get(id=customer_id)
    current = _current_conversation(customer)
    if current is not None and current.status != ConversationStatus.ENDED:
        return current.id
    if topic is None and current is not None:
        topic = current.topic
    try:
        with transaction.atomic():
            return _open_conversation(customer, topic).id
    except IntegrityError:
        # Another process opened it first (one open conversation per customer).
        return _current_conversation(customer).id


def _end(conversation: Conversation, reason: str, note: str) -> None:
    agent_id = conversation.agent_id
    was_queued = conversation.status == ConversationStatus.QUEUED
    _system_message(conversation, note)
    conversation.status = ConversationStatus.ENDED
    conversation.ended_at = timezone.now()
    conversation.end_reason = reason
    conversation.queue_order = None
    conversation.save(update_fields=["status", "ended_at", "end_reason", "queue_order"])
    record(
        "session_end",
        conversation_id=conversation.id,
        reason=reason,
        customer_id=conversation.customer_id,
        agent_id=agent_id,
    )
    if agent_id is not None:
        record("agent_state", agent=selectors.agent_state_by_id(agent_id))
        drain()
    if was_queued:
        record("queue_changed")


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
        raise ChatError(CONFLICT, "There is no open conversation to end.")
    _end(conversation, EndReason.CUSTOMER_LEFT, f"{conversation.customer.name} ended the conversation.")


def _agents_conversation(conversation_id: int, agent_id: int) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(id=conversation_id)
        .first()
    )
    if conversation is None:
        raise ChatError(NOT_FOUND, "No such conversation.")
    if conversation.agent_id != agent_id:
        if conversation.status == ConversationStatus.ENDED:
            raise ChatError(CONFLICT, "The conversation has ended.")
        raise ChatError(FORBIDDEN, "The conversation is not assigned to you.")
    if conversation.status == ConversationStatus.ENDED:
        raise ChatError(CONFLICT, "The conversation has ended.")
    return conversation


@transaction.atomic
def conversation_end_by_agent(*, agent_id: int, conversation_id: int) -> dict:
    lock_assignment()
    conversation = _agents_conversation(conversation_id, agent_id)
    _end(conversation, EndReason.AGENT_ENDED, f"{conversation.agent.display_name} ended the conversation.")
    return selectors.conversation_by_id(conversation_id)


@transaction.atomic
def conversation_close_by_supervisor(*, conversation_id: int) -> None:
    lock_assignment()
    conversation = Conversation.objects.select_for_update().get(id=conversation_id)
    if conversation.status == ConversationStatus.ENDED:
        raise ChatError(CONFLICT, "The conversation has already ended.")
    _end(conversation, EndReason.CLOSED_BY_SUPERVISOR, "A supervisor closed the conversation.")


@transaction.atomic
def conversation_requeue_by_supervisor(*, conversation_id: int) -> None:
    lock_assignment()
    conversation = (
        Conversation.objects.select_for_update(of=("self",)).select_related("agent").get(id=conversation_id)
    )
    if conversation.status != ConversationStatus.ACTIVE:
        raise ChatError(CONFLICT, "Only active conversations can be returned to the queue.")
    leaving = conversation.agent
    _requeue_or_end([conversation], leaving)
    drain()


@transaction.atomic
def conversation_transfer(*, agent_id: int, conversation_id: int, to_agent_id: int) -> dict:
    lock_assignment()
    conversation = _agents_conversation(conversation_id, agent_id)
    if to_agent_id == agent_id:
        raise ChatError(INVALID_PAYLOAD, "Transfer to another agent, not yourself.")
    agents = {a.id: a for a in _agent_snapshots()}
    target = agents.get(to_agent_id)
    if target is None:
        raise ChatError(NOT_FOUND, "No such agent.")
    if target.status == AgentStatus.OFFLINE or target.sockets == 0:
        raise ChatError(CONFLICT, "That agent is offline.")
    if target.active >= target.capacity:
        raise ChatError(CONFLICT, "That agent is at capacity.")
    record(
        "session_transferred_away",
        conversation_id=conversation_id,
        agent_id=agent_id,
    )
    _assign(conversation, to_agent_id, transferred_from=agent_id)
    record("agent_state", agent=selectors.agent_state_by_id(agent_id))
    drain()
    return selectors.conversation_by_id(conversation_id)


@transaction.atomic
def queue_claim(*, agent_id: int, conversation_id: int | None) -> dict:
    lock_assignment()
    agents = {a.id: a for a in _agent_snapshots()}
    me = agents[agent_id]
    if me.status == AgentStatus.OFFLINE:
        raise ChatError(CONFLICT, "Go online or busy before claiming.")
    if me.active >= me.capacity:
        raise ChatError(CONFLICT, "You are at capacity.")
    queued = selectors.queued_conversations().select_for_update()
    if conversation_id is None:
        conversation = queued.first()
        if conversation is None:
            raise ChatError(CONFLICT, "The queue is empty.")
    else:
        conversation = queued.filter(id=conversation_id).first()
        if conversation is None:
            if Conversation.objects.filter(id=conversation_id).exists():
                raise ChatError(CONFLICT, "That conversation is no longer waiting.")
            raise ChatError(NOT_FOUND, "No such conversation.")
    _assign(conversation, agent_id, transferred_from=None)
    return selectors.conversation_by_id(conversation.id)


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
        for conversation in conversations:
            _end(
                conversation,
                EndReason.AGENT_OFFLINE,
                f"{leaving.display_name} went offline and no other agent is available. "
                "Write again to start a new conversation.",
            )
        return
    head = selectors.queued_conversations().aggregate(m=Min("queue_order"))["m"]
    for conversation, order in zip(
        conversations, assignment.requeue_order(head, len(conversations)), strict=True
    ):
        _system_message(
            conversation,
            f"{leaving.display_name} is no longer available. You are first in line for the next agent.",
        )
        record("session_transferred_away", conversation_id=conversation.id, agent_id=leaving.id)
        conversation.status = ConversationStatus.QUEUED
        conversation.agent = None
        conversation.queue_order = order
        conversation.queued_at = timezone.now()
        conversation.save(update_fields=["status", "agent", "queue_order", "queued_at"])
    record("queue_changed")
    record("agent_state", agent=selectors.agent_state_by_id(leaving.id))


def release_conversations_of(agent: AgentProfile) -> None:
    """Requeue (or end) an agent's active conversations; then serve the queue."""
    held = list(
        Conversation.objects.select_for_update()
        .filter(agent=agent, status=ConversationStatus.ACTIVE)
        .order_by("assigned_at", "id")
    )
    _requeue_or_end(held, agent)
    drain()


def conversations_close_idle(*, idle_seconds: float, connected_customer_ids: set[int]) -> int:
    """End conversations whose customer has been gone and silent too long.

    A customer with a socket connected (`connected_customer_ids`) is not gone.
    The sweeper calls this every few seconds: candidates are found by a plain
    read, and only when there are any is the write lock taken (it would
    stall the message writer's next commit behind SQLite's busy wait).
    """
    cutoff = timezone.now() - timedelta(seconds=idle_seconds)
    if not _idle_conversation_ids(cutoff, connected_customer_ids):
        return 0
    with transaction.atomic():
        lock_assignment()
        candidates = (
            Conversation.objects.select_for_update(of=("self",))
            .filter(id__in=_idle_conversation_ids(cutoff, connected_customer_ids))
            .exclude(status=ConversationStatus.ENDED)
            .select_related("customer")
        )
        count = 0
        for conversation in candidates:
            _end(
                conversation,
                EndReason.CUSTOMER_IDLE,
                "The conversation was closed after a period of inactivity.",
            )
            count += 1
        return count


def _idle_conversation_ids(cutoff, connected_customer_ids: set[int]) -> list[int]:
    rows = list(
        Conversation.objects.exclude(status=ConversationStatus.ENDED)
        .filter(created_at__lt=cutoff, customer__last_seen_at__lt=cutoff)
        .annotate(last_customer=Max("messages__created_at", filter=Q(messages__sender=Sender.CUSTOMER)))
        .filter(Q(last_customer__isnull=True) | Q(last_customer__lt=cutoff))
        .values_list("id", "customer_id")
    )
    # Filtered here rather than in SQL: with thousands of sockets the list
    # would outgrow the database's limit on query parameters.
    return [id_ for id_, customer_id in rows if customer_id not in connected_customer_ids]


@transaction.atomic
def customer_seen(*, customer_id: int) -> None:
    Customer.objects.filter(id=customer_id).update(last_seen_at=timezone.now())


# --- messages ---------------------------------------------------------------


@dataclass
class Draft:
    """A message waiting for the writer. `agent_id` is set for agent senders.

    A customer's draft may have no `conversation_id` yet: the writer puts it
    in the customer's open conversation, opening one if need be.
    """

    conversation_id: int | None
    sender: str
    sender_name: str
    text: str
    client_id: str | None
    customer_id: int | None = None
    agent_id: int | None = None


@dataclass
class Stored:
    message: dict
    customer_id: int
    agent_id: int | None
    new: bool


class ConversationEnded(ChatError):
    def __init__(self) -> None:
        super().__init__(CONFLICT, "The conversation has ended.")


def _check_sender(draft: Draft, conv: tuple | None) -> ChatError | None:
    if conv is None:
        return ChatError(NOT_FOUND, "No such conversation.")
    _, status, agent_id, customer_id = conv
    if draft.sender == Sender.CUSTOMER:
        if customer_id != draft.customer_id:
            return ChatError(FORBIDDEN, "Not your conversation.")
        if status == ConversationStatus.ENDED:
            return ConversationEnded()
        return None
    if agent_id != draft.agent_id:
        if status == ConversationStatus.ENDED:
            return ConversationEnded()
        return ChatError(FORBIDDEN, "The conversation is not assigned to you.")
    if status == ConversationStatus.ENDED:
        return ConversationEnded()
    return None


def _needs_opening(drafts: list[Draft], convs: dict[int, tuple]) -> bool:
    """Whether a customer draft has no conversation yet, or aims at an ended one."""
    return any(
        d.sender == Sender.CUSTOMER
        and (
            d.conversation_id is None or convs.get(d.conversation_id, (0, ""))[1] == ConversationStatus.ENDED
        )
        for d in drafts
    )


def _open_for(drafts: list[Draft], convs: dict[int, tuple]) -> bool:
    """Send customer drafts with no open conversation to one; True if any moved.

    Writing after a chat ended (or before any) opens a new conversation.
    Doing it here, in draft order, keeps a burst that straddles the end in
    the order it was sent. Each reopening is its own transaction (taking the
    assignment lock first, like every assignment). A draft whose client_id
    is already stored in the ended conversation stays, so the resend returns
    the stored message.
    """
    ended = {i for i, row in convs.items() if row[1] == ConversationStatus.ENDED}
    already = set(
        Message.objects.filter(
            conversation_id__in=ended,
            sender=Sender.CUSTOMER,
            client_id__in={d.client_id for d in drafts if d.client_id is not None},
        ).values_list("conversation_id", "client_id")
    )
    opened: dict[int, int] = {}
    for d in drafts:
        if d.sender != Sender.CUSTOMER or not (d.conversation_id is None or d.conversation_id in ended):
            continue
        if (d.conversation_id, d.client_id) in already:
            continue
        if d.customer_id not in opened:
            opened[d.customer_id] = conversation_reopen(customer_id=d.customer_id)
        d.conversation_id = opened[d.customer_id]
    return bool(opened)


# Rounds of opening conversations for one batch: one, unless a conversation
# opened for it is ended again before the batch commits.
_OPENING_ROUNDS = 3


def messages_store(*, drafts: list[Draft], delivered_ids: list[int]) -> list[Stored | ChatError]:
    """Store a batch of messages in one transaction (the writer's group commit).

    Returns one outcome per draft, in order: the stored message (or the one
    stored earlier under the same client_id) or the error that refused it.
    Also marks `delivered_ids` delivered. Ids follow the drafts' order.
    Customer drafts with no conversation (`conversation_id` None) or an
    ended one go to the customer's open conversation, opened if need be.

    The usual batch is four statements (mark delivered, look up the
    conversations, insert, commit): each one hands the interpreter lock back
    and forth with the event loop, so fewer statements is less waiting.
    """
    stamp = connection.ops.adapt_datetimefield_value
    rounds = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if delivered_ids:
                message_sql.mark_delivered(cursor, delivered_ids)
                delivered_ids = []
            if not drafts:
                return []
            convs = message_sql.conversation_rows(cursor, {d.conversation_id for d in drafts} - {None})
            if rounds == _OPENING_ROUNDS or not _needs_opening(drafts, convs):
                outcomes = _store_drafts(cursor, drafts, convs, stamp, look_up=True)
                return _stored(outcomes, convs)
        # Rare: a customer wrote after the end. Open the new conversation
        # (its own transactions), then store the batch.
        rounds = rounds + 1 if _open_for(drafts, convs) else _OPENING_ROUNDS


def messages_store_usual(
    cursor, *, drafts: list[Draft], delivered_ids: list[int], stamp, reaches=None
) -> list[Stored | ChatError] | None:
    """messages_store's usual batch, on `cursor` in the caller's transaction.

    For a writer that must not wait: it returns None, having maybe written
    part of the batch (the caller rolls back), when the batch needs more
    than the four statements: a customer writing after the end, or a
    client_id stored before. messages_store then takes the whole batch.

    `reaches(sender, customer_id, agent_id)` says whether the recipient is
    connected: those messages are stored `delivered` at once, for a caller
    that sends them before anything else can run (no second write later).
    """
    if delivered_ids:
        message_sql.mark_delivered(cursor, delivered_ids)
    if not drafts:
        return []
    convs = message_sql.conversation_rows(cursor, {d.conversation_id for d in drafts} - {None})
    if _needs_opening(drafts, convs):
        return None
    outcomes = _store_drafts(cursor, drafts, convs, stamp, look_up=False, reaches=reaches)
    return None if outcomes is None else _stored(outcomes, convs)


def _stored(outcomes: list, convs: dict[int, tuple]) -> list[Stored | ChatError]:
    result: list[Stored | ChatError] = []
    for outcome in outcomes:
        if isinstance(outcome, ChatError):
            result.append(outcome)
            continue
        m, new = outcome
        conv = convs[m.conversation_id]
        result.append(Stored(selectors.message_shape(m), conv[3], conv[2], new))
    return result


def _store_drafts(
    cursor, drafts: list[Draft], convs: dict[int, tuple], stamp, look_up: bool, reaches=None
) -> list | None:
    """Outcomes, in draft order: ChatError, or (message, stored by this call).

    None if a message stored earlier must be read and `look_up` is false.
    """
    now = timezone.now()
    outcomes: list = [None] * len(drafts)
    fresh: list[tuple[int, message_sql.NewMessage]] = []
    in_batch: dict[tuple, message_sql.NewMessage] = {}
    repeats: list[tuple[int, tuple]] = []  # the same key again within the batch
    refused_after_end: list[tuple[int, tuple]] = []
    for i, d in enumerate(drafts):
        error = _check_sender(d, convs.get(d.conversation_id))
        key = (d.conversation_id, d.sender, d.client_id)
        if error is not None:
            outcomes[i] = error
            if d.client_id is not None and isinstance(error, ConversationEnded):
                refused_after_end.append((i, key))  # a resend of what was stored stays valid
            continue
        if d.client_id is not None and key in in_batch:
            repeats.append((i, key))
            continue
        m = message_sql.NewMessage(
            d.conversation_id, d.sender, d.agent_id, d.sender_name, d.text, d.client_id, now
        )
        if reaches is not None:
            _, _, agent_id, customer_id = convs[d.conversation_id]
            if reaches(d.sender, customer_id, agent_id):
                m.status = DeliveryStatus.DELIVERED
        fresh.append((i, m))
        if d.client_id is not None:
            in_batch[key] = m
    message_sql.insert_messages(cursor, [m for _, m in fresh], stamp)  # a key stored before: id None
    lookup = {(m.conversation_id, m.sender, m.client_id) for _, m in fresh if m.id is None} | {
        key for _, key in refused_after_end
    }
    if lookup and not look_up:
        return None
    earlier = _messages_under(cursor, lookup) if lookup else {}
    for i, m in fresh:
        outcomes[i] = (
            (m, True) if m.id is not None else (earlier[(m.conversation_id, m.sender, m.client_id)], False)
        )
    for i, key in repeats:
        first = in_batch[key]
        outcomes[i] = (first, False) if first.id is not None else (earlier[key], False)
    for i, key in refused_after_end:
        if key in earlier:
            outcomes[i] = (earlier[key], False)
    return outcomes


def _messages_under(cursor, keys: set[tuple[int, str, str]]) -> dict[tuple, Message]:
    """Messages stored earlier under these (conversation, sender, client_id) keys."""
    ids = message_sql.message_ids_under(cursor, keys)
    if not ids:
        return {}
    return {(m.conversation_id, m.sender, m.client_id): m for m in Message.objects.filter(id__in=ids)}


@transaction.atomic
def message_read(
    *, conversation_id: int, up_to_id: int, customer_id: int | None = None, agent_id: int | None = None
) -> None:
    """The reader (a customer or an agent) has read the other side up to an id."""
    conversation = Conversation.objects.filter(id=conversation_id).first()
    if conversation is None:
        raise ChatError(NOT_FOUND, "No such conversation.")
    if customer_id is not None:
        if conversation.customer_id != customer_id:
            raise ChatError(FORBIDDEN, "Not your conversation.")
        senders = [Sender.AGENT, Sender.SYSTEM]
        notify = "agent"
    else:
        if conversation.agent_id != agent_id:
            raise ChatError(FORBIDDEN, "The conversation is not assigned to you.")
        senders = [Sender.CUSTOMER]
        notify = "customer"
    changed = (
        Message.objects.filter(conversation=conversation, sender__in=senders, id__lte=up_to_id)
        .exclude(status=DeliveryStatus.READ)
        .update(status=DeliveryStatus.READ)
    )
    if changed:
        record(
            "status",
            conversation_id=conversation_id,
            up_to_id=up_to_id,
            status="read",
            to=notify,
            customer_id=conversation.customer_id,
            agent_id=conversation.agent_id,
        )


def current_conversation_of(*, customer_id: int) -> tuple[int, int | None, str]:
    """(id, agent id, status) of the customer's latest conversation.

    Every socket of a customer follows it: when one tab starts a new
    conversation, typing and read receipts from the others go there too.
    """
    row = (
        Conversation.objects.filter(customer_id=customer_id)
        .order_by("-id")
        .values_list("id", "agent_id", "status")
        .first()
    )
    if row is None:
        raise ChatError(CONFLICT, "There is no conversation yet.")
    return row


def typing_target(*, conversation_id: int, agent_id: int) -> int:
    """The customer id of a conversation this agent may type in."""
    row = (
        Conversation.objects.filter(id=conversation_id)
        .values_list("customer_id", "agent_id", "status")
        .first()
    )
    if row is None:
        raise ChatError(NOT_FOUND, "No such conversation.")
    if row[1] != agent_id:
        raise ChatError(FORBIDDEN, "The conversation is not assigned to you.")
    if row[2] == ConversationStatus.ENDED:
        raise ChatError(CONFLICT, "The conversation has ended.")
    return row[0]


# --- internal messages -------------------------------------------------------


@transaction.atomic
def internal_message_create(
    *,
    sender_id: int,
    text: str,
    to_agent_id: int | None,
    conversation_id: int | None,
    client_id: str | None,
) -> tuple[dict, bool]:
    """Store an internal message; returns its shape and whether it is new.

    A resend with a `client_id` already used by this sender returns the
    stored message (not new) and announces nothing.
    """
    if client_id is not None:
        earlier = (
            InternalMessage.objects.filter(sender_id=sender_id, client_id=client_id)
            .select_related("sender")
            .first()
        )
        if earlier is not None:
            return selectors.internal_message_shape(earlier), False
    if to_agent_id is not None:
        if to_agent_id == sender_id:
            raise ChatError(INVALID_PAYLOAD, "Send direct messages to another agent.")
        if not AgentProfile.objects.filter(id=to_agent_id).exists():
            raise ChatError(NOT_FOUND, "No such agent.")
    if conversation_id is not None and not Conversation.objects.filter(id=conversation_id).exists():
        raise ChatError(NOT_FOUND, "No such conversation.")
    m = InternalMessage.objects.create(
        sender_id=sender_id,
        to_agent_id=to_agent_id,
        conversation_id=conversation_id,
        text=text,
        client_id=client_id,
    )
    m = InternalMessage.objects.select_related("sender").get(id=m.id)
    shape = selectors.internal_message_shape(m)
    record("internal", message=shape, sender_id=sender_id, to_agent_id=to_agent_id)
    return shape, True


def history_for_agent(*, customer_id: int, before_id: int | None, limit: int) -> dict:
    """Read-only, but scoped: any agent may read any customer's history."""
    if not Customer.objects.filter(id=customer_id).exists():
        raise ChatError(NOT_FOUND, "No such customer.")
    return selectors.customer_history(customer_id, before_id, limit)
