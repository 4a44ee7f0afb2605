"""A database ready to serve: migrated, with the agents a test or benchmark needs.

The live tests migrate once per session into a template file with the agent
pool below (their API tokens are known); each test gets a copy of it. The
benchmark migrates a fresh database per run and creates its own agents with
the same function. `snapshot` and `describe_change` check that a refused
event left every table the chat writes to as it was.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from cs_project.testing.server import PYTHON, ROOT, LiveServer, base_env


@dataclass(frozen=True)
class AgentSpec:
    """An agent to create; no password means none (API token only, and fast to create)."""

    username: str
    capacity: int
    skills: tuple[str, ...] = ()
    password: str | None = None
    display_name: str = ""  # default: the username, capitalised


def _test_agent(username: str, *skills: str) -> AgentSpec:
    return AgentSpec(username, capacity=2, skills=skills, password=f"{username}-pass")


# The live tests' agents: the console tests sign in as `<username>-pass`.
AGENT_POOL = (
    _test_agent("ann"),
    _test_agent("ben"),
    _test_agent("cat"),
    _test_agent("bill", "billing"),
)

# Run in a child process with the database's environment: reads the agents
# as JSON on stdin, prints {username: {"id", "token"}}.
_CREATE_AGENTS = """
import json, sys
import django
django.setup()
from agents.services import agent_create
out = {}
for spec in json.load(sys.stdin):
    spec["display_name"] = spec["display_name"] or spec["username"].title()
    profile, token = agent_create(**spec, supervisor=False)
    out[spec["username"]] = {"id": profile.id, "token": token}
print(json.dumps(out))
"""


def migrate(env: dict[str, str]) -> None:
    """Apply every migration to the database `env` points at."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def create_agents(env: dict[str, str], agents: Iterable[AgentSpec]) -> dict[str, dict]:
    """Create `agents` in the database `env` points at.

    Returns {username: {"id", "token"}}, in the order given.
    """
    out = subprocess.run(
        [PYTHON, "-c", _CREATE_AGENTS],
        cwd=ROOT,
        env=env,
        input=json.dumps([asdict(agent) for agent in agents]),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare_database(env: dict[str, str], agents: Iterable[AgentSpec] = AGENT_POOL) -> dict[str, dict]:
    """Migrate the database `env` points at and create `agents` (the test pool by default)."""
    migrate(env)
    return create_agents(env, agents)


def build_template(directory: Path) -> tuple[Path, dict]:
    """The session's template SQLite database with the agent pool, and the agents' ids and tokens."""
    db = directory / "template.sqlite3"
    return db, prepare_database(base_env(db))


# Every table the chat writes to: what a refused event must leave unchanged.
WRITTEN_TABLES = (
    "chat_conversation",
    "chat_message",
    "chat_internalmessage",
    "customers_customer",
    "agents_agentprofile",
)


def snapshot(server: LiveServer) -> dict[str, list[tuple]]:
    """Every row of every table the chat writes to."""
    return {table: server.query(f"select * from {table} order by id") for table in WRITTEN_TABLES}


def describe_change(before: dict, after: dict) -> str:
    """'' when nothing changed, else which rows appeared, went or changed."""
    changes = []
    for table in WRITTEN_TABLES:
        old, new = set(before[table]), set(after[table])
        if old != new:
            changes.append(
                f"{table}: {len(before[table])} -> {len(after[table])} rows;"
                f" now {sorted(new - old, key=repr)[:3]!r}, was {sorted(old - new, key=repr)[:3]!r}"
            )
    return "; ".join(changes)
