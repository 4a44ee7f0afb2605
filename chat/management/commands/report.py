"""`manage.py report`: the supervisors' figures of a period, as a table, JSON or CSV."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chat.reports import render, report
from chat.reports.periods import PeriodError, period
from cs_project.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = _(
        "Report on the conversations started in a period: how many were answered or abandoned, "
        "waits, first responses and durations (median and 90th percentile), messages, transfers "
        "and satisfaction, in total and per agent, topic and hour (UTC). Default period: yesterday, UTC."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help=gettext(
                "Start of the period, included: an ISO 8601 date or date and time, UTC unless it has an"
                " offset (default: one day before --until)."
            ),
        )
        parser.add_argument(
            "--until",
            help=gettext(
                "End of the period, excluded: an ISO 8601 date or date and time (default: today 00:00 UTC)."
            ),
        )
        parser.add_argument(
            "--format",
            choices=["table", "json", "csv"],
            default="table",
            help=gettext("Output format (table)."),
        )

    def handle(self, *args, since=None, until=None, format="table", **options):
        try:
            start, end = period(since, until, timezone.now())
        except PeriodError as error:
            raise CommandError(str(error)) from None
        figures = report(since=start, until=end)
        if format == "json":
            self.stdout.write(render.as_json(figures), ending="")
        elif format == "csv":
            self.stdout.write(render.as_csv(figures), ending="")
        else:
            self.stdout.write(render.as_table(figures), ending="")
