"""A real server for tests: Daphne (or uvicorn) on a free port, its own SQLite file.

The database is migrated once per test session into a template file, with a
pool of agents whose API tokens are known; each test gets a fresh copy and
its own Daphne process, so tests never see each other's customers or queue.
Clients are python-socketio's AsyncClient, the official Python client.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import socketio

from cs_project.server_commands import server_command

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# username: (capacity, skills)
AGENT_POOL = {
    "ann": (2, []),
    "ben": (2, []),
    "cat": (2, []),
    "bill": (2, ["billing"]),
}

_MAKE_AGENTS = """
import json, sys
from agents.services import agent_create
pool = json.loads(sys.argv[1])
out = {}
for username, (capacity, skills) in pool.items():
    profile, token = agent_create(username=username, password=username + "-pass",
        display_name=username.title(), capacity=capacity, skills=skills, supervisor=False)
    out[username] = {"id": profile.id, "token": token}
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(db_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="cs_project.settings",
        SQLITE_PATH=str(db_path),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(env: dict) -> dict:
    """Migrate the database `env` points at and create the agent pool."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [PYTHON, "-c", "import django; django.setup();" + _MAKE_AGENTS, json.dumps(AGENT_POOL)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_template(directory: Path) -> tuple[Path, dict]:
    db = directory / "template.sqlite3"
    return db, prepare_database(base_env(db))


@dataclass
class LiveServer:
    url: str
    db_path: Path
    agents: dict  # username -> {"id", "token"}
    process: subprocess.Popen
    log_path: Path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the server's database directly (the truth, not what it says)."""
        with sqlite3.connect(self.db_path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple = ()):
        return self.query(sql, params)[0][0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(
    template: Path, agents: dict, directory: Path, extra_env: dict | None = None, server: str = "daphne"
) -> LiveServer:
    """A server on a fresh copy of the template SQLite database."""
    db = directory / "db.sqlite3"
    shutil.copy(template, db)
    env = base_env(db)
    env.update(extra_env or {})
    return launch(env, agents, directory, db, server=server)


def launch(
    env: dict, agents: dict, directory: Path, db: Path | None = None, server: str = "daphne"
) -> LiveServer:
    """Start the server with `env` on a free port and wait until it listens."""
    port = free_port()
    env = {"AGENT_GRACE_SECONDS": "60", "SWEEP_INTERVAL_SECONDS": "0.2", **env}
    log_path = directory / f"{server}-{port}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        server_command(server, port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server} exited:\n" + log_path.read_text(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError(f"{server} did not start:\n" + log_path.read_text(errors="replace"))
    return LiveServer(f"http://127.0.0.1:{port}", db, agents, process, log_path)


@dataclass
class Client:
    """An AsyncClient on one namespace that remembers every event it got."""

    server: LiveServer
    namespace: str
    transports: list[str] | None = None
    events: list[tuple[str, object]] = field(default_factory=list)
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()

        async def record(event, *args):
            self.events.append((event, args[0] if len(args) == 1 else list(args)))
            self._changed.set()

        self.sio.on("*", record, namespace=self.namespace)

    async def connect(self, auth: dict | None = None, headers: dict | None = None) -> Client:
        await self.sio.connect(
            self.server.url,
            namespaces=[self.namespace],
            auth=auth,
            headers=headers or {},
            transports=self.transports,
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, *args, timeout: float = 10) -> dict:
        return await self.sio.call(
            event,
            args[0] if len(args) == 1 else tuple(args) if args else None,
            namespace=self.namespace,
            timeout=timeout,
        )

    async def emit_raw(self, event: str, *args, timeout: float = 10):
        """Emit with any number of arguments (or none) and wait for the ack."""
        done = asyncio.get_running_loop().create_future()
        data = tuple(args) if len(args) != 1 else args[0]
        if not args:
            await self.sio.emit(event, namespace=self.namespace, callback=lambda *a: done.set_result(a))
        else:
            await self.sio.emit(event, data, namespace=self.namespace, callback=lambda *a: done.set_result(a))
        result = await asyncio.wait_for(done, timeout)
        return result[0] if len(result) == 1 else result

    def of(self, name: str) -> list:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = 10, count: int = 1):
        """Wait until `count` events `name` matching `predicate` have arrived; return the last."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            matching = [d for d in self.of(name) if predicate(d)]
            if len(matching) >= count:
                return matching[count - 1]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {name} on {self.namespace} after {timeout}s; got {self.events!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def disconnect(self) -> None:
        if not self.sio.connected:
            return
        if self.sio.transport() == "polling":
            # python-engineio's client otherwise waits for its pending
            # long-poll to time out (30 s); the server sees the close either way.
            await self.sio.eio.disconnect(abort=True)
        else:
            await self.sio.disconnect()


async def customer(server: LiveServer, name: str = "Carla", **join) -> tuple[Client, dict]:
    """A connected, joined customer and its join ack."""
    client = await Client(server, "/customer").connect()
    ack = await client.call("customer:join", {"name": name, **join})
    assert ack["ok"], ack
    return client, ack


async def agent(server: LiveServer, username: str, status: str | None = None) -> tuple[Client, dict]:
    """A connected, logged-in agent (by API token) and its login ack."""
    client = await Client(server, "/agent").connect(auth={"token": server.agents[username]["token"]})
    ack = await client.call("agent:login", {})
    assert ack["ok"], ack
    if status is not None:
        result = await client.call("agent:status", {"status": status})
        assert result["ok"], result
    return client, ack


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
