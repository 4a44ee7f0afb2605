"""What the message writer stores (`Draft`) and what it gets back (`Stored`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
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
    # The customer's address, counted if the writer opens a conversation.
    client_address: str | None = None
    # An upload sent with it (chat.message_store.attachments); `text` may be "".
    attachment_id: int | None = None


@dataclass(slots=True)
class Stored:
    """A draft's outcome once stored: the PROTOCOL.md Message and who receives it."""

    message: dict
    customer_id: int
    agent_id: int | None
    new: bool  # False: stored earlier under the same client_id
