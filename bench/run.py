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
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script from anywhere: the server's command line is the project's own.
sys.path.insert(0, str(ROOT))
from cs_project.server_commands import server_command  # noqa: E402

PYTHON = sys.executable
NODE = shutil.which("node") or "node"
TICK = os.sysconf("SC_CLK_TCK")

MAKE_AGENTS = """
import json, sys
import django
django.setup()
from agents.services import agent_create
count, capacity = int(sys.argv[1]), int(sys.argv[2])
tokens = [agent_create(username=f"bench{i}", password=None, display_name=f"Bench {i}", capacity=capacity,
                       skills=[], supervisor=False)[1] for i in range(count)]
print(json.dumps(tokens))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


PLACEMENT = Placement(pin=False, processes=1)  # set by main()


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# Where --postgres makes a fresh database per run, and where several
# processes meet (--processes N needs Redis).
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Server:
    """Server processes on a fresh database, with /proc sampling.

    SQLite by default; `postgres` makes a new PostgreSQL database for the run
    and drops it after. Several `processes` share the database and Redis (the
    Socket.IO manager and the channel layer), each on its own port.
    """

    def __init__(self, kind: str, agents: int, capacity: int, postgres: bool = False, processes: int = 1):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-"))
        self.db = self.dir / "db.sqlite3"
        self.pg_name = None
        env = {**os.environ, "SQLITE_PATH": str(self.db), "PYTHONPATH": str(ROOT)}
        env["DJANGO_SETTINGS_MODULE"] = "cs_project.settings"
        env.update(DEBUG="0", SECRET_KEY="bench-only-secret-key", LOG_LEVEL="ERROR", SERVE_STATIC="0")
        env.setdefault("CUSTOMER_RATE_BURST", "100000")
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
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run(
            [PYTHON, "-c", MAKE_AGENTS, str(agents), str(capacity)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.tokens = json.loads(out.stdout.strip().splitlines()[-1])
        self.log = open(self.dir / "server.log", "wb")  # closed in stop()
        self.processes: list[subprocess.Popen] = []
        self.urls: list[str] = []
        for index in range(processes):
            port = free_port()
            self.processes.append(
                subprocess.Popen(
                    server_command(kind, port, log_level="warning"),
                    cwd=ROOT,
                    env=env,
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=PLACEMENT.server(index),
                )
            )
            self.urls.append(f"http://127.0.0.1:{port}")
            self._wait_listening(port, self.processes[-1])
        self.url = self.urls[0]

    def _wait_listening(self, port: int, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not start")

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
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()
        if self.pg_name is not None:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


def workers(configs: list[dict]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [NODE, str(ROOT / "bench" / "loadgen.mjs"), json.dumps(c)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=PLACEMENT.generator(),
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


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 2)


def latency_stats(values: list[float]) -> dict:
    return {
        "p50": percentile(values, 0.50),
        "p90": percentile(values, 0.90),
        "p99": percentile(values, 0.99),
        "max": round(max(values), 2) if values else None,
        "count": len(values),
    }


# --- scenarios ------------------------------------------------------------------


def make_server(kind: str, agents: int, capacity: int, args) -> Server:
    return Server(kind, agents, capacity, postgres=args.postgres, processes=args.processes)


def run_chat(kind: str, args, conversations: int, rate: float, duration: float, agents: int) -> dict:
    """`conversations` chats, `rate` messages per second in each (half each way)."""
    capacity = -(-conversations // agents)
    server = make_server(kind, agents, capacity, args)
    try:
        n_workers = max(args.processes, min(4, conversations // 250))
        configs = []
        for w in range(n_workers):
            configs.append(
                {
                    "mode": "chat",
                    "url": server.url_for(w),
                    "prefix": f"w{w}",
                    "agent_tokens": server.tokens[w::n_workers],
                    "customers": conversations // n_workers + (1 if w < conversations % n_workers else 0),
                    "rate_per_conversation": rate,
                    "drain_ms": 3000,
                }
            )
        procs = workers(configs)
        # Set-up takes what it takes (a thousand agents' logins are a roster
        # update to every agent each); the measured window starts after it.
        reach(procs, "agents")
        go_on(procs, {})
        reach(procs, "customers")
        # Agents hear of their last customers after the joins are acknowledged.
        time.sleep(3)
        start_at = time.time() * 1000 + 1000
        end_at = start_at + duration * 1000
        go_on(procs, {"start_at": start_at, "end_at": end_at})
        time.sleep(max(0, start_at / 1000 - time.time()))
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        time.sleep(max(0, end_at / 1000 - time.time()))
        cpu1, t1 = server.cpu_seconds(), time.monotonic()
        rss = server.rss_kb()
        results = collect(procs, timeout=120 + duration)
        stored = server.scalar("select count(*) from chat_message where sender != 'system'")
    finally:
        server.stop()
    report = {
        "scenario": "chat",
        "server": kind,
        "database": server.database,
        "processes": len(server.processes),
        "conversations": conversations,
        "agents": agents,
        "rate_per_conversation": rate,
    }
    for direction in ("c2a", "a2c"):
        acked = [cid for r in results for cid in r["acked"][direction]]
        got = [cid for r in results for cid, _ in r["received"][direction]]
        latencies = [ms for r in results for _, ms in r["received"][direction]]
        seen: dict[str, int] = {}
        for cid in got:
            seen[cid] = seen.get(cid, 0) + 1
        report[direction] = {
            "acked": len(acked),
            "received": len(got),
            "lost": len(set(acked) - set(seen)),
            "duplicated": sum(1 for n in seen.values() if n > 1),
            "latency_ms": latency_stats(latencies),
        }
    acked_total = report["c2a"]["acked"] + report["a2c"]["acked"]
    report.update(
        duration_s=duration,
        offered_msgs_per_s=round(conversations * rate, 1),
        stored_msgs_per_s=round(acked_total / duration, 1),
        delivered_msgs_per_s=round((report["c2a"]["received"] + report["a2c"]["received"]) / duration, 1),
        stored_rows=stored,
        errors=sum(r["errors"] for r in results),
        connections_held=sum(r["held"] for r in results),
        server_cpu_percent=round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        server_rss_mb=round(rss / 1024, 1),
        server_rss_kb_per_connection=round(rss / max(1, sum(r["held"] for r in results)), 1),
        generator_cpu_percent=round(100 * sum(r["cpu_s"] for r in results) / (duration + 3), 1),
        generator_processes=len(results),
    )
    return report


def steady(kind: str, args) -> dict:
    conversations = args.conversations or 1000
    # One agent per conversation: 2,000 sockets for 1,000 chats, as the
    # scenario is written. (Their set-up takes a minute or two: each login and
    # each assignment is a roster update to every agent.)
    agents = args.agents or conversations
    report = run_chat(kind, args, conversations, args.rate or 1.0, args.duration or 60, agents)
    report["scenario"] = "steady"
    return report


def saturate(kind: str, args) -> dict:
    """Raise the total rate until customer-to-agent p99 passes 50 ms."""
    conversations = args.conversations or 1000
    steps = []
    best = None
    for total in args.steps or [1000, 1500, 2000, 2500, 3000, 3500, 4000]:
        step = run_chat(
            kind, args, conversations, total / conversations, args.duration or 15, args.agents or 10
        )
        p99 = step["c2a"]["latency_ms"]["p99"]
        steps.append(step)
        print(
            f"  {kind} {total} msg/s offered: stored {step['stored_msgs_per_s']}/s, c2a p99 {p99} ms",
            flush=True,
        )
        if p99 is None or p99 > 50 or step["c2a"]["lost"] or step["a2c"]["lost"]:
            break
        best = step
    return {
        "scenario": "saturate",
        "server": kind,
        "best_msgs_per_s_under_50ms_p99": best["stored_msgs_per_s"] if best else 0,
        "steps": steps,
    }


def connections(kind: str, args) -> dict:
    server = make_server(kind, 1, 1, args)
    marks = {}
    try:
        time.sleep(1)
        base = server.rss_kb()
        held, procs = 0, []
        for target in args.targets or [5000, 10000]:
            need = target - held
            per = 2500
            configs = [
                {
                    "mode": "idle",
                    "url": server.url_for(i // per),
                    "count": min(per, need - i),
                    "hold_ms": 600_000,
                }
                for i in range(0, need, per)
            ]
            new = workers(configs)
            for proc in new:
                line = proc.stdout.readline()
                held += json.loads(line)["held"]
            procs += new
            time.sleep(2)
            rss = server.rss_kb()
            marks[target] = {
                "held": held,
                "rss_mb": round(rss / 1024, 1),
                "kb_per_socket": round((rss - base) / max(1, held), 2),
            }
            print(
                f"  {kind}: {held} sockets, RSS {rss / 1024:.0f} MB, {marks[target]['kb_per_socket']} KB each"
            )
        for proc in procs:
            proc.kill()
    finally:
        server.stop()
    return {
        "scenario": "connections",
        "server": kind,
        "baseline_rss_mb": round(base / 1024, 1),
        "marks": marks,
    }


def join_storm(kind: str, args) -> dict:
    count = args.conversations or 1000
    agents, capacity = 10, 50
    server = make_server(kind, agents, capacity, args)
    try:
        # The agents log in first (they must hold a socket to be given customers).
        hold = workers(
            [
                {
                    "mode": "chat",
                    "url": server.url,
                    "prefix": "agents",
                    "agent_tokens": server.tokens,
                    "customers": 0,
                    "rate_per_conversation": 0,
                    "drain_ms": 0,
                }
            ]
        )
        reach(hold, "agents")
        go_on(hold, {})
        reach(hold, "customers")
        start_at = time.time() * 1000 + 2000 + count * 3
        go_on(hold, {"start_at": start_at, "end_at": start_at + 60_000})
        n_workers = 4
        procs = workers(
            [
                {"mode": "join", "url": server.url_for(w), "prefix": f"j{w}",
                 "count": count // n_workers + (1 if w < count % n_workers else 0),
                 "within_ms": 1000, "start_at": start_at}
                for w in range(n_workers)
            ]
        )  # fmt: skip
        results = [r for out in collect(procs, timeout=120) for r in out["results"]]
        for proc in hold:
            proc.kill()
        queued = server.scalar("select count(*) from chat_conversation where status='queued'")
        active = server.scalar("select count(*) from chat_conversation where status='active'")
    finally:
        server.stop()
    positions = sorted(r["position"] for r in results if r["status"] == "queued")
    last = max(r["done_at"] for r in results)
    return {
        "scenario": "join-storm",
        "server": kind,
        "customers": len(results),
        "all_placed_after_s": round((last - start_at) / 1000, 3),
        "join_ack_ms": latency_stats([r["ms"] for r in results]),
        "active": active,
        "queued": queued,
        "positions_correct": positions == list(range(1, len(positions) + 1)) and len(positions) == queued,
        "failed": sum(1 for r in results if not r["ok"]),
    }


SCENARIOS = {"steady": steady, "saturate": saturate, "connections": connections, "join-storm": join_storm}

# The figure each scenario is judged by, for medians over runs.
HEADLINE = {
    "steady": lambda r: r["c2a"]["latency_ms"]["p99"],
    "saturate": lambda r: r["best_msgs_per_s_under_50ms_p99"],
    "connections": lambda r: max(r["marks"].values(), key=lambda m: m["held"])["kb_per_socket"],
    "join-storm": lambda r: r["all_placed_after_s"],
}


def table(report: dict) -> str:
    if report["scenario"] in ("steady", "chat"):
        rows = [
            ("offered msg/s", report["offered_msgs_per_s"]),
            ("stored msg/s", report["stored_msgs_per_s"]),
            ("delivered msg/s", report["delivered_msgs_per_s"]),
        ]
        for direction, label in (("c2a", "customer→agent"), ("a2c", "agent→customer")):
            lat = report[direction]["latency_ms"]
            rows.append(
                (f"{label} p50/p90/p99/max ms", f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']}")
            )
            rows.append(
                (
                    f"{label} lost / duplicated",
                    f"{report[direction]['lost']} / {report[direction]['duplicated']}",
                )
            )
        rows += [
            ("connections held", report["connections_held"]),
            ("server CPU %", report["server_cpu_percent"]),
            (
                "server RSS MB (KB per connection)",
                f"{report['server_rss_mb']} ({report['server_rss_kb_per_connection']})",
            ),
            (
                "generator CPU % (processes)",
                f"{report['generator_cpu_percent']} ({report['generator_processes']})",
            ),
        ]
    elif report["scenario"] == "saturate":
        rows = [("best msg/s with p99 < 50 ms", report["best_msgs_per_s_under_50ms_p99"])]
        for step in report["steps"]:
            lat = step["c2a"]["latency_ms"]
            lost = step["c2a"]["lost"] + step["a2c"]["lost"]
            cpu = step["server_cpu_percent"]
            figures = f"stored {step['stored_msgs_per_s']}/s, p99 {lat['p99']} ms, CPU {cpu}%"
            rows.append((f"offered {step['offered_msgs_per_s']}", f"{figures}, lost {lost}"))
    elif report["scenario"] == "connections":
        rows = [("baseline RSS MB", report["baseline_rss_mb"])]
        rows += [(f"{n} sockets", f"held {m['held']}, RSS {m['rss_mb']} MB, {m['kb_per_socket']} KB/socket")
                 for n, m in report["marks"].items()]  # fmt: skip
    else:
        rows = [
            (k, report[k])
            for k in ("customers", "all_placed_after_s", "active", "queued", "positions_correct", "failed")
        ]
        ack = report["join_ack_ms"]
        rows.append(("join ack ms p50/p99/max", f"{ack['p50']} / {ack['p99']} / {ack['max']}"))
    width = max(len(str(k)) for k, _ in rows)
    return "\n".join(f"  {str(k).ljust(width)}  {v}" for k, v in rows)


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
    global PLACEMENT
    PLACEMENT = Placement(args.pin, args.processes)
    raise_open_files()
    kinds = ["daphne", "uvicorn"] if args.server == "both" else [args.server]
    reports = []
    for kind in kinds:
        runs = []
        for i in range(args.runs):
            where = (
                f", server on CPU {sorted(PLACEMENT.server_cpus[0])[0]}, generator on the rest"
                if PLACEMENT.pinned and args.processes == 1
                else ""
            )
            print(f"{args.scenario} on {kind}, run {i + 1}/{args.runs}{where}", flush=True)
            report = SCENARIOS[args.scenario](kind, args)
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
        summary["pinned"] = PLACEMENT.pinned
        reports.append(summary)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
