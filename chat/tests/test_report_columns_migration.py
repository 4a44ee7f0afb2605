"""Migration 0010 fills in what the message writer keeps for the reports, for
conversations stored before it: on a database migrated to 0008, rows written
without it, then the migration, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import sqlite3
import subprocess

import pytest

from cs_project.testing.database import prepare_database
from cs_project.testing.server import PYTHON, ROOT, base_env
from cs_project.testing.services import fresh_postgres_database

T0 = "2026-12-01 10:00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(env, run(sql, params) -> rows) of a fresh database of either kind."""
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"

        def run(sql, params=()):
            with sqlite3.connect(path) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()

        yield base_env(path), run
        return
    psycopg = pytest.importorskip("psycopg")
    with fresh_postgres_database() as (url, _name):

        def run(sql, params=()):
            with psycopg.connect(url) as db:
                cursor = db.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

        yield {**base_env(tmp_path / "unused.sqlite3"), "DATABASE_URL": url}, run


def _migrate(env, *target: str) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", *target, "-v0"], cwd=ROOT, env=env, check=True)


def test_the_migration_fills_in_the_conversations_stored_before_it(database):
    env, run = database
    agents = prepare_database(env)
    ann, ben = agents["ann"]["id"], agents["ben"]["id"]
    _migrate(env, "chat", "0008")  # before the columns

    def conversation(agent, assigned_at=None):
        (customer,) = run(
            "INSERT INTO customers_customer (name, email, created_at, token_key)"
            " VALUES ('C', '', %s, %s) RETURNING id",
            (T0, secrets.token_hex(8)),
        )[0]
        return run(
            "INSERT INTO chat_conversation (status, created_at, agent_id, customer_id, assigned_at)"
            " VALUES ('ended', %s, %s, %s, %s) RETURNING id",
            (T0, agent, customer, assigned_at),
        )[0][0]

    def say(conversation_id, sender, seconds, agent=None, code=""):
        at = f"2026-12-01 10:00:{seconds:02d}"
        run(
            "INSERT INTO chat_message (conversation_id, sender, sender_agent_id, sender_name, text,"
            " created_at, status, system_code) VALUES (%s, %s, %s, 'x', 'x', %s, 2, %s)",
            (conversation_id, sender, agent, at, code),
        )

    # assigned_at is the latest assignment: the transfer's.
    transferred = conversation(ann, "2026-12-01 10:00:30")
    unanswered, empty = conversation(None), conversation(None)
    say(transferred, "customer", 1)
    say(transferred, "system", 5, code="joined")
    say(transferred, "agent", 25, ben)  # the first agent message: ben's
    say(transferred, "system", 30, code="transferred")
    say(transferred, "agent", 20, ann)  # an earlier time, a later id: not the first
    say(transferred, "customer", 40)
    say(unanswered, "customer", 1)
    say(unanswered, "system", 9, code="ended_by_customer")

    _migrate(env)

    def kept(conversation_id):
        return run(
            "SELECT message_count, first_agent_message_at,"
            " first_agent_message_agent_id, transfer_count FROM chat_conversation WHERE id = %s",
            (conversation_id,),
        )[0]

    (first_at,) = run(
        "SELECT created_at FROM chat_message WHERE conversation_id = %s AND sender = 'agent'"
        " ORDER BY id LIMIT 1",
        (transferred,),
    )[0]
    assert kept(transferred) == (4, first_at, ben, 1)
    # The first assignment (migration 0009): the time of the first `joined` note.
    ((same,),) = run(
        "SELECT c.first_assigned_at = m.created_at FROM chat_conversation c JOIN chat_message m"
        " ON m.conversation_id = c.id AND m.system_code = 'joined' WHERE c.id = %s",
        (transferred,),
    )
    assert same  # True on PostgreSQL, 1 on SQLite
    assert run("SELECT first_assigned_at FROM chat_conversation WHERE id = %s", (unanswered,)) == [(None,)]
    assert kept(unanswered) == (1, None, None, 0)
    assert kept(empty) == (0, None, None, 0)
