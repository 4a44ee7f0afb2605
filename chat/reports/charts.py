"""The reports page's charts: SVG drawn on the server, from a report's dict.

No script and no inline style (the page's Content-Security-Policy forbids
both): shapes carry classes that static/css/reports.css colours, and
presentation attributes only for geometry. Each chart is an image for
assistive technology (`role="img"`, a <title> and a <desc>), every bar and
point has a <title> of its own (a tooltip), and every number shown is
localized. Text is escaped as it is put in; the result is safe HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .figures import duration, number

WIDTH = 960
_ids = count(1)

# Steps for a time axis, in seconds: the readable ones.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # the class that colours it
    values: list  # one per category; None: nothing to show


def _attrs(attrs: dict) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"' for name, value in attrs.items()
    )


def el(tag: str, *children: str, **attrs) -> str:
    """An element; `children` are markup already (escape text with `text`)."""
    if not children:
        return f"<{tag}{_attrs(attrs)}/>"
    return f"<{tag}{_attrs(attrs)}>{''.join(children)}</{tag}>"


def text(tag: str, content: str, **attrs) -> str:
    return el(tag, str(escape(content)), **attrs)


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, *, time: bool = False, most: int = 6) -> list[float]:
    """Axis ticks from 0 to at least `top`: at most `most` + 1, at a round step
    (1, 2 or 5 times a power of ten; for times, whole seconds, minutes or hours)."""
    if not top or top <= 0:
        return [0, 1] if not time else [0, 60]
    if time:
        step = next(
            (s for s in TIME_STEPS if top / s <= most), TIME_STEPS[-1] * math.ceil(top / 86400 / most)
        )
    else:
        power = 10 ** math.floor(math.log10(top / most)) if top / most >= 1 else 1
        step = next(m * power for m in (1, 2, 5, 10) if top / (m * power) <= most)
    return [step * i for i in range(math.ceil(top / step) + 1)]


def _svg(title: str, description: str, height: float, *parts: str, css: str = "") -> SafeString:
    ident = f"chart-{next(_ids)}"
    return mark_safe(
        el(
            "svg",
            text("title", title, id=f"{ident}-title"),
            text("desc", description, id=f"{ident}-desc"),
            *parts,
            class_=f"chart {css}".strip(),
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {WIDTH} {_n(height)}",
            role="img",
            aria_labelledby=f"{ident}-title {ident}-desc",
        )
    )


def _legend(series: list[Series], x: float, y: float) -> str:
    items = []
    for item in series:
        items.append(el("rect", x=_n(x), y=_n(y - 9), width="12", height="12", rx="2", class_=item.css))
        items.append(text("text", item.label, x=_n(x + 17), y=_n(y + 1), class_="legend-label"))
        x += 30 + 7.5 * len(item.label) + (7 * sum(1 for c in item.label if ord(c) > 0x2E80))
    return el("g", *items, class_="legend")


def _value_axis(ticks: list[float], left: float, right: float, y_of, label: str, fmt, height: float) -> str:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(el("line", x1=_n(left), x2=_n(right), y1=_n(y), y2=_n(y), class_="grid"))
        parts.append(text("text", fmt(tick), x=_n(left - 6), y=_n(y + 4), class_="tick tick-y"))
    middle = (y_of(ticks[0]) + y_of(ticks[-1])) / 2
    parts.append(
        text(
            "text", label, x="14", y=_n(middle), transform=f"rotate(-90 14 {_n(middle)})", class_="axis-label"
        )
    )
    return el("g", *parts, class_="axis")


def _category_axis(categories: list[str], x_of, y: float, label: str, width: float) -> str:
    parts = [el("line", x1=_n(x_of(0) - 0.5), x2=_n(x_of(len(categories) - 1) + 0.5), y1=_n(y), y2=_n(y))]
    parts += [
        text("text", name, x=_n(x_of(i)), y=_n(y + 16), class_="tick tick-x")
        for i, name in enumerate(categories)
    ]
    parts.append(text("text", label, x=_n(width / 2), y=_n(y + 36), class_="axis-label"))
    return el("g", *parts, class_="axis axis-x")


class _Frame:
    """The plot area of a chart over categories (bands), and its value scale."""

    left, right, top, bottom = 100, 16, 40, 52

    def __init__(self, categories: list[str], ticks: list[float], height: float = 320):
        self.categories, self.ticks, self.height = categories, ticks, height
        self.plot_width = WIDTH - self.left - self.right
        self.band = self.plot_width / len(categories)
        self.base = height - self.bottom

    def x(self, i: int) -> float:
        return self.left + self.band * (i + 0.5)

    def y(self, value: float) -> float:
        return self.base - (value / self.ticks[-1]) * (self.base - self.top)


def stacked_bars(
    *,
    title: str,
    description: str,
    categories: list[str],
    tips: list[str],
    series: list[Series],
    x_label: str,
    y_label: str,
) -> SafeString:
    """Bars over categories, each stacked from `series` (counts)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    frame = _Frame(categories, nice_ticks(max(totals)))
    bar = frame.band * 0.68
    bars = []
    for i in range(len(categories)):
        bottom = 0
        for item in series:
            value = item.values[i] or 0
            if not value:
                continue
            y_top, y_bottom = frame.y(bottom + value), frame.y(bottom)
            tip = f"{tips[i]}: {item.label} {number(value)}"
            bars.append(
                el(
                    "rect",
                    text("title", tip),
                    x=_n(frame.x(i) - bar / 2),
                    y=_n(y_top),
                    width=_n(bar),
                    height=_n(max(y_bottom - y_top, 0.5)),
                    class_=f"bar {item.css}",
                )
            )
            bottom += value
    return _svg(
        title,
        description,
        frame.height,
        _legend(series, frame.left, 20),
        _value_axis(frame.ticks, frame.left, WIDTH - frame.right, frame.y, y_label, number, frame.height),
        el("g", *bars, class_="bars"),
        _category_axis(categories, frame.x, frame.base, x_label, WIDTH),
    )


def lines(
    *,
    title: str,
    description: str,
    categories: list[str],
    tips: list[str],
    series: list[Series],
    x_label: str,
    y_label: str,
) -> SafeString:
    """Lines over categories (times in seconds); a gap where a value is None, a dot on each value."""
    values = [v for s in series for v in s.values if v is not None]
    frame = _Frame(categories, nice_ticks(max(values, default=0), time=True))
    drawn = []
    for item in series:
        runs, run = [], []
        for i, value in enumerate(item.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((frame.x(i), frame.y(value)))
        if run:
            runs.append(run)
        for points in runs:
            if len(points) > 1:
                drawn.append(
                    el(
                        "polyline",
                        points=" ".join(f"{_n(x)},{_n(y)}" for x, y in points),
                        class_=f"line {item.css}",
                    )
                )
        for i, value in enumerate(item.values):
            if value is not None:
                tip = f"{tips[i]}: {item.label} {duration(value)}"
                drawn.append(
                    el(
                        "circle",
                        text("title", tip),
                        cx=_n(frame.x(i)),
                        cy=_n(frame.y(value)),
                        r="3.5",
                        class_=f"dot {item.css}",
                    )
                )
    return _svg(
        title,
        description,
        frame.height,
        _legend(series, frame.left, 20),
        _value_axis(frame.ticks, frame.left, WIDTH - frame.right, frame.y, y_label, duration, frame.height),
        el("g", *drawn, class_="lines"),
        _category_axis(categories, frame.x, frame.base, x_label, WIDTH),
    )


def agent_bars(*, title: str, description: str, agents: list[dict]) -> SafeString:
    """Per agent, two panels side by side: conversations held, and CSAT average (1 to 5) with its count."""
    names_width, gap, row, top = 150, 36, 30, 64
    panel = (WIDTH - names_width - gap - 16) / 2
    left_conv, left_csat = names_width, names_width + panel + gap
    height = top + row * max(len(agents), 1) + 34
    conv_ticks = nice_ticks(max((a["conversations"] for a in agents), default=0), most=4)
    conversations_label, csat_label = _("Conversations"), _("CSAT average (1 to 5)")
    legend = _legend(
        [Series(conversations_label, "agent-conversations", []), Series(csat_label, "csat", [])], 16, 20
    )
    parts = [legend]
    for left, heading in ((left_conv, conversations_label), (left_csat, csat_label)):
        parts.append(text("text", heading, x=_n(left), y=str(top - 12), class_="panel-label"))
    grid = []
    bottom = top + row * max(len(agents), 1)
    for tick in conv_ticks:
        x = left_conv + panel * tick / conv_ticks[-1]
        grid.append(el("line", x1=_n(x), x2=_n(x), y1=str(top - 4), y2=_n(bottom), class_="grid"))
        grid.append(text("text", number(tick), x=_n(x), y=_n(bottom + 16), class_="tick tick-x"))
    for star in range(6):
        x = left_csat + panel * star / 5
        grid.append(el("line", x1=_n(x), x2=_n(x), y1=str(top - 4), y2=_n(bottom), class_="grid"))
        grid.append(text("text", number(star), x=_n(x), y=_n(bottom + 16), class_="tick tick-x"))
    parts.append(el("g", *grid, class_="axis"))
    bars = []
    for i, agent in enumerate(agents):
        y = top + row * i
        name = agent["name"] or f"#{agent['id']}"
        short = name if len(name) <= 20 else name[:19] + "…"
        bars.append(
            el(
                "text",
                text("title", name),
                str(escape(short)),
                x=str(names_width - 10),
                y=_n(y + row / 2 + 4),
                class_="tick tick-y",
            )
        )
        n = agent["conversations"]
        width = panel * n / conv_ticks[-1]
        tip = f"{name}: {conversations_label} {number(n)}"
        bars.append(
            el(
                "rect",
                text("title", tip),
                x=str(left_conv),
                y=_n(y + 6),
                width=_n(max(width, 0.5)),
                height=str(row - 12),
                class_="bar agent-conversations",
            )
        )
        bars.append(
            text("text", number(n), x=_n(left_conv + width + 5), y=_n(y + row / 2 + 4), class_="value")
        )
        csat = agent["csat"]
        if csat["average"] is None:
            bars.append(text("text", "—", x=_n(left_csat + 5), y=_n(y + row / 2 + 4), class_="value"))
            continue
        width = panel * csat["average"] / 5
        shown = _("%(average)s (%(count)s ratings)") % {
            "average": number(csat["average"], 2),
            "count": number(csat["count"]),
        }
        bars.append(
            el(
                "rect",
                text("title", f"{name}: {csat_label} {shown}"),
                x=_n(left_csat),
                y=_n(y + 6),
                width=_n(width),
                height=str(row - 12),
                class_="bar csat",
            )
        )
        inside = width > 150
        bars.append(
            text(
                "text",
                shown,
                x=_n(left_csat + width + (-6 if inside else 5)),
                y=_n(y + row / 2 + 4),
                class_="value value-inside" if inside else "value",
            )
        )
    parts.append(el("g", *bars, class_="bars"))
    return _svg(title, description, height, *parts, css="chart-agents")
