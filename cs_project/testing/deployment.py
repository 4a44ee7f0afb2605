"""The deployment, for real, for the tests that need it: nginx with
deploy/nginx/chat.conf in front of two deploy/serve processes on PostgreSQL
and Redis, in production mode (DEBUG off, HTTPS only, SERVE_STATIC=0).

The site file is rendered by deploy/nginx/render, as an operator does, with
the test's ports and paths; nginx runs as this user with its own prefix, pid
and logs in a temporary directory, behind a self-signed certificate the
clients trust. The servers run as the systemd units run them: one
`deploy/serve --prepare`, then `deploy/serve --skip-prepare` per port, each
of which a test may stop (SIGTERM) and start again.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import socketio

from cs_project.testing.clients import Client
from cs_project.testing.database import AGENT_POOL, create_agents
from cs_project.testing.server import PYTHON, ROOT, LiveServer, base_env, start_command, stop_processes
from cs_project.testing.services import REDIS_URL, fresh_postgres_database, require_redis

SERVE = ["bash", str(ROOT / "deploy" / "serve")]

HOST = "localhost"  # a name, as a site has: cookies are not kept for bare addresses
LOG_LINE = re.compile(
    r'"(?P<request>[^"]*)" (?P<status>\d+) .* upstream=(?P<upstream>.*) route=(?P<route>\S+)$'
)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.skip("nginx is not installed (`make test` installs it as root where apt-get exists)")
    return found


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, 127.0.0.1 and ::1, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(HOST),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 that nothing listens on (held open together while chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def nginx_conf(prefix: Path, site: Path) -> str:
    """The main configuration around the site, as Debian's nginx.conf has it, in `prefix`."""
    mime = Path("/etc/nginx/mime.types")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the test's 0700 directories
    temp = "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 2;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        + (f"    include {mime};\n" if mime.exists() else "")
        + f"    default_type application/octet-stream;\n    access_log {prefix}/access.log;\n{temp}"
        f"    include {site};\n}}\n"
    )


@dataclass
class Deployment:
    https: int
    http: int
    upstreams: list[str]  # "127.0.0.1:port" of each process
    agents: dict
    ssl: ssl.SSLContext
    cert: Path
    access_log: Path
    acme_root: Path
    static_root: Path
    front: LiveServer  # nginx, as the clients' server
    env: dict[str, str]
    directory: Path
    servers: dict[int, subprocess.Popen]  # the deploy/serve process on each port

    def stop_server(self, port: int, timeout: float = 60) -> int:
        """SIGTERM the process on `port`, as systemd stops a unit; its exit status."""
        process = self.servers[port]
        process.terminate()
        return process.wait(timeout)

    def start_server(self, port: int) -> None:
        """`deploy/serve --skip-prepare` on `port`, as cs-chat@PORT.service starts it; once it listens."""
        self.servers[port] = _serve(self.env, self.directory, port)

    def server_log(self, port: int) -> str:
        return (self.directory / f"serve-{port}.log").read_text(errors="replace")

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.https}"

    def log_lines(self) -> list[dict]:
        text = self.access_log.read_text(errors="replace") if self.access_log.exists() else ""
        return [m.groupdict() for m in map(LOG_LINE.search, text.splitlines()) if m]


def _serve(env: dict[str, str], directory: Path, port: int) -> subprocess.Popen:
    with open(directory / f"serve-{port}.log", "ab") as log:  # the child keeps its own descriptor
        return start_command([*SERVE, "--skip-prepare"], port, {**env, "PORT": str(port)}, log, timeout=60)


@contextmanager
def deployed(directory: Path, extra_env: dict[str, str] | None = None) -> Iterator[Deployment]:
    """nginx and two deploy/serve processes on a fresh database (dropped afterwards); `extra_env` for both."""
    nginx = nginx_binary()
    require_redis()
    database = ExitStack()
    database_url, name = database.enter_context(fresh_postgres_database())
    tmp = directory
    *ports, https, http_port = free_ports(4)  # two servers, nginx's HTTPS and HTTP
    env = base_env(tmp / "unused.sqlite3")
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=f"cs-test-{name}",
        STATIC_ROOT=str(tmp / "static"),
        SERVE_STATIC="0",
        MEDIA_ROOT=str(tmp / "media"),
    )
    env.update(extra_env or {})
    processes = []  # nginx
    servers: dict[int, subprocess.Popen] = {}
    try:
        prepared = subprocess.run(
            [*SERVE, "--prepare"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert prepared.returncode == 0, prepared.stdout + prepared.stderr
        agents = create_agents(env, AGENT_POOL)
        servers = {port: _serve(env, tmp, port) for port in ports}

        cert, key = certificate(tmp)
        prefix = tmp / "nginx"
        acme = tmp / "acme"
        for directory in (prefix, acme / ".well-known" / "acme-challenge"):
            directory.mkdir(parents=True)
        render = [
            PYTHON, str(ROOT / "deploy" / "nginx" / "render"), "--server-name", HOST,
            "--ports", ",".join(map(str, ports)), "--https-port", str(https), "--http-port", str(http_port),
            "--certificate", str(cert), "--certificate-key", str(key), "--static-root", env["STATIC_ROOT"],
            "--log-dir", str(prefix), "--acme-root", str(acme),
            *([] if ipv6() else ["--no-ipv6"]),
        ]  # fmt: skip
        site = prefix / "cs-chat.conf"
        site.write_text(subprocess.run(render, check=True, capture_output=True, text=True).stdout)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_conf(prefix, site))
        command = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        tested = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stderr
        with open(prefix / "stderr.log", "wb") as log:
            processes.append(start_command([*command, "-g", "daemon off;"], https, os.environ.copy(), log))

        context = ssl.create_default_context(cafile=str(cert))
        front = LiveServer(f"https://{HOST}:{https}", tmp / "unused.sqlite3", agents, processes[-1], prefix)
        yield Deployment(
            https=https,
            http=http_port,
            upstreams=[f"127.0.0.1:{port}" for port in ports],
            agents=agents,
            ssl=context,
            cert=cert,
            access_log=prefix / "cs-chat.access.log",
            acme_root=acme,
            static_root=Path(env["STATIC_ROOT"]),
            front=front,
            env=env,
            directory=tmp,
            servers=servers,
        )
    finally:
        stop_processes([*processes, *servers.values()])
        database.close()


@dataclass
class Tab:
    """A Socket.IO client through nginx with its own HTTP session (cookie jar)."""

    client: Client
    http: aiohttp.ClientSession

    def route(self) -> str:
        routes = [c.value for c in self.http.cookie_jar if c.key == "cs_route"]
        assert len(routes) == 1, f"nginx set no route cookie: {list(self.http.cookie_jar)!r}"
        return routes[0]

    async def close(self) -> None:
        try:
            await self.client.disconnect()
        finally:
            await self.http.close()


async def open_tab(
    deployment: Deployment, namespace: str, transports=None, auth=None, reconnect: dict | None = None
) -> Tab:
    """Connect through nginx as a page of the site would: trusting its certificate, from its origin."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=deployment.ssl))
    sio = socketio.AsyncClient(http_session=http, **(reconnect or {"reconnection": False}))
    client = Client(deployment.front, namespace, transports=transports, sio=sio)
    try:
        await client.connect(auth=auth, headers={"Origin": deployment.origin})
    except BaseException:
        await http.close()
        raise
    return Tab(client, http)
