"""The console's words for stored values (statuses, end reasons), in the
reader's language.

The models' choices carry the values only; what an agent reads is here, so
that a translated label never needs a migration.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chat.models import ConversationStatus, EndReason

from .models import AgentStatus

AGENT_STATUS = {
    AgentStatus.ONLINE: pgettext_lazy("agent status", "Online"),
    AgentStatus.BUSY: pgettext_lazy("agent status", "Busy"),
    AgentStatus.OFFLINE: pgettext_lazy("agent status", "Offline"),
}

CONVERSATION_STATUS = {
    ConversationStatus.QUEUED: pgettext_lazy("conversation status", "Queued"),
    ConversationStatus.ACTIVE: pgettext_lazy("conversation status", "Active"),
    ConversationStatus.ENDED: pgettext_lazy("conversation status", "Ended"),
}

END_REASON = {
    EndReason.AGENT_ENDED: _("Ended by the agent"),
    EndReason.CUSTOMER_LEFT: _("Ended by the customer"),
    EndReason.CUSTOMER_IDLE: _("Closed: the customer was away"),
    EndReason.AGENT_OFFLINE: _("Closed: no agent available"),
    EndReason.CLOSED_BY_SUPERVISOR: _("Closed by a supervisor"),
}

# A message's delivery status, as Message.get_status_display() names it.
DELIVERY_STATUS = {
    "sent": _("Sent"),
    "delivered": _("Delivered"),
    "read": _("Read"),
}


def label(table: dict, value) -> str:
    """`value`'s label in `table`; a value it does not know (a newer version's) as it is."""
    found = table.get(value)
    return str(found) if found is not None else str(value or "")


def agent_statuses() -> list[tuple[str, str]]:
    """(value, label) of every agent status, in the models' order, for a select."""
    return [(value, label(AGENT_STATUS, value)) for value in AgentStatus.values]
