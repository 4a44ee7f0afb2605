"""Read-only queries for the agent console's fragments."""

from __future__ import annotations

from django.db.models import Count, JSONField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from chat.models import Conversation, ConversationStatus, DeliveryStatus, InternalMessage, Message, Sender
from chat.selectors import agents_with_load

from .models import AgentProfile


def agent_for_user(user) -> AgentProfile | None:
    if not user.is_authenticated:
        return None
    return AgentProfile.objects.active().filter(user=user).first()


def console_conversations(agent_id: int) -> QuerySet[Conversation]:
    """The agent's active conversations, newest activity first.

    Each carries `unread` (customer messages not read), `last_text`,
    `last_sender`, `last_activity`, for a system message last
    `last_system_code` / `last_system_params` (the page words it for its
    reader, in its language: chat.system_notes), and for a message with an
    attachment last `last_attachment_name` / `last_attachment_type` (its
    content type), None otherwise.
    """
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id")
    return (
        Conversation.objects.filter(agent_id=agent_id, status=ConversationStatus.ACTIVE)
        .select_related("customer")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(messages__sender=Sender.CUSTOMER) & ~Q(messages__status=DeliveryStatus.READ),
            ),
            last_text=Subquery(last.values("text")[:1]),
            last_sender=Subquery(last.values("sender")[:1]),
            last_system_code=Subquery(last.values("system_code")[:1]),
            last_system_params=Subquery(last.values("system_params")[:1], output_field=JSONField()),
            last_attachment_name=Subquery(last.values("attachment__name")[:1]),
            last_attachment_type=Subquery(last.values("attachment__content_type")[:1]),
            last_activity=Greatest(Coalesce(Max("messages__created_at"), "assigned_at"), "assigned_at"),
        )
        .order_by("-last_activity", "-id")
    )


def conversation_with_messages(conversation_id: int) -> tuple[Conversation, list[Message]] | None:
    conversation = Conversation.objects.select_related("customer", "agent").filter(id=conversation_id).first()
    if conversation is None:
        return None
    return conversation, list(conversation.messages.select_related("attachment").order_by("id"))


def customer_conversations(customer_id: int) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(customer_id=customer_id)
        .select_related("agent")
        .annotate(messages_shown=Count("messages"))
        .order_by("-id")
    )


def queue_for_console(limit: int = 100) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(status=ConversationStatus.QUEUED)
        .select_related("customer")
        .order_by("queue_order", "id")[:limit]
    )


def queue_length() -> int:
    return Conversation.objects.filter(status=ConversationStatus.QUEUED).count()


def roster() -> QuerySet[AgentProfile]:
    return agents_with_load().order_by("display_name", "id")


def internal_thread(agent_id: int, with_agent_id: int | None, limit: int = 100) -> list[InternalMessage]:
    """The team channel (`with_agent_id` None) or a direct thread, oldest first."""
    if with_agent_id is None:
        qs = InternalMessage.objects.filter(to_agent__isnull=True)
    else:
        qs = InternalMessage.objects.filter(
            Q(sender_id=agent_id, to_agent_id=with_agent_id)
            | Q(sender_id=with_agent_id, to_agent_id=agent_id)
        )
    page = list(qs.select_related("sender").order_by("-id")[:limit])
    page.reverse()
    return page
