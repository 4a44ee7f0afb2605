"""The reports page's parts without a server: the period form, readable
durations and numbers, and the SVG charts (escaped, accessible, no inline style)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from xml.etree import ElementTree

import pytest
from django.utils import translation

from chat.reports import charts, figures
from chat.reports.views import PeriodForm, bounds, download_name

TODAY = date(2026, 12, 3)


def period(**data):
    form = PeriodForm(data, today=TODAY)
    return form, form.is_valid()


@pytest.mark.parametrize(
    "preset,first,last",
    [
        ("today", "2026-12-03", "2026-12-03"),
        ("yesterday", "2026-12-02", "2026-12-02"),
        ("last7", "2026-11-26", "2026-12-02"),
        ("last30", "2026-11-03", "2026-12-02"),
    ],
)
def test_presets_are_whole_utc_days(preset, first, last):
    form, valid = period(preset=preset)
    assert valid
    assert (form.cleaned_data["since"].isoformat(), form.cleaned_data["until"].isoformat()) == (first, last)
    assert form.cleaned_data["preset"] == preset


def test_the_default_is_yesterday_and_dates_name_their_preset():
    form, valid = period()
    assert valid and form.cleaned_data["preset"] == "yesterday"
    assert form.cleaned_data["since"] == form.cleaned_data["until"] == date(2026, 12, 2)
    form, valid = period(since="2026-11-26", until="2026-12-02")
    assert valid and form.cleaned_data["preset"] == "last7"
    form, valid = period(since="2026-11-20", until="2026-12-02")
    assert valid and form.cleaned_data["preset"] == ""


def test_a_period_is_read_as_the_commands_since_and_until():
    assert bounds(date(2026, 12, 1), date(2026, 12, 1)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert download_name(date(2026, 12, 1), date(2026, 12, 1), "csv") == "report-2026-12-01.csv"
    assert download_name(date(2026, 11, 1), date(2026, 11, 30), "json") == "report-2026-11-01_2026-11-30.json"


@pytest.mark.parametrize(
    "data",
    [
        {"since": "2026-12-05", "until": "2026-12-01"},
        {"since": "2026-12-01"},
        {"until": "2026-12-01"},
        {"since": "01/12/2026", "until": "2026-12-02"},
        {"since": "2026-12-01T08:00", "until": "2026-12-02"},
        {"since": "2025-01-01", "until": "2026-01-02"},
        {"preset": "week"},
        {"format": "pdf"},
    ],
)
def test_bad_periods_are_refused_with_a_message(data):
    form, valid = period(**data)
    assert not valid
    assert all(str(message) for messages in form.errors.values() for message in messages)


@pytest.mark.parametrize(
    "seconds,shown",
    [
        (None, "—"),
        (0, "0 s"),
        (4.5, "4.5 s"),
        (45.4, "45 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (450.0, "7 min 30 s"),
        (3600, "1 h"),
        (4830, "1 h 20 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds, shown):
    with translation.override("en"):
        assert figures.duration(seconds) == shown


def test_numbers_follow_the_language():
    with translation.override("en"):
        assert figures.number(12345) == "12,345"
        assert figures.number(4.25, 2) == "4.25"


def test_ticks_are_round_and_reach_the_top():
    assert charts.nice_ticks(47) == [0, 10, 20, 30, 40, 50]
    assert charts.nice_ticks(3) == [0, 1, 2, 3]
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(170, time=True) == [0, 30, 60, 90, 120, 150, 180]
    assert charts.nice_ticks(1000, time=True)[-1] >= 1000


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


NS = "{http://www.w3.org/2000/svg}"


def test_charts_are_labelled_escaped_and_styled_by_class_only():
    hours = [str(h) for h in range(24)]
    bars = charts.stacked_bars(
        title="Per hour <b>",
        description="desc",
        categories=hours,
        tips=hours,
        series=[
            charts.Series("Answered", "answered", [h % 3 for h in range(24)]),
            charts.Series("Abandoned", "abandoned", [1] * 24),
        ],
        x_label="Hour",
        y_label="Conversations",
    )
    lines = charts.lines(
        title="First response",
        description="desc",
        categories=hours,
        tips=hours,
        series=[charts.Series("Median", "median", [None if h in (5, 6) else 30.0 + h for h in range(24)])],
        x_label="Hour",
        y_label="Seconds",
    )
    agents = charts.agent_bars(
        title="Agents",
        description="desc",
        agents=[
            {
                "id": 1,
                "name": "<script>alert(1)</script>",
                "conversations": 3,
                "csat": {"count": 2, "average": 4.5},
            },
            {"id": 2, "name": "Ben", "conversations": 0, "csat": {"count": 0, "average": None}},
        ],
    )
    for svg in (bars, lines, agents):
        assert "style" not in svg and "<script" not in svg
        root = parsed(svg)  # well-formed XML
        assert root.get("role") == "img"
        labelled = root.get("aria-labelledby").split()
        ids = {element.get("id") for element in root.iter() if element.get("id")}
        assert set(labelled) <= ids
        assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
        assert root.findall(f".//{NS}g[@class='legend']/{NS}rect")
    assert parsed(bars).find(f"{NS}title").text == "Per hour <b>"
    # Stacked: a segment per non-zero value (16 answered, 24 abandoned), each with its tooltip.
    segments = parsed(bars).findall(f".//{NS}rect[@class='bar answered']") + parsed(bars).findall(
        f".//{NS}rect[@class='bar abandoned']"
    )
    assert len(segments) == 16 + 24 and all(s.find(f"{NS}title") is not None for s in segments)
    # A gap where there is nothing: two runs of line, a dot per value.
    assert len(parsed(lines).findall(f".//{NS}polyline")) == 2
    assert len(parsed(lines).findall(f".//{NS}circle")) == 22
    assert "&lt;script&gt;" in agents
    assert re.search(r"4\.50 \(2 ratings\)", agents)
