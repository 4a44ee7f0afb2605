"""Keep the benchmark working: every scenario, a few seconds, small numbers.

No thresholds on speed here (machines are shared and noisy); only that each
scenario completes, loses and duplicates nothing, and reports its fields.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("node") is None, reason="the load generator needs Node.js"),
]


def bench(tmp_path, *args) -> list[dict]:
    out = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "bench/run.py", *args, "--server", "daphne", "--json", str(out)],
        cwd=ROOT,
        check=True,
        timeout=240,
    )
    return json.loads(out.read_text())


def test_steady(tmp_path):
    [summary] = bench(tmp_path, "steady", "--conversations", "20", "--duration", "2", "--runs", "2")
    assert len(summary["runs"]) == 2 and summary["median"] is not None
    for run in summary["runs"]:
        for direction in ("c2a", "a2c"):
            assert run[direction]["acked"] > 0
            assert run[direction]["lost"] == 0 and run[direction]["duplicated"] == 0
            assert set(run[direction]["latency_ms"]) == {"p50", "p90", "p99", "max", "count"}
        assert run["stored_rows"] >= run["c2a"]["acked"] + run["a2c"]["acked"]
        assert run["connections_held"] == 40  # 20 customers and one agent each
        assert run["server_cpu_percent"] > 0 and run["generator_cpu_percent"] >= 0


def test_saturate(tmp_path):
    [summary] = bench(tmp_path, "saturate", "--conversations", "20", "--duration", "2", "--steps", "20,40")
    run = summary["runs"][0]
    assert 1 <= len(run["steps"]) <= 2
    assert all(step["c2a"]["lost"] == 0 for step in run["steps"])


def test_connections(tmp_path):
    [summary] = bench(tmp_path, "connections", "--targets", "100,200")
    marks = summary["runs"][0]["marks"]
    assert [marks[k]["held"] for k in ("100", "200")] == [100, 200]


def test_join_storm(tmp_path):
    [summary] = bench(tmp_path, "join-storm", "--conversations", "40")
    run = summary["runs"][0]
    assert run["customers"] == 40 and run["failed"] == 0
    assert run["positions_correct"] and run["active"] + run["queued"] == 40


def _postgres_and_redis_or_skip() -> None:
    psycopg = pytest.importorskip("psycopg")
    redis = pytest.importorskip("redis")
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {error}")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {error}")


def test_steady_on_postgres_and_two_processes(tmp_path):
    _postgres_and_redis_or_skip()
    [summary] = bench(
        tmp_path, "steady", "--conversations", "20", "--agents", "4", "--duration", "2", "--postgres",
        "--processes", "2",
    )  # fmt: skip
    run = summary["runs"][0]
    assert run["database"] == "postgresql" and run["processes"] == 2
    for direction in ("c2a", "a2c"):
        assert run[direction]["acked"] > 0
        assert run[direction]["lost"] == 0 and run[direction]["duplicated"] == 0
    assert run["stored_rows"] >= run["c2a"]["acked"] + run["a2c"]["acked"]
    assert run["connections_held"] == 24
