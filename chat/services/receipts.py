"""Delivery and read receipts: `sent` becomes `delivered`, then `read`."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from .. import access, selectors
from ..events import ReceiptsChanged
from ..models import Conversation, DeliveryStatus, Message, Sender
from ..outbox import record


def do_mark_delivered(conversation: Conversation, sender: str) -> None:
    """Mark `sender`'s messages delivered now that the other side is here."""
    pending = Message.objects.filter(conversation=conversation, sender=sender, status=DeliveryStatus.SENT)
    up_to = pending.aggregate(m=Max("id"))["m"]
    if up_to is None:
        return
    pending.update(status=DeliveryStatus.DELIVERED)
    record(
        ReceiptsChanged(
            conversation_id=conversation.id,
            up_to_id=up_to,
            status="delivered",
            to="customer" if sender == Sender.CUSTOMER else "agent",
            customer_id=conversation.customer_id,
            agent_id=conversation.agent_id,
        )
    )


@transaction.atomic
def message_read(
    *, conversation_id: int, up_to_id: int, customer_id: int | None = None, agent_id: int | None = None
) -> None:
    """The reader (a customer or an agent) has read the other side up to an id."""
    conversation = Conversation.objects.filter(id=conversation_id).first()
    row = selectors.access_row(conversation)
    if customer_id is not None:
        access.check_customer(row, customer_id, writes=False)
        senders = [Sender.AGENT, Sender.SYSTEM]
        notify = "agent"
    else:
        access.check_agent(row, agent_id, writes=False)
        senders = [Sender.CUSTOMER]
        notify = "customer"
    changed = (
        Message.objects.filter(conversation=conversation, sender__in=senders, id__lte=up_to_id)
        .exclude(status=DeliveryStatus.READ)
        .update(status=DeliveryStatus.READ)
    )
    if changed:
        record(
            ReceiptsChanged(
                conversation_id=conversation_id,
                up_to_id=up_to_id,
                status="read",
                to=notify,
                customer_id=conversation.customer_id,
                agent_id=conversation.agent_id,
            )
        )
