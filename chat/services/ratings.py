"""Customers' satisfaction ratings (CSAT) of their ended conversations."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..errors import CONFLICT, NOT_FOUND, ChatError
from ..events import ConversationRated
from ..models import Conversation, ConversationStatus
from ..outbox import record


@transaction.atomic
def conversation_rate(*, customer_id: int, score: int, comment: str) -> dict:
    """Rate the customer's latest conversation, once, if it has ended.

    Only the latest counts: while a newer one is open there is nothing to
    rate (`not_found`). Returns `{conversation_id, score}`.
    """
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(customer_id=customer_id)
        .order_by("-id")
        .first()
    )
    if conversation is None or conversation.status != ConversationStatus.ENDED:
        raise ChatError(NOT_FOUND, _("There is no ended conversation to rate."))
    # Conditional: a second rating racing this one (SQLite takes no row
    # locks) finds the rating set and changes nothing.
    rated = Conversation.objects.filter(id=conversation.id, rating__isnull=True).update(
        rating=score, rating_comment=comment, rated_at=timezone.now()
    )
    if not rated:
        raise ChatError(CONFLICT, _("This conversation has already been rated."))
    record(
        ConversationRated(
            conversation_id=conversation.id,
            score=score,
            comment=comment,
            customer={"id": customer_id, "name": conversation.customer.name},
            agent_id=conversation.agent_id,
        )
    )
    return {"conversation_id": conversation.id, "score": score}
