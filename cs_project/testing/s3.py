"""A real S3-compatible server for tests: moto's (requirements-dev.txt), over
HTTP in a process of its own on a free port of 127.0.0.1.

`S3Server` is one running server: its endpoint, the credentials it takes,
a boto3 client on it, and the FILE_STORAGE_OPTIONS that point the chat
server's storage at one of its buckets. Nothing here imports Django.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cs_project.testing.server import free_port, stop_processes

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


class S3Unavailable(RuntimeError):
    """moto's server could not be started here (not installed, or it did not listen)."""


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen
    log_path: Path

    def client(self):
        """A boto3 S3 client on this server, with the test credentials."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """The names of every object in `bucket`, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def storage_options(self, bucket: str) -> str:
        """FILE_STORAGE_OPTIONS (JSON) for storages.backends.s3.S3Storage on `bucket`:
        everything it needs, so that no AWS_* variable or file is read."""
        return json.dumps(
            {
                "bucket_name": bucket,
                "endpoint_url": self.endpoint_url,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "region_name": REGION,
                "addressing_style": "path",
                "signature_version": "s3v4",
            }
        )

    def stop(self) -> None:
        stop_processes([self.process])


def start_s3_server(directory: Path, timeout: float = 30) -> S3Server:
    """Start moto's server on a free port; return once it answers S3 requests.

    Raises S3Unavailable when moto is not installed or does not come up.
    """
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as error:
        raise S3Unavailable(f"moto[server] is not installed ({error}); see requirements-dev.txt") from None
    port = free_port()
    log_path = directory / f"moto-{port}.log"
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise S3Unavailable(f"moto's server exited ({process.returncode}):\n{_tail(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            server.client().list_buckets()
            return server
        except Exception:
            time.sleep(0.1)
    server.stop()
    raise S3Unavailable(f"moto's server did not answer on port {port} within {timeout} s:\n{_tail(log_path)}")


def _tail(path: Path, size: int = 5000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return "(no log)"
