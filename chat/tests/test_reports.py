"""Reports: the percentile definition, every figure on a hand-built day, the
command's JSON and CSV, and the same figures on PostgreSQL."""

import csv
import io
import json
import random
import subprocess
from datetime import timedelta
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Value

from chat.models import Conversation
from chat.reports import percentiles, report
from chat.reports.expressions import Millis
from chat.reports.periods import parse_moment
from chat.tests import report_data
from cs_project.testing.database import migrate
from cs_project.testing.server import PYTHON, ROOT, base_env
from cs_project.testing.services import fresh_postgres_database


def test_percentile_interpolates_between_closest_ranks():
    assert percentiles.percentile([], 0.5) is None
    assert percentiles.percentile([7], Fraction(9, 10)) == 7
    assert percentiles.percentile([4, 1, 3, 2], Fraction(1, 2)) == 2.5
    assert percentiles.percentile(list(range(1, 11)), Fraction(9, 10)) == pytest.approx(9.1)
    assert percentiles.percentile([10, 30, 50], Fraction(9, 10)) == pytest.approx(46)


@pytest.mark.django_db
def test_database_percentiles_match_the_definition():
    from datetime import UTC, datetime

    from customers.models import Customer

    rng = random.Random(3)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    waits = {}
    for n in range(57):
        group = n % 3
        wait = round(rng.uniform(0, 500), 3)
        waits.setdefault(group, []).append(wait)
        c = Conversation.objects.create(
            customer=Customer.objects.create(name="C"), status="ended", topic=str(group)
        )
        Conversation.objects.filter(pk=c.pk).update(
            created_at=start, assigned_at=start + timedelta(seconds=wait)
        )
    from django.db.models import F

    got = percentiles.percentiles_of(
        Conversation.objects.all(),
        values={"wait": Millis(F("assigned_at"), F("created_at"))},
        groups={"wait": {"all": Value(0), "topic": F("topic")}},
    )["wait"]
    everything = [w for values in waits.values() for w in values]
    assert got["all"][0]["median"] == round(percentiles.percentile(everything, Fraction(1, 2)), 3)
    assert got["all"][0]["p90"] == round(percentiles.percentile(everything, Fraction(9, 10)), 3)
    for group, values in waits.items():
        assert got["topic"][str(group)] == {
            "median": round(percentiles.percentile(values, Fraction(1, 2)), 3),
            "p90": round(percentiles.percentile(values, Fraction(9, 10)), 3),
        }


def _expected_json(ids) -> dict:
    want = report_data.expected(ids)
    want["topics"] = [{"topic": t, **report_data.row(*v)} for t, v in want["topics"].items()]
    want["hours"] = [
        {
            "hour": h,
            **report_data.row(*want["hours"].get(h, (0, 0, 0, 0, 0, 0, *[percentiles.EMPTY] * 3, 0, None))),
        }
        for h in range(24)
    ]
    return want


@pytest.mark.django_db
def test_every_figure_of_a_hand_built_day():
    ids = report_data.build()
    figures = report(since=parse_moment(report_data.SINCE), until=parse_moment(report_data.UNTIL))
    assert figures == _expected_json(ids)


@pytest.mark.django_db
def test_the_command_writes_json_and_csv():
    ids = report_data.build()
    out = StringIO()
    call_command(
        "report", "--since", report_data.SINCE, "--until", report_data.UNTIL, "--format", "json", stdout=out
    )
    assert json.loads(out.getvalue()) == _expected_json(ids)

    out = StringIO()
    call_command(
        "report", "--since", report_data.SINCE, "--until", "2026-12-02T00:00Z", "--format", "csv", stdout=out
    )
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == ["period", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"]
    totals = lines.index(["totals"])
    header, values = lines[totals + 1], lines[totals + 2]
    assert dict(zip(header, values, strict=True))["wait_s_p90"] == "46.0"
    assert dict(zip(header, values, strict=True))["messages_customer"] == "5"
    agents = lines.index(["agents"])
    assert lines[agents + 1][:3] == ["id", "name", "conversations"]
    assert lines[agents + 3][1:3] == ["Ben", "0"]
    assert lines[agents + 3][5:7] == ["", ""]  # no duration: empty cells
    assert ["topics"] in lines and ["hours"] in lines

    out = StringIO()
    call_command("report", "--since", report_data.SINCE, "--until", report_data.UNTIL, stdout=out)
    assert "wait_s_p90" in out.getvalue() and "Ann" in out.getvalue()


@pytest.mark.django_db
def test_bad_periods_are_refused_clearly():
    with pytest.raises(CommandError, match="not an ISO 8601 date"):
        call_command("report", "--since", "yesterday")
    with pytest.raises(CommandError, match="must be before"):
        call_command("report", "--since", "2026-12-02", "--until", "2026-12-01")


@pytest.mark.django_db
def test_seed_demo_makes_a_history_the_report_reads(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", "--conversations", "10")
    call_command(
        "seed_demo", "--conversations", "300", "--days", "3", "--seed", "1", "--force", stdout=StringIO()
    )
    assert Conversation.objects.count() == 300
    from django.utils import timezone

    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    figures = report(since=today - timedelta(days=3), until=today)
    totals = figures["totals"]
    assert totals["conversations"] == 300
    assert 0 < totals["abandoned"] < 60
    assert totals["answered"] + totals["abandoned"] == 300
    assert 60 < totals["csat"]["count"] < 180
    assert (
        totals["wait_s"]["median"] > 0 and totals["first_response_s"]["median"] > totals["wait_s"]["median"]
    )
    # make run seeds once: a database with conversations is left as it is.
    call_command("seed_demo", "--if-empty", "--conversations", "50", "--force", stdout=StringIO())
    assert Conversation.objects.count() == 300


_RUN = """
import json, django
django.setup()
from io import StringIO
from django.core.management import call_command
from chat.tests import report_data
ids = report_data.build()
out = StringIO()
args = ["--since", report_data.SINCE, "--until", report_data.UNTIL, "--format", "json"]
call_command("report", *args, stdout=out)
hand = json.loads(out.getvalue())
# And a seeded history (the same on every database for the same seed).
seed = ["--conversations", "1500", "--days", "3", "--seed", "7", "--force"]
call_command("seed_demo", *seed, stdout=StringIO())
out = StringIO()
call_command("report", "--since", "2000-01-01", "--until", "2100-01-01", "--format", "json", stdout=out)
print(json.dumps({"ids": ids, "report": hand, "seeded": json.loads(out.getvalue())}))
"""


def _run(env) -> dict:
    migrate(env)
    out = subprocess.run([PYTHON, "-c", _RUN], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_postgresql_gives_the_same_figures_as_sqlite(tmp_path):
    with fresh_postgres_database() as (url, _name):
        on_postgres = _run({**base_env(tmp_path / "unused.sqlite3"), "DATABASE_URL": url})
    on_sqlite = _run(base_env(tmp_path / "db.sqlite3"))
    assert on_postgres["report"] == _expected_json(on_postgres["ids"])
    assert on_sqlite["report"] == _expected_json(on_sqlite["ids"])
    seeded = on_sqlite["seeded"]
    assert seeded["totals"]["conversations"] == 1505 and seeded["totals"]["wait_s"]["p90"] > 0
    assert on_postgres["seeded"] == seeded


@pytest.mark.parametrize(
    ("app", "name", "text"), [("chat", "report", "ISO 8601"), ("agents", "seed_demo", "--force")]
)
def test_help_is_translatable_text(app, name, text):
    from django.core.management import load_command_class

    assert text in load_command_class(app, name).create_parser("manage.py", name).format_help()


@pytest.mark.django_db
def test_the_first_assignment_of_older_conversations_comes_from_their_first_joined_note():
    import importlib
    from datetime import UTC, datetime

    from django.db import connection

    from chat import system_notes
    from chat.models import Message
    from customers.models import Customer

    backfill = importlib.import_module("chat.migrations.0009_conversation_first_assigned_at").BACKFILL
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    joined = system_notes.note(system_notes.JOINED, agent="Ann")
    moved = system_notes.note(system_notes.TRANSFERRED, agent="Ben", from_agent="Ann")

    def make(assigned, notes):
        c = Conversation.objects.create(customer=Customer.objects.create(name="C"), status="ended")
        Conversation.objects.filter(pk=c.pk).update(
            created_at=t0, assigned_at=assigned, first_assigned_at=None
        )
        for seconds, (code, params, text) in notes:
            Message.objects.create(
                conversation=c, sender="system", sender_name="System", text=text, system_code=code,
                system_params=params, created_at=t0 + timedelta(seconds=seconds),
            )  # fmt: skip
        return c.pk

    transferred = make(t0 + timedelta(seconds=50), [(10, joined), (50, moved)])
    without_note = make(t0 + timedelta(seconds=20), [])
    never = make(None, [])
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    got = dict(Conversation.objects.values_list("pk", "first_assigned_at"))
    assert got == {
        transferred: t0 + timedelta(seconds=10),
        without_note: t0 + timedelta(seconds=20),
        never: None,
    }
