"""The machine's real PostgreSQL and Redis, for the tests that need them,
and private ones a test owns, to stop and start again (`private_redis`,
`private_postgres`).

They are used for real, never mocked; where one is not reachable the test
skips and says why (TEST_POSTGRES_URL and TEST_REDIS_URL point elsewhere).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cs_project.testing.server import free_port

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")


@contextmanager
def fresh_postgres_database() -> Iterator[tuple[str, str]]:
    """A new, empty PostgreSQL database: (its URL, its name), dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {error}")
    name = f"cs_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# --- servers a test owns: to stop and start again ---------------------------------
#
# A restart test must not restart the machine's own Redis or PostgreSQL (other
# tests use them): it runs its own on a free port, stopped and started again at
# will, and gone when the test ends.

REDIS_SERVER = "/usr/bin/redis-server"


def _wait_until(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout} s")
        time.sleep(0.05)


class PrivateRedis:
    """A redis-server of the test's own, without persistence, on 127.0.0.1:`port`."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def _ping(self) -> bool:
        import redis

        if self.process is not None and self.process.poll() is not None:
            log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server exited ({self.process.returncode}):\n{log}")
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        """Start it on the same port (again); return once it answers."""
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.directory), "--logfile", "redis.log"]
        self.process = subprocess.Popen(argv, cwd=self.directory)
        _wait_until(self._ping, f"redis-server on port {self.port}")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop it (killed by default: as a crash does); return once it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)
        self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A Redis of the test's own (`.url`, `.stop()`, `.start()`), killed at the end."""
    pytest.importorskip("redis")
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(f"no {REDIS_SERVER} to run a private Redis with (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="cs-redis-") as directory:
        server = PrivateRedis(Path(directory), free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries' folder, if any is installed."""
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust, 127.0.0.1:`port`), and one database in it (`.url`)."""

    def __init__(self, bin_dir: Path, directory: Path, port: int, as_user: list[str]) -> None:
        self.bin_dir = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.as_user = as_user
        self.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/cs_restarts"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / tool), *args],
            cwd=self.directory,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        psycopg = pytest.importorskip("psycopg")
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE cs_restarts")

    def start(self) -> None:
        """Start the cluster (again) on the same port; return once it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.directory / "pg.log"), "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m fast` (or `immediate`: as a crash does); return once it is down."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own (`.url`, `.stop()`, `.start()`), removed at the end.

    initdb refuses to run as root: as root, the cluster is the `postgres`
    user's, run through runuser.
    """
    pytest.importorskip("psycopg")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    as_user: list[str] = []
    owner = None
    if os.getuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: initdb refuses root")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user: initdb refuses root")
        as_user = ["runuser", "-u", "postgres", "--"]
    directory = Path(tempfile.mkdtemp(prefix="cs-postgres-"))
    try:
        if owner is not None:
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        server = PrivatePostgres(bin_dir, directory, free_port(), as_user)
        server.init()
        try:
            yield server
        finally:
            if server.running():
                server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
