"""The wallboard's durations: `{{ seconds|clock }}` ("4:05", "1:02:03"; "—" for none),
`{{ moment|seconds_since:now }}` (whole seconds from `moment` to `now`)."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def clock(seconds) -> str:
    if seconds is None:
        return "—"
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def seconds_since(moment: datetime | None, now: datetime) -> int | None:
    if moment is None:
        return None
    return max(0, int((now - moment).total_seconds()))
