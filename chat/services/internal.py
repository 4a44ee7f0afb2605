"""Internal chat between agents: the team channel and direct messages."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile

from .. import selectors
from ..errors import INVALID_PAYLOAD, NOT_FOUND, ChatError
from ..events import InternalMessageCreated
from ..models import Conversation, InternalMessage
from ..outbox import record


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
        earlier = selectors.internal_message_by_client_id(sender_id, client_id)
        if earlier is not None:
            return earlier, False
    if to_agent_id is not None:
        if to_agent_id == sender_id:
            raise ChatError(INVALID_PAYLOAD, _("Send direct messages to another agent."))
        if not AgentProfile.objects.filter(id=to_agent_id).exists():
            raise ChatError(NOT_FOUND, _("No such agent."))
    if conversation_id is not None and not Conversation.objects.filter(id=conversation_id).exists():
        raise ChatError(NOT_FOUND, _("No such conversation."))
    m = InternalMessage.objects.create(
        sender_id=sender_id,
        to_agent_id=to_agent_id,
        conversation_id=conversation_id,
        text=text,
        client_id=client_id,
    )
    shape = selectors.internal_message_by_id(m.id)
    record(InternalMessageCreated(message=shape, sender_id=sender_id, to_agent_id=to_agent_id))
    return shape, True
