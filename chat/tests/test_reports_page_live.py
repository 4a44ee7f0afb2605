"""The reports page in admin over HTTP against a real server: who may see it,
its downloads equal to `manage.py report` for the same period on a known
day, and periods it refuses (an error on the page, no figures)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import translation

from chat.tests import report_data
from cs_project.testing.database import migrate
from cs_project.testing.server import PYTHON, ROOT, LiveServer, base_env, launch

pytestmark = pytest.mark.live

REPORTS = "/admin/reports/"

# Run in a child process on the server's database: the people of these tests.
_PEOPLE = """
import django
django.setup()
from agents.services import agent_create
agent_create(username="sue", password="sue-pass", display_name="Sue", capacity=2, skills=[], supervisor=True)
stan, _ = agent_create(
    username="stan", password="stan-pass", display_name="Stan", capacity=2, skills=[], supervisor=False
)
stan.user.is_staff = True  # staff, but not in the Supervisors group: no right to the reports
stan.user.save()
"""

_KNOWN_DAY = """
import django, json
django.setup()
from chat.tests import report_data
print(json.dumps(report_data.build()))
"""


def run_python(server_env: dict, code: str) -> str:
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=server_env, check=True, capture_output=True, text=True
    ).stdout


def command_output(server_env: dict, *args: str) -> str:
    """What `manage.py report` prints on the same database."""
    return subprocess.run(
        [PYTHON, "manage.py", "report", *args],
        cwd=ROOT,
        env=server_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def admin_session(server: LiveServer, username: str, language: str = "en") -> requests.Session:
    """Signed in through admin's login form, as a browser does it."""
    session = requests.Session()
    session.headers["Accept-Language"] = language
    page = session.get(server.url + "/admin/login/", params={"next": REPORTS})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        server.url + "/admin/login/?next=" + REPORTS,
        data={
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": f"{username}-pass",
            "next": REPORTS,
        },
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:2000]
    return session


def console_session(server: LiveServer, username: str) -> requests.Session:
    """Signed in through the console's login form (any agent may)."""
    session = requests.Session()
    page = session.get(server.url + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        server.url + "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": f"{username}-pass"},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:2000]
    return session


@pytest.fixture
def reports_server(chat_server):
    run_python(base_env(chat_server.db_path), _PEOPLE)
    return chat_server


@pytest.fixture
def known_day_server(tmp_path):
    """A server on a fresh database holding report_data's hand-built day, and a supervisor."""
    db = tmp_path / "db.sqlite3"
    env = base_env(db)
    migrate(env)
    ids = json.loads(run_python(env, _KNOWN_DAY).strip().splitlines()[-1])
    run_python(env, _PEOPLE)
    server = launch(env, {}, tmp_path, db)
    server.ids = ids
    yield server
    server.stop()


def test_only_supervisors_see_the_reports(reports_server):
    server = reports_server
    anonymous = requests.get(server.url + REPORTS, allow_redirects=False)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/admin/login/?next=/admin/reports/")

    # An agent signed in to the console is not staff: admin asks for a staff login.
    agent = console_session(server, "ann").get(server.url + REPORTS, allow_redirects=False)
    assert agent.status_code == 302
    assert agent.headers["Location"].startswith("/admin/login/?next=/admin/reports/")

    stan = admin_session(server, "stan")
    assert stan.get(server.url + REPORTS, allow_redirects=False).status_code == 403
    assert stan.get(server.url + REPORTS, params={"format": "csv"}, allow_redirects=False).status_code == 403
    index = stan.get(server.url + "/admin/")
    assert index.status_code == 200 and 'href="/admin/reports/"' not in index.text

    sue = admin_session(server, "sue")
    page = sue.get(server.url + REPORTS, allow_redirects=False)
    assert page.status_code == 200
    # Yesterday had no conversation here: the cards say 0, and no empty chart is drawn.
    assert 'id="period-summary"' in page.text and 'id="empty-period"' in page.text
    assert page.text.count('class="card"') == 10 and '<svg class="chart' not in page.text
    # Default: yesterday, UTC.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert f'value="{yesterday}"' in page.text and 'data-preset="yesterday" aria-current="true"' in page.text
    assert 'href="/admin/reports/"' in sue.get(server.url + "/admin/").text


def test_downloads_are_the_commands_output_for_the_same_period(known_day_server):
    server = known_day_server
    env = base_env(server.db_path)
    sue = admin_session(server, "sue")
    one_day = {"since": report_data.SINCE, "until": report_data.SINCE}  # the page's last day is included

    csv_file = sue.get(server.url + REPORTS, params={**one_day, "format": "csv"})
    assert csv_file.status_code == 200
    assert csv_file.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_file.headers["Content-Disposition"] == 'attachment; filename="report-2026-12-01.csv"'
    wanted = command_output(
        env, "--since", report_data.SINCE, "--until", report_data.UNTIL, "--format", "csv"
    )
    assert csv_file.content.decode() == wanted

    json_file = sue.get(server.url + REPORTS, params={**one_day, "format": "json"})
    assert json_file.headers["Content-Disposition"] == 'attachment; filename="report-2026-12-01.json"'
    wanted = command_output(
        env, "--since", report_data.SINCE, "--until", report_data.UNTIL, "--format", "json"
    )
    assert json_file.content.decode() == wanted
    figures = json_file.json()
    expected = report_data.expected(server.ids)
    assert figures["period"] == expected["period"]
    assert figures["totals"] == expected["totals"]
    assert figures["agents"] == expected["agents"]

    # Days: the page's period [first day, last day] is the command's [since, until + 1 day).
    two_days = sue.get(
        server.url + REPORTS, params={"since": "2026-11-30", "until": "2026-12-01", "format": "csv"}
    )
    assert (
        two_days.headers["Content-Disposition"] == 'attachment; filename="report-2026-11-30_2026-12-01.csv"'
    )
    assert two_days.text == command_output(
        env, "--since", "2026-11-30", "--until", "2026-12-02", "--format", "csv"
    )
    assert two_days.text != csv_file.text  # the day before has c5

    # The page shows the same day: its cards hold the totals.
    page = sue.get(server.url + REPORTS, params=one_day)
    cards = dict(
        re.findall(
            r'<div class="card-label">([^<]+)</div>\s*<div class="card-value">([^<]+)</div>', page.text
        )
    )
    assert cards["Conversations"] == "4" and cards["Answered"] == "3" and cards["Abandoned"] == "1"
    assert cards["Wait, median"] == "30 s" and cards["Duration, median"] == "7 min 30 s"
    assert cards["CSAT average"] == "4.00"


def catalog(language: str, msgid: str, **values) -> str:
    with translation.override(language):
        text = translation.gettext(msgid)
    return text % values if values else text


@pytest.mark.parametrize(
    "query,message",
    [
        (
            {"since": "2026-12-05", "until": "2026-12-01"},
            lambda lang: catalog(
                lang,
                "The period is empty: its first day (%(since)s) is after its last (%(until)s).",
                since="2026-12-05",
                until="2026-12-01",
            ),
        ),
        ({"since": "2026-02-30", "until": "2026-03-01"}, lambda lang: catalog(lang, "Enter a valid date.")),
        (
            {"since": "2026-12-01"},
            lambda lang: catalog(lang, "Choose both days of the period, or one of the presets."),
        ),
        (
            {"since": "2024-01-01", "until": "2026-01-01"},
            lambda lang: catalog(
                lang, "A period is at most %(days)s days; this one has %(asked)s.", days=366, asked=732
            ),
        ),
        (
            {"preset": "forever"},
            lambda lang: catalog(
                lang, "Select a valid choice. %(value)s is not one of the available choices.", value="forever"
            ),
        ),
        (
            {"preset": "yesterday", "format": "xlsx"},
            lambda lang: catalog(
                lang, "Select a valid choice. %(value)s is not one of the available choices.", value="xlsx"
            ),
        ),
    ],
)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_bad_periods_are_refused_on_the_page(reports_server, query, message, language):
    sue = admin_session(reports_server, "sue", language="zh-CN" if language == "zh-hans" else "en")
    answer = sue.get(reports_server.url + REPORTS, params=query, allow_redirects=False)
    assert answer.status_code == 400
    assert "Content-Disposition" not in answer.headers
    errors = re.search(r'<div class="errornote period-errors"[^>]*>(.*?)</div>', answer.text, re.S)
    assert errors, answer.text[-3000:]
    assert message(language) in errors.group(1).replace("&#x27;", "'")
    # Nothing computed: no figures, no charts, no download links.
    assert (
        'class="card"' not in answer.text
        and "<svg class=" not in answer.text
        and "format=csv" not in answer.text
    )
    # The form is there again, with what was asked.
    assert 'id="period-form"' in answer.text
