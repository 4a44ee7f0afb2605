"""The supervisors' reports page in admin (/admin/reports/): a period, its
figures as cards, charts and tables, and its download as CSV or JSON.

Thin: the period comes from a GET form (`PeriodForm`), the figures from the
selector (`report`), the text from `figures`, the charts from `charts`. The
admin site routes here through `admin_view` and checks the right
(cs_project/admin_site.py). Periods are whole UTC days, as `manage.py report`
reads them; a download is byte for byte what the command prints.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import charts, figures, render
from .selectors import report

MAX_DAYS = 366

# Preset -> (first day, last day) as days back from today (UTC), both included.
PRESETS = {
    "today": (0, 0),
    "yesterday": (1, 1),
    "last7": (7, 1),
    "last30": (30, 1),
}
PRESET_LABELS = {
    "today": gettext_lazy("Today"),
    "yesterday": gettext_lazy("Yesterday"),
    "last7": gettext_lazy("Last 7 days"),
    "last30": gettext_lazy("Last 30 days"),
}
DEFAULT_PRESET = "yesterday"
DOWNLOADS = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def preset_days(preset: str, today: date) -> tuple[date, date]:
    back_first, back_last = PRESETS[preset]
    return today - timedelta(days=back_first), today - timedelta(days=back_last)


class PeriodForm(forms.Form):
    """Whole UTC days, the first and the last included; or a preset; and an optional download format."""

    preset = forms.ChoiceField(
        label=gettext_lazy("Preset"), choices=list(PRESET_LABELS.items()), required=False
    )
    since = forms.DateField(label=gettext_lazy("From"), required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(label=gettext_lazy("To (included)"), required=False, input_formats=["%Y-%m-%d"])
    format = forms.ChoiceField(
        label=gettext_lazy("Download format"), choices=[(name, name) for name in DOWNLOADS], required=False
    )

    def __init__(self, data, *, today: date):
        super().__init__(data)
        self.today = today
        for name in ("since", "until"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        since, until = cleaned.get("since"), cleaned.get("until")
        if since is None and until is None:
            cleaned["preset"] = cleaned.get("preset") or DEFAULT_PRESET
            since, until = preset_days(cleaned["preset"], self.today)
        elif since is None or until is None:
            raise forms.ValidationError(_("Choose both days of the period, or one of the presets."))
        elif since > until:
            raise forms.ValidationError(
                _("The period is empty: its first day (%(since)s) is after its last (%(until)s).")
                % {"since": since.isoformat(), "until": until.isoformat()}
            )
        elif (until - since).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("A period is at most %(days)s days; this one has %(asked)s.")
                % {"days": MAX_DAYS, "asked": (until - since).days + 1}
            )
        else:
            cleaned["preset"] = next((p for p in PRESETS if preset_days(p, self.today) == (since, until)), "")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned


def bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[first day 00:00 UTC, the day after the last 00:00 UTC)."""
    return (
        datetime.combine(since, time(0), tzinfo=UTC),
        datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC),
    )


def download_name(since: date, until: date, extension: str) -> str:
    """`report-2026-12-01.csv` for a day, `report-2026-12-01_2026-12-07.csv` for days (both included)."""
    days = since.isoformat() if since == until else f"{since.isoformat()}_{until.isoformat()}"
    return f"report-{days}.{extension}"


def reports_view(request):
    """The page, or with ?format=csv|json the download (what `manage.py report --format` prints)."""
    form = PeriodForm(request.GET, today=utc_today())
    context = {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "form": form,
        "presets": list(PRESET_LABELS.items()),
        # What the date inputs show: what was asked, until a period is read.
        "period": {name: request.GET.get(name, "")[:32] for name in ("since", "until")},
    }
    if not form.is_valid():
        return TemplateResponse(request, "admin/reports/index.html", context, status=400)
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    start, end = bounds(since, until)
    figures_ = report(since=start, until=end)
    extension = form.cleaned_data["format"]
    if extension:
        body = render.as_csv(figures_) if extension == "csv" else render.as_json(figures_)
        response = HttpResponse(body, content_type=DOWNLOADS[extension])
        response["Content-Disposition"] = f'attachment; filename="{download_name(since, until, extension)}"'
        return response
    period = {"since": since.isoformat(), "until": until.isoformat()}
    context.update(
        figures=figures_,
        preset=form.cleaned_data["preset"],
        period=period,
        first_day=since,
        last_day=until,
        days=(until - since).days + 1,
        cards=figures.cards(figures_["totals"]),
        charts=page_charts(figures_) if figures_["totals"]["conversations"] else [],
        agents=figures.agents_table(figures_),
        topics=figures.topics_table(figures_),
        hours=figures.hours_table(figures_),
        downloads=[(name.upper(), {**period, "format": name}) for name in DOWNLOADS],
        command=f"manage.py report --since {start.date().isoformat()} --until {end.date().isoformat()}",
    )
    return TemplateResponse(request, "admin/reports/index.html", context)


def page_charts(report_: dict) -> list[dict]:
    """The page's charts, in order: {"id", "title", "svg"} each."""
    hours = report_["hours"]
    categories = [str(row["hour"]) for row in hours]
    tips = [figures.hour_label(row["hour"]) for row in hours]
    other = [row["conversations"] - row["answered"] - row["abandoned"] for row in hours]
    series = [
        charts.Series(_("Answered"), "answered", [row["answered"] for row in hours]),
        charts.Series(_("Abandoned"), "abandoned", [row["abandoned"] for row in hours]),
    ]
    if any(other):
        series.append(charts.Series(_("Neither (still waiting, or closed by staff)"), "other", other))
    hour_axis = _("Hour of the day the conversation started (UTC)")
    titles = {
        "per-hour": _("Conversations per hour of the day"),
        "first-response": _("First response per hour of the day"),
        "agents": _("Conversations and satisfaction per agent"),
    }
    svgs = {
        "per-hour": charts.stacked_bars(
            title=titles["per-hour"],
            description=_("Answered and abandoned conversations by the hour they started, UTC, stacked."),
            categories=categories,
            tips=tips,
            series=series,
            x_label=hour_axis,
            y_label=_("Conversations"),
        ),
        "first-response": charts.lines(
            title=titles["first-response"],
            description=_(
                "Median and 90th percentile of the time to the first agent message, by the hour the "
                "conversation started, UTC; a gap where no conversation had an answer."
            ),
            categories=categories,
            tips=tips,
            series=[
                charts.Series(_("Median"), "median", [row["first_response_s"]["median"] for row in hours]),
                charts.Series(_("90th percentile"), "p90", [row["first_response_s"]["p90"] for row in hours]),
            ],
            x_label=hour_axis,
            y_label=_("First response"),
        ),
        "agents": charts.agent_bars(
            title=titles["agents"],
            description=_(
                "For each agent, the conversations it held last and the average CSAT rating of those "
                "rated, with how many were rated."
            ),
            agents=report_["agents"],
        ),
    }
    return [{"id": f"chart-{name}", "title": titles[name], "svg": svgs[name]} for name in titles]
