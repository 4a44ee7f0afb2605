"""The period a supervisor asks for: ISO 8601 dates or datetimes, UTC by default."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils.translation import gettext as _


class PeriodError(ValueError):
    """A period that cannot be read; the message says why, in the active language."""


def parse_moment(text: str) -> datetime:
    """`2026-12-01` (its 00:00 UTC), `2026-12-01T08:30`, `2026-12-01T08:30:00Z`
    or with an offset: an aware datetime. Without an offset: UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PeriodError(
            _("%(value)r is not an ISO 8601 date or date and time (e.g. 2026-12-01 or 2026-12-01T08:30Z).")
            % {"value": text}
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def default_period(now: datetime) -> tuple[datetime, datetime]:
    """Yesterday, UTC: [yesterday 00:00, today 00:00)."""
    today = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return today - timedelta(days=1), today


def period(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The period from optional texts: a missing end defaults to yesterday's
    (until: today 00:00 UTC; since: one day before until)."""
    default_since, default_until = default_period(now)
    end = parse_moment(until) if until else default_until
    start = parse_moment(since) if since else (end - timedelta(days=1) if until else default_since)
    if start >= end:
        raise PeriodError(
            _("The period is empty: --since (%(since)s) must be before --until (%(until)s).")
            % {"since": start.isoformat(), "until": end.isoformat()}
        )
    return start, end
