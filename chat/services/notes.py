"""System messages as every service stores them: a code, its parameters, and
the default language's text (chat.system_notes)."""

from __future__ import annotations

from datetime import datetime

from .. import system_notes
from ..models import Conversation, Message, Sender


def system_message(conversation: Conversation, note: system_notes.Note, at: datetime) -> Message:
    """The (unsaved) system message of `note`, made by `system_notes.note(CODE, **params)`."""
    code, params, text = note
    return Message(
        conversation=conversation,
        sender=Sender.SYSTEM,
        sender_name="System",
        text=text,
        created_at=at,
        system_code=code,
        system_params=params,
    )
