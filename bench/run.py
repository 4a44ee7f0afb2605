"""Run a benchmark scenario against a server this script starts itself.

    python bench/run.py steady      [--server daphne|uvicorn] [--runs 3] [--json out.json]
    python bench/run.py saturate    [--server ...]
    python bench/run.py connections [--server ...]
    python bench/run.py join-storm  [--server ...]

Each run gets a fresh database (SQLite, or PostgreSQL with --postgres) and
fresh server processes (one, or --processes N sharing Redis; production
settings: DEBUG off), agents made for the run, and load from Node workers
(bench/loadgen.mjs, the official socket.io-client) spread over several
processes so that the generator is not the bottleneck; its own CPU is
reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script from anywhere: the benchmark and the server's command line are the project's own.
sys.path.insert(0, str(ROOT))
from bench.report import HEADLINE, table  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402
from bench.servers import Placement  # noqa: E402


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--server", choices=["daphne", "uvicorn", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--duration", type=float, help="seconds of load (per step for saturate)")
    parser.add_argument("--conversations", type=int, help="conversations (customers for join-storm)")
    parser.add_argument(
        "--agents", type=int, help="agents sharing the conversations (steady: one each; saturate: 10)"
    )
    parser.add_argument("--rate", type=float, help="steady: messages per second per conversation")
    parser.add_argument(
        "--steps", type=lambda s: [int(x) for x in s.split(",")], help="saturate: total rates"
    )
    parser.add_argument(
        "--targets", type=lambda s: [int(x) for x in s.split(",")], help="connections: socket counts"
    )
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database per run")
    parser.add_argument("--processes", type=int, default=1, help="server processes (more than one: Redis)")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the scheduler place the server and the generator (default: a CPU per server process)",
    )
    parser.add_argument("--json", type=Path, help="write every run's report here")
    args = parser.parse_args(argv)
    placement = Placement(args.pin, args.processes)
    raise_open_files()
    kinds = ["daphne", "uvicorn"] if args.server == "both" else [args.server]
    reports = []
    for kind in kinds:
        runs = []
        for i in range(args.runs):
            where = (
                f", server on CPU {sorted(placement.server_cpus[0])[0]}, generator on the rest"
                if placement.pinned and args.processes == 1
                else ""
            )
            print(f"{args.scenario} on {kind}, run {i + 1}/{args.runs}{where}", flush=True)
            report = SCENARIOS[args.scenario](kind, args, placement)
            print(table(report), flush=True)
            runs.append(report)
        headline = [HEADLINE[args.scenario](r) for r in runs]
        summary = {
            "scenario": args.scenario,
            "server": kind,
            "runs": runs,
            "median": statistics.median(headline),
        }
        print(
            f"{args.scenario} on {kind}: median headline {summary['median']} over {len(runs)} run(s)\n",
            flush=True,
        )
        summary["pinned"] = placement.pinned
        reports.append(summary)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
