"""What a run reports: latency percentiles, the figures of each direction of
a chat, each scenario's headline figure and the table printed after a run."""

from __future__ import annotations


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


def direction(results: list[dict], name: str) -> dict:
    """Messages one way ("c2a" or "a2c") over every worker's results:
    acknowledged, received, lost (acked, never received), duplicated, latency."""
    acked = [cid for r in results for cid in r["acked"][name]]
    got = [cid for r in results for cid, _ in r["received"][name]]
    latencies = [ms for r in results for _, ms in r["received"][name]]
    seen: dict[str, int] = {}
    for cid in got:
        seen[cid] = seen.get(cid, 0) + 1
    return {
        "acked": len(acked),
        "received": len(got),
        "lost": len(set(acked) - set(seen)),
        "duplicated": sum(1 for n in seen.values() if n > 1),
        "latency_ms": latency_stats(latencies),
    }


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
        for way, label in (("c2a", "customer→agent"), ("a2c", "agent→customer")):
            lat = report[way]["latency_ms"]
            rows.append(
                (f"{label} p50/p90/p99/max ms", f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']}")
            )
            rows.append(
                (f"{label} lost / duplicated", f"{report[way]['lost']} / {report[way]['duplicated']}")
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
