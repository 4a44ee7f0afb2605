"""Microbenchmark of the supervisors' report on a seeded history.

    python -m bench.report_speed [--conversations 100000] [--days 30] [--postgres]

Seeds `--conversations` conversations over `--days` days (`manage.py
seed_demo`, timed) on a fresh copy of the migrated SQLite database, or with
--postgres on a temporary PostgreSQL database (BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres; created, then dropped), and
prints the median wall time of three runs of `chat.reports.report` for the
whole period and for one day.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import time
from datetime import timedelta
from io import StringIO

from bench import local_django

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _timed(function, runs: int = 3) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    admin = name = None
    env = {}
    if args.postgres:
        import psycopg

        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
        name = f"cs_bench_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        work, _db, _agents = local_django.setup("report-speed-", DEBUG="1", **env)
        if args.postgres:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        run(args)
        from django.db import connections

        connections.close_all()
        shutil.rmtree(work)
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def run(args) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from chat.reports import report

    started = time.perf_counter()
    call_command(
        "seed_demo",
        "--conversations",
        str(args.conversations),
        "--days",
        str(args.days),
        "--seed",
        "1",
        "--force",
        stdout=StringIO(),
    )
    seeded = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    whole, whole_runs = _timed(lambda: report(since=today - timedelta(days=args.days), until=today))
    day, day_runs = _timed(lambda: report(since=today - timedelta(days=1), until=today))
    figures = report(since=today - timedelta(days=args.days), until=today)["totals"]
    print(f"{connection.vendor}: seeded {args.conversations} conversations in {seeded:.1f} s")
    print(f"  whole period ({figures['conversations']} conversations): {whole:.3f} s median of 3")
    print(f"  one day: {day:.3f} s median of 3")
    print("  runs:", ", ".join(f"{t:.3f}" for t in whole_runs), "|", ", ".join(f"{t:.3f}" for t in day_runs))


if __name__ == "__main__":
    main()
