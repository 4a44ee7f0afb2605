"""What services announce: one frozen dataclass per kind of outbox event.

A service records these (`outbox.record(ConversationAssigned(...))`) while it
changes state; `chat.realtime.emit` turns each committed one into Socket.IO
events, dispatching on the type. A misspelt event is a NameError at import,
not a KeyError after commit, and a test can assert what a service announced
without a server (chat/tests/test_service_events.py).

Payload fields hold PROTOCOL.md shapes, built by `chat.selectors` inside
the service's transaction, so what is sent is what was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every outbox event."""


@dataclass(frozen=True, slots=True)
class MessageCreated(Event):
    """A message stored outside the message writer (system notes)."""

    message: dict
    customer_id: int
    # The agent who receives it as `customer:message`; None: customer only.
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class ConversationAssigned(Event):
    """A conversation was given to an agent (new, from the queue, or transferred)."""

    conversation: dict
    messages: list  # the latest page (MESSAGE_PAGE_LIMIT)
    customer_id: int
    agent_id: int
    transferred_from: dict | None
    has_more: bool = False  # older messages than `messages` exist


@dataclass(frozen=True, slots=True)
class ConversationEnded(Event):
    conversation_id: int
    reason: str
    customer_id: int
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class ConversationRated(Event):
    """The customer rated an ended conversation; its agent (if any) is told."""

    conversation_id: int
    score: int
    comment: str
    customer: dict  # {id, name}
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class ConversationTakenAway(Event):
    """The agent no longer holds the conversation (transferred or requeued)."""

    conversation_id: int
    agent_id: int


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    """An agent's status or load changed; only the last one per agent is sent."""

    agent: dict


@dataclass(frozen=True, slots=True)
class ReceiptsChanged(Event):
    """Messages up to an id became `delivered` or `read`; `to` is who is told."""

    conversation_id: int
    up_to_id: int
    status: Literal["delivered", "read"]
    to: Literal["customer", "agent"]
    customer_id: int
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class InternalMessageCreated(Event):
    message: dict
    sender_id: int
    to_agent_id: int | None


@dataclass(frozen=True, slots=True)
class QueueChanged(Event):
    """The queue's order or length changed: positions and listings are refreshed."""


@dataclass(frozen=True, slots=True)
class SocketsRevoked(Event):
    """An identity was taken back: every process disconnects its matching sockets.

    `kind` "agent": the agent's sockets (all of them, or only those opened
    with `credential`, or with any credential of a kind such as "session:");
    "customer": the customer's sockets.
    """

    kind: Literal["agent", "customer"]
    id: int
    credential: str | None = None


ALL: tuple[type[Event], ...] = (
    MessageCreated,
    ConversationAssigned,
    ConversationEnded,
    ConversationRated,
    ConversationTakenAway,
    AgentStateChanged,
    ReceiptsChanged,
    InternalMessageCreated,
    QueueChanged,
    SocketsRevoked,
)
