"""What SQLITE_SYNCHRONOUS costs the message writer: one group commit at NORMAL and at FULL.

    python bench/sqlite_sync.py [--runs 7] [--commits 300] [--batches 1,10] [--dir DIR] [--json out.json]

The writer's own code on a fresh, migrated database file: `InlineStore.write`
(the usual batch: one insert of `batch` customer messages) and `commit`,
as the message writer runs them on the event loop, `commits` times per run.
Each run measures every (level, batch) once, in an order that alternates
from run to run, so that the machine's drift falls on all of them; the WAL
is checkpointed between measurements, as the writer's checkpoint thread
would. The summary gives, per (level, batch), the median over runs of the
mean time per commit, and of the time per message, with every run's value.

The database lives in `--dir` (default: a temporary directory beside the
project, on the disk a deployment would use: /tmp may be a RAM disk, where
an fsync costs nothing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cs_project.testing.database import migrate  # noqa: E402
from cs_project.testing.server import base_env  # noqa: E402

LEVELS = ("NORMAL", "FULL")


def prepare(db: Path) -> tuple[int, int]:
    """Migrate `db` and give it one customer with an open conversation: (customer, conversation)."""
    migrate(base_env(db))
    with sqlite3.connect(db) as conn:
        now = "2026-12-01 00:00:00"
        customer = conn.execute(
            "INSERT INTO customers_customer (name, email, created_at, token_key)"
            " VALUES ('Bench', '', ?, 'k')",
            (now,),
        ).lastrowid
        conversation = conn.execute(
            "INSERT INTO chat_conversation (status, created_at, queue_order, customer_id)"
            " VALUES ('queued', ?, 1, ?)",
            (now, customer),
        ).lastrowid
    return customer, conversation


def measure(db: Path, level: str, batch: int, commits: int, customer: int, conversation: int) -> float:
    """Mean seconds per group commit (write + commit) of `batch` messages at `level`."""
    from django.test import override_settings

    from chat.message_store import Draft
    from chat.message_store.inline import InlineStore

    with override_settings(SQLITE_SYNCHRONOUS=level):
        store = InlineStore(str(db))
    try:
        drafts = [Draft(conversation, "customer", "Bench", "x" * 40, None, customer_id=customer)] * batch
        started = time.perf_counter()
        for _ in range(commits):
            if store.write(drafts, []) is None:
                raise RuntimeError("the batch was not a usual one")
            store.commit()
        return (time.perf_counter() - started) / commits
    finally:
        store.close()
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def run(directory: Path, runs: int, commits: int, batches: list[int]) -> list[dict]:
    db = directory / "sync.sqlite3"
    customer, conversation = prepare(db)
    os.environ.update(base_env(db))
    import django

    django.setup()
    cases = list(itertools.product(LEVELS, batches))
    per_case: dict[tuple[str, int], list[float]] = {case: [] for case in cases}
    measure(db, "NORMAL", batches[0], commits, customer, conversation)  # warm-up, not counted
    for number in range(runs):
        order = cases if number % 2 == 0 else cases[::-1]
        for level, batch in order:
            per_case[level, batch].append(measure(db, level, batch, commits, customer, conversation))
    summary = []
    for level, batch in cases:
        values = per_case[level, batch]
        summary.append(
            {
                "level": level,
                "batch": batch,
                "commit_us": round(statistics.median(values) * 1e6, 1),
                "message_us": round(statistics.median(values) * 1e6 / batch, 1),
                "runs_commit_us": [round(v * 1e6, 1) for v in values],
            }
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--commits", type=int, default=300, help="group commits per measurement")
    parser.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10])
    parser.add_argument("--dir", type=Path, help="where the database file goes (default: beside the project)")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    args = parser.parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="bench-sqlite-sync-", dir=args.dir or ROOT))
    try:
        summary = run(directory, args.runs, args.commits, args.batches)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"{'level':<7} {'batch':>5} {'µs/commit':>10} {'µs/message':>11}  every run (µs/commit)")
    for row in summary:
        print(
            f"{row['level']:<7} {row['batch']:>5} {row['commit_us']:>10} {row['message_us']:>11}  "
            f"{row['runs_commit_us']}"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
