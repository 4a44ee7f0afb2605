"""`{{ message|message_text:"agent" }}`: a stored message's text as that reader
sees it, in the page's language (system messages are stored as codes).
`{{ message|status_name }}`: its delivery status by wire name.
`{% with a=message|attachment_shape %}`: its Attachment (PROTOCOL.md, fresh
signed links) or None; read the messages with_attachments (chat.selectors)."""

from __future__ import annotations

from django import template

from chat import attachments, system_notes
from chat.selectors import STATUS_NAMES

register = template.Library()


@register.filter
def message_text(message, reader: str = system_notes.AGENT) -> str:
    return message.text_for(reader)


@register.filter
def status_name(message) -> str:
    """A message's delivery status by its wire name ("sent", "delivered",
    "read"), the same in every language: for classes and data attributes that
    scripts read, where `get_status_display` (the translated label) is not."""
    return STATUS_NAMES[message.status]


@register.filter
def attachment_shape(message) -> dict | None:
    attachment = getattr(message, "attachment", None)
    return None if attachment is None else attachments.shape(attachment)
