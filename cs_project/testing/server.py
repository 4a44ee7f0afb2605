"""Server processes for tests and the benchmark: a free port, the environment,
starting Daphne or uvicorn and waiting until it listens, stopping it.

`LiveServer` is one running server with its own SQLite database, as the live
tests use it: its URL, its agents, its log, and direct reads of its database.
Nothing here imports Django.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cs_project.server_commands import server_command

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(db_path: Path) -> dict[str, str]:
    """This process's environment, pointed at the SQLite file `db_path`.

    `DATABASE_URL` and `REDIS_URL` are dropped: a server gets PostgreSQL or
    Redis only when the caller adds them. `DEBUG=1`, as `make run` has it
    (DEBUG is off by default, and production refuses the default secret key
    and plain-HTTP cookies); a caller that wants production sets `DEBUG=0`
    and what production needs.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="cs_project.settings",
        DEBUG="1",
        SQLITE_PATH=str(db_path),
        MEDIA_ROOT=str(db_path.parent / "media"),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_process(
    kind: str,
    port: int,
    env: dict[str, str],
    log: IO[bytes],
    *,
    log_level: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 30,
) -> subprocess.Popen:
    """Start server `kind` ("daphne" or "uvicorn") on `port`; return once it listens.

    Its output goes to `log`. If it exits or does not listen within `timeout`
    seconds it is killed and RuntimeError says so, with the end of the log.
    """
    return start_command(
        server_command(kind, port, log_level=log_level),
        port,
        env,
        log,
        preexec_fn=preexec_fn,
        timeout=timeout,
        name=kind,
    )


def start_command(
    argv: list[str],
    port: int,
    env: dict[str, str],
    log: IO[bytes],
    *,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 30,
    name: str | None = None,
) -> subprocess.Popen:
    """Run `argv` from the repository; return once something listens on 127.0.0.1:`port`.

    As `start_process`, for any command that serves (deploy/serve, nginx).
    """
    name = name or argv[0]
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{_log_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    stop_processes([process])
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout} s:\n{_log_tail(log)}")


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """Terminate every process, then wait for each (killing any that takes over 10 s)."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _log_tail(log: IO[bytes], size: int = 20_000) -> str:
    log.flush()
    try:
        return Path(log.name).read_bytes()[-size:].decode(errors="replace")
    except (OSError, TypeError):
        return "(no log)"


@dataclass
class LiveServer:
    """One running server on its own database, for one test."""

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
        stop_processes([self.process])


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
    """Start the server with `env` on a free port and wait until it listens.

    The sweeper runs every 0.2 s and agents have a minute's grace, unless
    `env` says otherwise.
    """
    port = free_port()
    env = {"AGENT_GRACE_SECONDS": "60", "SWEEP_INTERVAL_SECONDS": "0.2", **env}
    log_path = directory / f"{server}-{port}.log"
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        process = start_process(server, port, env, log)
    return LiveServer(f"http://127.0.0.1:{port}", db, agents, process, log_path)
