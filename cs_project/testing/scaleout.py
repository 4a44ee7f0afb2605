"""Several server processes on one PostgreSQL database and Redis, as deployed.

`scaled_out` starts them on a fresh database (dropped afterwards) with a
Redis prefix of their own; `Postgres` reads that database directly (the
truth, not what the servers say).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cs_project.testing.database import AGENT_POOL, AgentSpec, prepare_database
from cs_project.testing.server import LiveServer, base_env, launch
from cs_project.testing.services import REDIS_URL, fresh_postgres_database, require_redis


@dataclass
class Postgres:
    url: str

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple = ()):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None


@dataclass
class ScaledOut:
    servers: list[LiveServer]
    database: Postgres
    env: dict[str, str]
    directory: Path

    def start_another(self, server: str = "daphne") -> LiveServer:
        started = launch(self.env, self.servers[0].agents, self.directory, server=server)
        self.servers.append(started)
        return started


@contextmanager
def scaled_out(
    directory: Path,
    count: int = 2,
    *,
    env: dict[str, str] | None = None,
    agents: tuple[AgentSpec, ...] = AGENT_POOL,
    server: str = "daphne",
) -> Iterator[ScaledOut]:
    """`count` processes of `server` on a fresh PostgreSQL database and Redis (or a skip)."""
    require_redis()
    with fresh_postgres_database() as (database_url, name):
        full_env = base_env(directory / "unused.sqlite3")
        full_env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=f"cs-test-{name}")
        full_env.update(env or {})
        deployment = ScaledOut([], Postgres(database_url), full_env, directory)
        try:
            registered = prepare_database(full_env, agents)
            for _ in range(count):
                deployment.servers.append(launch(full_env, registered, directory, server=server))
            yield deployment
        finally:
            for started in deployment.servers:
                started.stop()
