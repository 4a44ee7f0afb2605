"""The load generator: Node processes running bench/loadgen.mjs (the official
socket.io-client), and the runner's side of their exchange.

Each worker gets its configuration as JSON on its command line, prints one
JSON line when it reaches a phase ("agents" logged in, "customers" joined),
waits for a JSON line on stdin to go on, and prints its results at the end.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

from bench.servers import Placement
from cs_project.testing.server import ROOT

NODE = shutil.which("node") or "node"

# Each worker binds its sockets to addresses of a block of its own (127.N.0.0/16):
# the server's per-address limits stay on, as for visitors from many networks.
_address_blocks = itertools.count()


def workers(configs: list[dict], placement: Placement) -> list[subprocess.Popen]:
    """One worker per configuration, on the generator's CPUs."""
    return [
        subprocess.Popen(
            [
                NODE,
                str(ROOT / "bench" / "loadgen.mjs"),
                json.dumps({**c, "address_block": next(_address_blocks) % 250}),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=placement.generator(),
        )
        for c in configs
    ]


def reach(procs: list[subprocess.Popen], phase: str) -> None:
    """Wait until every chat worker reached `phase`."""
    for proc in procs:
        line = proc.stdout.readline()
        if not line or json.loads(line).get("phase") != phase:
            raise RuntimeError(f"load worker failed before {phase!r}: {line!r}")


def go_on(procs: list[subprocess.Popen], answer: dict) -> None:
    for proc in procs:
        proc.stdin.write(json.dumps(answer) + "\n")
        proc.stdin.flush()


def collect(procs: list[subprocess.Popen], timeout: float) -> list[dict]:
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"load worker failed ({proc.returncode})")
        results.append(json.loads(out))
    return results
