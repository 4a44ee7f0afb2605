"""The server side of a benchmark run: where its processes run, and the
server processes themselves on a fresh database, sampled from /proc."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cs_project.testing.database import AgentSpec, prepare_database
from cs_project.testing.server import base_env, free_port, start_process, stop_processes

TICK = os.sysconf("SC_CLK_TCK")

# Where --postgres makes a fresh database per run, and where several
# processes meet (--processes N needs Redis).
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Placement:
    """Which CPUs the server processes and the load generator run on.

    With `pin`, each server process gets a CPU of its own and the Node
    workers share the others, as clients on other machines would: on a
    shared two-core machine, unpinned, the scheduler moves the server and
    four generator processes between both cores, and a message waits
    whenever the server's core is lent to a generator. Without enough CPUs
    for that (or with --no-pin), nothing is pinned.
    """

    def __init__(self, pin: bool, processes: int) -> None:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.pinned = pin and len(cpus) > processes
        self.server_cpus = [{cpu} for cpu in cpus[:processes]] if self.pinned else []
        self.generator_cpus = set(cpus[processes:]) if self.pinned else set()

    def server(self, index: int):
        """A preexec_fn for server process `index` (before exec: every thread inherits it)."""
        if not self.pinned:
            return None
        cpus = self.server_cpus[index]
        return lambda: os.sched_setaffinity(0, cpus)

    def generator(self):
        if not self.pinned:
            return None
        cpus = self.generator_cpus
        return lambda: os.sched_setaffinity(0, cpus)


def bench_agents(count: int, capacity: int) -> list[AgentSpec]:
    """`count` agents with API tokens only (no password: quick to create)."""
    return [AgentSpec(f"bench{i}", capacity, display_name=f"Bench {i}") for i in range(count)]


class Server:
    """Server processes on a fresh database, with /proc sampling.

    SQLite by default; `postgres` makes a new PostgreSQL database for the run
    and drops it after. Several `processes` share the database and Redis (the
    Socket.IO manager and the channel layer), each on its own port.
    """

    def __init__(
        self,
        kind: str,
        agents: int,
        capacity: int,
        placement: Placement,
        postgres: bool = False,
        processes: int = 1,
    ):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-"))
        self.db = self.dir / "db.sqlite3"
        self.pg_name = None
        self.processes: list[subprocess.Popen] = []
        self.urls: list[str] = []
        self.log = open(self.dir / "server.log", "wb")  # closed in stop()
        env = base_env(self.db)
        env.update(DEBUG="0", SECRET_KEY="bench-only-secret-key", LOG_LEVEL="ERROR", SERVE_STATIC="0")
        try:
            if postgres:
                import psycopg

                self.pg_name = f"cs_bench_{os.getpid()}_{int(time.time() * 1000)}"
                with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{self.pg_name}"')
                env["DATABASE_URL"] = POSTGRES_URL.rsplit("/", 1)[0] + f"/{self.pg_name}"
            if processes > 1:
                env.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=f"cs-bench-{os.getpid()}-{int(time.time())}")
            self.env = env
            self.database = "postgresql" if postgres else "sqlite"
            made = prepare_database(env, bench_agents(agents, capacity))
            self.tokens = [agent["token"] for agent in made.values()]
            for index in range(processes):
                port = free_port()
                self.processes.append(
                    start_process(
                        kind, port, env, self.log, log_level="warning", preexec_fn=placement.server(index)
                    )
                )
                self.urls.append(f"http://127.0.0.1:{port}")
        except BaseException:
            self.stop()
            raise
        self.url = self.urls[0]

    def url_for(self, worker: int) -> str:
        """Workers are spread over the processes."""
        return self.urls[worker % len(self.urls)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        return total

    def rss_kb(self) -> int:
        total = 0
        for process in self.processes:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def scalar(self, sql: str) -> int:
        if self.pg_name is not None:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"]) as conn:
                return conn.execute(sql).fetchone()[0]
        import sqlite3

        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchone()[0]

    def stop(self) -> None:
        stop_processes(self.processes)
        self.log.close()
        if self.pg_name is not None:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)
