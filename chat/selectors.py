"""Read-only queries that build the shapes of PROTOCOL.md."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, AgentStatus
from customers import tokens
from customers.models import Customer

from . import access, attachments
from .errors import CONFLICT, NOT_FOUND, ChatError
from .models import Conversation, ConversationStatus, DeliveryStatus, InternalMessage, Message, Sender

# The wire names (PROTOCOL.md): the same in every language, unlike the labels.
STATUS_NAMES = {s.value: s.name.lower() for s in DeliveryStatus}


_last_iso: tuple[datetime | None, str | None] = (None, None)


def iso(value: datetime | None) -> str | None:
    global _last_iso
    if value is None:
        return None
    # A batch of messages shares one timestamp object: format it once.
    last_value, last_text = _last_iso
    if value is last_value:
        return last_text
    text = value.isoformat().replace("+00:00", "Z")
    _last_iso = (value, text)
    return text


def chat_message_shape(m) -> dict:
    """A customer's or an agent's message (the message writer's): `system` is None.

    The message writer shapes every message it stores with this, a
    `message_store.sql.NewMessage` or a `Message`: nothing here may cost more
    per message than a key.
    """
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "client_id": m.client_id,
        "sender": m.sender,
        "sender_name": m.sender_name,
        "text": m.text,
        "created_at": iso(m.created_at),
        "status": STATUS_NAMES[m.status],
        "attachment": None,
        "system": None,
    }


def message_shape(m: Message) -> dict:
    """Any stored message; a system note's `system` is its code and parameters.

    Its `text` is the default language's: what each reader is sent is
    worded for them (`system_notes.localized`). A system message stored
    before codes existed has `system` None and its stored text.
    """
    shape = chat_message_shape(m)
    if m.system_code:
        shape["system"] = {"code": m.system_code, "params": m.system_params or {}}
    elif m.sender != Sender.SYSTEM:
        # Read with select_related("attachment") (with_attachments): no query here.
        attachment = getattr(m, "attachment", None)
        if attachment is not None:
            shape["attachment"] = attachments.shape(attachment)
    return shape


def with_attachments(messages: QuerySet) -> QuerySet:
    """Messages with their attachments read in the same query (for message_shape)."""
    return messages.select_related("attachment")


def message_page(
    conversation_id: int, *, after_id: int | None = None, before_id: int | None = None, limit: int
) -> tuple[list[dict], bool]:
    """A page of a conversation's messages, oldest first, and whether there are more that way.

    After `after_id`: the first `limit` after it (more: newer ones wait).
    Otherwise the last `limit` before `before_id`, or the latest `limit`
    (more: older ones exist). One indexed query (msg_conv_id_idx) either way.
    """
    qs = with_attachments(Message.objects.filter(conversation_id=conversation_id))
    if after_id is not None:
        rows = list(qs.filter(id__gt=after_id).order_by("id")[: limit + 1])
        return [message_shape(m) for m in rows[:limit]], len(rows) > limit
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs.order_by("-id")[: limit + 1])
    page = rows[:limit]
    page.reverse()
    return [message_shape(m) for m in page], len(rows) > limit


def customer_message_page(
    *, customer_id: int, conversation_id: int | None, after_id: int | None, before_id: int | None, limit: int
) -> tuple[list[dict], bool]:
    """`messages:fetch`: a page of the customer's conversation (the one its socket follows)."""
    if conversation_id is None:
        return [], False
    access.check_customer(conversation_row(conversation_id), customer_id, writes=False)
    return message_page(conversation_id, after_id=after_id, before_id=before_id, limit=limit)


def customer_shape(c: Customer, conversations_count: int | None = None) -> dict:
    if conversations_count is None:
        conversations_count = c.conversations.count()
    return {
        "id": c.id,
        "name": c.name,
        "email": c.email or None,
        "created_at": iso(c.created_at),
        "conversations_count": conversations_count,
        "last_seen_at": iso(c.last_seen_at),
    }


def agent_ref(a: AgentProfile | None) -> dict | None:
    if a is None:
        return None
    return {"id": a.id, "name": a.display_name}


def _unread_subquery() -> Subquery:
    return Subquery(
        Message.objects.filter(conversation=OuterRef("pk"), sender="customer")
        .exclude(status=DeliveryStatus.READ)
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )


def _customer_count_subquery() -> Subquery:
    return Subquery(
        Conversation.objects.filter(customer=OuterRef("customer"))
        .order_by()
        .values("customer")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )


def conversations_with_shape_data() -> QuerySet[Conversation]:
    return Conversation.objects.select_related("customer", "agent").annotate(
        unread_count=Coalesce(_unread_subquery(), 0),
        customer_conversations=Coalesce(_customer_count_subquery(), 0),
    )


def conversation_shape(c: Conversation) -> dict:
    """Shape of a conversation loaded by conversations_with_shape_data()."""
    return {
        "id": c.id,
        "status": c.status,
        "customer": customer_shape(c.customer, c.customer_conversations),
        "agent": agent_ref(c.agent),
        "topic": c.topic,
        "created_at": iso(c.created_at),
        "assigned_at": iso(c.assigned_at),
        "ended_at": iso(c.ended_at),
        "end_reason": c.end_reason,
        "unread": c.unread_count,
        "rating": rating_shape(c),
    }


def rating_shape(c: Conversation) -> dict | None:
    """The customer's satisfaction rating of the conversation, or None before one."""
    if c.rating is None:
        return None
    return {"score": c.rating, "comment": c.rating_comment, "rated_at": iso(c.rated_at)}


def conversation_by_id(conversation_id: int) -> dict:
    return conversation_shape(conversations_with_shape_data().get(id=conversation_id))


def conversations_of_agent(agent_id: int) -> list[dict]:
    qs = conversations_with_shape_data().filter(agent_id=agent_id, status=ConversationStatus.ACTIVE)
    return [conversation_shape(c) for c in qs.order_by("assigned_at", "id")]


def queued_conversations() -> QuerySet[Conversation]:
    return Conversation.objects.filter(status=ConversationStatus.QUEUED).order_by("queue_order", "id")


def queue_listing(limit: int, offset: int = 0) -> dict:
    """The `queue:update` payload: the length and `limit` waiting from position `offset` + 1."""
    qs = conversations_with_shape_data().filter(status=ConversationStatus.QUEUED)
    items = [conversation_shape(c) for c in qs.order_by("queue_order", "id")[offset : offset + limit]]
    return {"length": queued_conversations().count(), "conversations": items}


def agent_state(a: AgentProfile, active: int | None = None) -> dict:
    if active is None:
        active = a.conversations.filter(status=ConversationStatus.ACTIVE).count()
    return {
        "id": a.id,
        "name": a.display_name,
        "status": a.status,
        "active": active,
        "capacity": a.capacity,
        "skills": list(a.skills),
        "connected": a.sockets > 0,
    }


def agents_with_load() -> QuerySet[AgentProfile]:
    return AgentProfile.objects.annotate(
        active_count=Count("conversations", filter=Q(conversations__status=ConversationStatus.ACTIVE))
    )


def agent_roster() -> list[dict]:
    return [agent_state(a, a.active_count) for a in agents_with_load().order_by("display_name", "id")]


def agent_state_by_id(agent_id: int) -> dict:
    a = agents_with_load().get(id=agent_id)
    return agent_state(a, a.active_count)


def online_capacity() -> int:
    """Conversations the connected online agents can hold in total."""
    return sum(
        AgentProfile.objects.filter(status=AgentStatus.ONLINE, sockets__gt=0).values_list(
            "capacity", flat=True
        )
    )


def internal_message_by_id(message_id: int) -> dict:
    return internal_message_shape(InternalMessage.objects.select_related("sender").get(id=message_id))


def internal_message_by_client_id(sender_id: int, client_id: str) -> dict | None:
    """The internal message this agent sent under `client_id`, if any."""
    m = (
        InternalMessage.objects.filter(sender_id=sender_id, client_id=client_id)
        .select_related("sender")
        .first()
    )
    return None if m is None else internal_message_shape(m)


def internal_message_shape(m: InternalMessage) -> dict:
    return {
        "id": m.id,
        "from": agent_ref(m.sender),
        "to_agent_id": m.to_agent_id,
        "conversation_id": m.conversation_id,
        "text": m.text,
        "created_at": iso(m.created_at),
        "client_id": m.client_id,
    }


def customer_history(customer_id: int, before_id: int | None, limit: int) -> dict:
    """A customer, their conversations, and up to `limit` messages before `before_id`.

    Any agent may read any customer's history (PROTOCOL.md, `conversation:history`).
    """
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        raise ChatError(NOT_FOUND, _("No such customer."))
    convs = conversations_with_shape_data().filter(customer_id=customer_id).order_by("-id")
    msgs = with_attachments(Message.objects.filter(conversation__customer_id=customer_id))
    if before_id is not None:
        msgs = msgs.filter(id__lt=before_id)
    page = list(msgs.order_by("-id")[:limit])
    page.reverse()
    return {
        "customer": customer_shape(customer, len(convs)),
        "conversations": [conversation_shape(c) for c in convs],
        "messages": [message_shape(m) for m in page],
    }


def mean_handle_seconds(sample: int = 50) -> float:
    """Mean time from assignment to end over the last `sample` conversations."""
    rows = list(
        Conversation.objects.filter(status=ConversationStatus.ENDED, assigned_at__isnull=False)
        .order_by("-id")
        .values_list("assigned_at", "ended_at")[:sample]
    )
    spans = [(end - start).total_seconds() for start, end in rows if end and end > start]
    if len(spans) < 5:
        return settings.CHAT["DEFAULT_HANDLE_SECONDS"]
    return sum(spans) / len(spans)


# --- access and identity -----------------------------------------------------------


def access_row(conversation: Conversation | None) -> access.ConversationRow | None:
    """What chat.access decides on, for a loaded conversation (or None)."""
    if conversation is None:
        return None
    return access.ConversationRow(
        conversation.id, conversation.status, conversation.agent_id, conversation.customer_id
    )


# The access row's columns (`answered` is the message writer's alone, read by its own SQL).
_ACCESS_FIELDS = ("id", "status", "agent_id", "customer_id", "message_count")


def _first_access_row(conversations: QuerySet[Conversation]) -> access.ConversationRow | None:
    row = conversations.values_list(*_ACCESS_FIELDS).first()
    return None if row is None else access.ConversationRow(*row)


def conversation_row(conversation_id: int) -> access.ConversationRow | None:
    return _first_access_row(Conversation.objects.filter(id=conversation_id))


def agent_typing_target(*, conversation_id: int, agent_id: int) -> int:
    """The customer id of a conversation this agent may type in (chat.access decides)."""
    return access.check_agent(conversation_row(conversation_id), agent_id).customer_id


def customer_typing_target(*, customer_id: int) -> access.ConversationRow:
    """The customer's current conversation, if they may type in it (chat.access decides)."""
    return access.check_customer(current_conversation_row(customer_id=customer_id), customer_id)


def customer_by_token(*, token: str) -> tuple[int, str, int | None] | None:
    """(customer id, name, current conversation id) for a valid token, or None."""
    parsed = tokens.read(token)
    if parsed is None:
        return None
    customer = Customer.objects.filter(id=parsed[0], token_key=parsed[1]).first()
    if customer is None:
        return None
    current = current_conversation(customer.id)
    return customer.id, customer.name, current.id if current else None


def current_conversation(customer_id: int) -> Conversation | None:
    """The customer's latest conversation (open, or the last one ended)."""
    return Conversation.objects.filter(customer_id=customer_id).order_by("-id").first()


def current_conversation_row(*, customer_id: int) -> access.ConversationRow:
    """The access row of the customer's latest conversation.

    Every socket of a customer follows it: when one tab starts a new
    conversation, typing and read receipts from the others go there too.
    """
    row = _first_access_row(Conversation.objects.filter(customer_id=customer_id).order_by("-id"))
    if row is None:
        raise ChatError(CONFLICT, _("There is no conversation yet."))
    return row


# --- the queue and the sweeper ------------------------------------------------------


def queue_position(conversation: Conversation) -> int | None:
    """1 for the head of the queue; None when the conversation is not waiting."""
    if conversation.status != ConversationStatus.QUEUED:
        return None
    return (
        queued_conversations()
        .filter(
            Q(queue_order__lt=conversation.queue_order)
            | Q(queue_order=conversation.queue_order, id__lt=conversation.id)
        )
        .count()
        + 1
    )


def idle_conversation_ids(cutoff: datetime, connected_customer_ids: set[int]) -> list[int]:
    """Open conversations whose customer has been neither seen nor heard since `cutoff`."""
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


def absent_agents(cutoff: datetime) -> QuerySet[AgentProfile]:
    """Agents not offline whose last socket went away before `cutoff`."""
    return AgentProfile.objects.filter(sockets=0, last_disconnect_at__lt=cutoff).exclude(
        status=AgentStatus.OFFLINE
    )
