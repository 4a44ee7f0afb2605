"""`{{ message|message_text:"agent" }}`: a stored message's text as that reader
sees it, in the page's language (system messages are stored as codes)."""

from __future__ import annotations

from django import template

from chat import system_notes

register = template.Library()


@register.filter
def message_text(message, reader: str = system_notes.AGENT) -> str:
    if not message.system_code:
        return message.text
    return system_notes.wording(message.system_code, message.system_params, reader, message.text)
