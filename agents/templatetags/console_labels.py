"""`{{ value|agent_status }}`, `conversation_status`, `end_reason`,
`delivery_status`: the console's label of a stored value (agents.labels)."""

from __future__ import annotations

from django import template

from agents import labels

register = template.Library()


@register.filter
def agent_status(value) -> str:
    return labels.label(labels.AGENT_STATUS, value)


@register.filter
def conversation_status(value) -> str:
    return labels.label(labels.CONVERSATION_STATUS, value)


@register.filter
def end_reason(value) -> str:
    return labels.label(labels.END_REASON, value)


@register.filter
def delivery_status(value) -> str:
    return labels.label(labels.DELIVERY_STATUS, value)
