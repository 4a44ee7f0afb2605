"""Microbenchmark of the writer's usual batch: write and commit on the inline connection.

    python -m bench.writer_batch [--batches 2000] [--size 10] [--sender customer|agent|mixed]

On a fresh copy of the migrated database, with one active conversation per
draft of a batch, stores `--batches` batches of `--size` messages (each
with a client id; `--sender`: customers', agents', or every other one an
agent's) through `InlineStore.write` and `commit`, as the message writer
does on SQLite, and prints the median CPU time (process_time) per message
over five rounds (the WAL checkpointed between them). Run it in two
checkouts to compare them side by side.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import time

from bench import local_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--sender", choices=("customer", "agent", "mixed"), default="customer")
    args = parser.parse_args()
    work, db, agents = local_django.setup("writer-batch-")
    from chat.message_store import Draft
    from chat.message_store.inline import InlineStore

    conn = sqlite3.connect(db, isolation_level=None)
    ann = agents["ann"]["id"]
    pairs = []
    for i in range(args.size):
        customer = conn.execute(
            "INSERT INTO customers_customer (name, email, created_at, token_key) VALUES (?, '', ?, 'k')",
            (f"C{i}", "2026-12-01 10:00:00"),
        ).lastrowid
        conversation = conn.execute(
            "INSERT INTO chat_conversation (status, created_at, agent_id, customer_id)"
            " VALUES ('active', ?, ?, ?)",
            ("2026-12-01 10:00:00", ann, customer),
        ).lastrowid
        pairs.append((customer, conversation))
    store = InlineStore(str(db))
    rounds = []
    n = 0
    for _ in range(5):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as the writer's checkpoint thread does, untimed
        started = time.process_time()
        for _ in range(args.batches // 5):
            drafts = []
            for customer, conversation in pairs:
                n += 1
                if args.sender == "agent" or (args.sender == "mixed" and n % 2):
                    drafts.append(Draft(conversation, "agent", "Ann", f"message {n}", f"k-{n}", agent_id=ann))
                    continue
                drafts.append(
                    Draft(conversation, "customer", "C", f"message {n}", f"k-{n}", customer_id=customer)
                )
            outcomes = store.write(drafts, [])
            assert outcomes is not None
            store.commit()
        rounds.append((time.process_time() - started) / (args.batches // 5 * args.size))
    each = ", ".join(f"{r * 1e6:.2f}" for r in rounds)
    print(f"{statistics.median(rounds) * 1e6:.2f} µs per message (rounds: {each})")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
