"""A report's figures as people read them: localized numbers, readable
durations, and the page's cards and tables (headers and cells, as text)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

NOTHING = "—"


def number(value, decimals: int | None = None) -> str:
    """A number in the active language's format (grouped thousands)."""
    if value is None:
        return NOTHING
    if decimals is None and isinstance(value, float) and not value.is_integer():
        decimals = 1
    if decimals is None:
        value = int(value)
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=True)


def duration(seconds: float | None) -> str:
    """`4.5 s`, `45 s`, `2 min 5 s`, `1 h 20 min`; a dash for nothing."""
    if seconds is None:
        return NOTHING
    if seconds < 10 and not float(seconds).is_integer():
        return _("%(seconds)s s") % {"seconds": number(round(seconds, 1), 1)}
    total = round(seconds)
    if total < 60:
        return _("%(seconds)s s") % {"seconds": number(total)}
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        if not minutes:
            return _("%(hours)s h") % {"hours": number(hours)}
        return _("%(hours)s h %(minutes)s min") % {"hours": number(hours), "minutes": number(minutes)}
    if not secs:
        return _("%(minutes)s min") % {"minutes": number(minutes)}
    return _("%(minutes)s min %(seconds)s s") % {"minutes": number(minutes), "seconds": number(secs)}


def hour_label(hour: int) -> str:
    return pgettext("hour of the day, UTC", "%(start)02d:00 to %(end)02d:00 UTC") % {
        "start": hour,
        "end": hour + 1,
    }


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    detail: str = ""


def cards(totals: dict) -> list[Card]:
    """The totals, one card per figure."""

    def spread(name: str) -> tuple[str, str]:
        figure = totals[name]
        return duration(figure["median"]), _("90th percentile: %(p90)s") % {"p90": duration(figure["p90"])}

    conversations = totals["conversations"]

    def share(n: int) -> str:
        if not conversations:
            return ""
        return _("%(percent)s%% of conversations") % {"percent": number(100 * n / conversations, 1)}

    csat = totals["csat"]
    return [
        Card(_("Conversations"), number(conversations)),
        Card(_("Answered"), number(totals["answered"]), share(totals["answered"])),
        Card(_("Abandoned"), number(totals["abandoned"]), share(totals["abandoned"])),
        Card(_("Transfers"), number(totals["transfers"])),
        Card(_("Customer messages"), number(totals["messages"]["customer"])),
        Card(_("Agent messages"), number(totals["messages"]["agent"])),
        Card(_("Wait, median"), *spread("wait_s")),
        Card(_("First response, median"), *spread("first_response_s")),
        Card(_("Duration, median"), *spread("duration_s")),
        Card(
            _("CSAT average"),
            number(csat["average"], 2) if csat["average"] is not None else NOTHING,
            _("%(count)s ratings, 1 to 5") % {"count": number(csat["count"])},
        ),
    ]


def _timing(figure: dict) -> list[str]:
    return [duration(figure["median"]), duration(figure["p90"])]


def _csat(csat: dict) -> list[str]:
    return [number(csat["count"]), number(csat["average"], 2) if csat["average"] is not None else NOTHING]


def _figure_headers() -> list[str]:
    return [
        _("Conversations"),
        _("Answered"),
        _("Abandoned"),
        _("Transfers"),
        _("Customer messages"),
        _("Agent messages"),
        _("Wait, median"),
        _("Wait, p90"),
        _("First response, median"),
        _("First response, p90"),
        _("Duration, median"),
        _("Duration, p90"),
        _("Ratings"),
        _("CSAT average"),
    ]


def _figure_cells(row: dict) -> list[str]:
    return [
        number(row["conversations"]),
        number(row["answered"]),
        number(row["abandoned"]),
        number(row["transfers"]),
        number(row["messages"]["customer"]),
        number(row["messages"]["agent"]),
        *_timing(row["wait_s"]),
        *_timing(row["first_response_s"]),
        *_timing(row["duration_s"]),
        *_csat(row["csat"]),
    ]


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]  # the first cell of each row names it


def agents_table(report: dict) -> Table:
    headers = [
        _("Agent"),
        _("Conversations"),
        _("First response, median"),
        _("First response, p90"),
        _("Duration, median"),
        _("Duration, p90"),
        _("Messages"),
        _("Ratings"),
        _("CSAT average"),
    ]
    rows = [
        [
            agent["name"] or f"#{agent['id']}",
            number(agent["conversations"]),
            *_timing(agent["first_response_s"]),
            *_timing(agent["duration_s"]),
            number(agent["messages"]),
            *_csat(agent["csat"]),
        ]
        for agent in report["agents"]
    ]
    return Table(headers, rows)


def topics_table(report: dict) -> Table:
    rows = [[row["topic"] or _("(no topic)"), *_figure_cells(row)] for row in report["topics"]]
    return Table([_("Topic"), *_figure_headers()], rows)


def hours_table(report: dict) -> Table:
    """The hours that have conversations."""
    rows = [[hour_label(row["hour"]), *_figure_cells(row)] for row in report["hours"] if row["conversations"]]
    return Table([_("Hour (UTC)"), *_figure_headers()], rows)
