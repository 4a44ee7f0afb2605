"""The scenarios: each starts its own server, drives it with Node workers and
returns its report (a dict, written as JSON with --json).

Every scenario is a function `(kind, args, placement) -> dict`: `kind` is
"daphne" or "uvicorn", `args` the parsed command line.
"""

from __future__ import annotations

import json
import time

from bench.load import collect, go_on, reach, workers
from bench.report import direction, latency_stats
from bench.servers import Placement, Server


def make_server(kind: str, agents: int, capacity: int, args, placement: Placement) -> Server:
    return Server(kind, agents, capacity, placement, postgres=args.postgres, processes=args.processes)


def run_chat(
    kind: str, args, placement: Placement, conversations: int, rate: float, duration: float, agents: int
) -> dict:
    """`conversations` chats, `rate` messages per second in each (half each way)."""
    capacity = -(-conversations // agents)
    server = make_server(kind, agents, capacity, args, placement)
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
        procs = workers(configs, placement)
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
        "c2a": direction(results, "c2a"),
        "a2c": direction(results, "a2c"),
    }
    acked_total = report["c2a"]["acked"] + report["a2c"]["acked"]
    held = sum(r["held"] for r in results)
    report.update(
        duration_s=duration,
        offered_msgs_per_s=round(conversations * rate, 1),
        stored_msgs_per_s=round(acked_total / duration, 1),
        delivered_msgs_per_s=round((report["c2a"]["received"] + report["a2c"]["received"]) / duration, 1),
        stored_rows=stored,
        errors=sum(r["errors"] for r in results),
        connections_held=held,
        server_cpu_percent=round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        server_rss_mb=round(rss / 1024, 1),
        server_rss_kb_per_connection=round(rss / max(1, held), 1),
        generator_cpu_percent=round(100 * sum(r["cpu_s"] for r in results) / (duration + 3), 1),
        generator_processes=len(results),
    )
    return report


def steady(kind: str, args, placement: Placement) -> dict:
    conversations = args.conversations or 1000
    # One agent per conversation: 2,000 sockets for 1,000 chats, as the
    # scenario is written. (Their set-up takes a minute or two: each login and
    # each assignment is a roster update to every agent.)
    agents = args.agents or conversations
    report = run_chat(kind, args, placement, conversations, args.rate or 1.0, args.duration or 60, agents)
    report["scenario"] = "steady"
    return report


def saturate(kind: str, args, placement: Placement) -> dict:
    """Raise the total rate until customer-to-agent p99 passes 50 ms."""
    conversations = args.conversations or 1000
    steps = []
    best = None
    for total in args.steps or [1000, 1500, 2000, 2500, 3000, 3500, 4000]:
        step = run_chat(
            kind,
            args,
            placement,
            conversations,
            total / conversations,
            args.duration or 15,
            args.agents or 10,
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


def connections(kind: str, args, placement: Placement) -> dict:
    server = make_server(kind, 1, 1, args, placement)
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
            new = workers(configs, placement)
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


def join_storm(kind: str, args, placement: Placement) -> dict:
    count = args.conversations or 1000
    agents, capacity = 10, 50
    server = make_server(kind, agents, capacity, args, placement)
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
            ],
            placement,
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
            ],
            placement,
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
