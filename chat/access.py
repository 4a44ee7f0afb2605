"""May this customer or agent act on this conversation? One answer for every caller.

Plain functions over a `ConversationRow` (no queries, no Django models), so
the message writer's hand-written SQL path, the services and the selectors
all ask the same question and get the same error code for the same case:

| case                                          | code        |
| --------------------------------------------- | ----------- |
| the conversation does not exist               | `not_found` |
| a customer's conversation that is not theirs  | `forbidden` |
| an agent's conversation not assigned to them  | `forbidden` |
| (ended or not: ownership is checked first)    |             |
| theirs, but ended, for an act that writes     | `conflict`  |

Read receipts may be sent for an ended conversation (the reader catches up);
messages, typing, ending and transferring may not.
"""

from __future__ import annotations

from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

from .errors import CONFLICT, FORBIDDEN, NOT_FOUND, ChatError


class ConversationRow(NamedTuple):
    """What access is decided on: a conversation's owner fields and status."""

    id: int
    status: str
    agent_id: int | None
    customer_id: int
    # Messages it holds (Conversation.message_count): read by the message
    # writer only, which caps it.
    message_count: int = 0
    # Whether it has its first agent message (Conversation.first_agent_message_at):
    # read by the message writer only, which sets it once.
    answered: bool = False


class ConversationEndedError(ChatError):
    """The conversation has ended: `conflict` (a resend of a stored message still gets it)."""

    def __init__(self) -> None:
        super().__init__(CONFLICT, _("The conversation has ended."))


# Why a conversation is not yours, by who asks (lazy: worded only when a
# refusal is answered, in the asking socket's language).
_NOT_YOURS = {
    "customer": _("Not your conversation."),
    "agent": _("The conversation is not assigned to you."),
}


def _refusal(row: ConversationRow | None, owns: bool, who: str, writes: bool) -> ChatError | None:
    if row is None:
        return ChatError(NOT_FOUND, _("No such conversation."))
    if not owns:
        return ChatError(FORBIDDEN, _NOT_YOURS[who])
    if writes and row.status == "ended":
        return ConversationEndedError()
    return None


def customer_refusal(
    row: ConversationRow | None, customer_id: int, *, writes: bool = True
) -> ChatError | None:
    """Why this customer may not act on the conversation, or None if they may."""
    if row is not None and row.customer_id == customer_id and not (writes and row.status == "ended"):
        return None  # the usual answer, at no further call: this runs for every message
    return _refusal(row, row is not None and row.customer_id == customer_id, "customer", writes)


def agent_refusal(row: ConversationRow | None, agent_id: int, *, writes: bool = True) -> ChatError | None:
    """Why this agent may not act on the conversation, or None if they may."""
    if row is not None and row.agent_id == agent_id and not (writes and row.status == "ended"):
        return None  # the usual answer, at no further call: this runs for every message
    return _refusal(row, row is not None and row.agent_id == agent_id, "agent", writes)


def check_customer(row: ConversationRow | None, customer_id: int, *, writes: bool = True) -> ConversationRow:
    """The row, if this customer may act on it; else raise the refusal."""
    return _checked(row, customer_refusal(row, customer_id, writes=writes))


def check_agent(row: ConversationRow | None, agent_id: int, *, writes: bool = True) -> ConversationRow:
    """The row, if this agent may act on it; else raise the refusal."""
    return _checked(row, agent_refusal(row, agent_id, writes=writes))


def _checked(row: ConversationRow | None, refusal: ChatError | None) -> ConversationRow:
    if refusal is not None:
        raise refusal
    return row
