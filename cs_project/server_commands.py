"""The command lines that start the ASGI server, kept in one place.

Daphne as `make run` starts it (through cs_project.daphne_server), uvicorn
as deploy/serve does; the live tests and the benchmark both start servers
from here, so what they measure and test is what is deployed. Nothing here
imports Django: the benchmark loads it before any settings exist.
"""

from __future__ import annotations

import sys

APPLICATION = "cs_project.asgi:application"


def server_command(kind: str, port: int, *, log_level: str | None = None) -> list[str]:
    """Argv for `kind` ("daphne" or "uvicorn") on 127.0.0.1:`port`.

    `log_level` sets uvicorn's log threshold (the benchmark keeps warnings
    only); Daphne keeps its own.
    """
    if kind == "daphne":
        return [
            sys.executable, "-m", "cs_project.daphne_server", "-b", "127.0.0.1", "-p", str(port),
            APPLICATION,
        ]  # fmt: skip
    if kind == "uvicorn":
        quiet = ["--log-level", log_level] if log_level else []
        return [
            sys.executable, "-m", "cs_project.uvicorn_server", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
            *quiet, "--no-access-log", APPLICATION,
        ]  # fmt: skip
    raise ValueError(f"unknown server {kind!r}")
