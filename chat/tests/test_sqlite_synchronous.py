"""SQLITE_SYNCHRONOUS: one level on every connection, and nothing else accepted."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from django.conf import settings
from django.test import override_settings

from chat.message_store.inline import InlineStore
from cs_project.testing.server import PYTHON, ROOT, base_env

PRAGMAS = ("journal_mode", "synchronous", "temp_store")
LEVELS = {1: "NORMAL", 2: "FULL"}


def pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}


@pytest.fixture
def path(server_template, tmp_path):
    path = tmp_path / "db.sqlite3"
    shutil.copy(server_template[0], path)
    return path


def test_the_writer_connection_has_djangos_pragmas(path):
    django_like = sqlite3.connect(path)
    django_like.executescript(settings.DATABASES["default"]["OPTIONS"]["init_command"])
    store = InlineStore(str(path))
    try:
        assert pragmas(store._db) == pragmas(django_like)
        assert LEVELS[pragmas(store._db)["synchronous"]] == settings.SQLITE_SYNCHRONOUS == "NORMAL"
    finally:
        store.close()
        django_like.close()


@override_settings(SQLITE_SYNCHRONOUS="FULL")
def test_the_writer_connection_follows_the_setting(path):
    store = InlineStore(str(path))
    try:
        assert LEVELS[pragmas(store._db)["synchronous"]] == "FULL"
    finally:
        store.close()


# Run with the environment below: prints the level of Django's own connection
# and of the message writer's.
_LEVELS = """
import django
django.setup()
from django.db import connection
from chat.message_store.inline import open_for_this_database
with connection.cursor() as cursor:
    cursor.execute("PRAGMA synchronous")
    print(cursor.fetchone()[0], open_for_this_database()._db.execute("PRAGMA synchronous").fetchone()[0])
"""


def run_with(path, value: str) -> subprocess.CompletedProcess:
    env = {**base_env(path), "SQLITE_SYNCHRONOUS": value}
    return subprocess.run(
        [PYTHON, "-c", _LEVELS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_full_reaches_both_connections_of_a_process(path):
    result = run_with(path, "full")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2"]


@pytest.mark.parametrize("value", ["OFF", "EXTRA", "0", "normal;"])
def test_any_other_level_is_refused_at_start(path, value):
    result = run_with(path, value)
    assert result.returncode != 0
    assert "SQLITE_SYNCHRONOUS must be NORMAL or FULL" in result.stderr
