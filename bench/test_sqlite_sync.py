"""Keep bench/sqlite_sync.py working: a tiny run reports every case (no speed asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sqlite_sync_reports_every_level_and_batch(tmp_path):
    out = tmp_path / "sync.json"
    subprocess.run(
        [sys.executable, "bench/sqlite_sync.py", "--runs", "2", "--commits", "3", "--json", str(out)],
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )
    summary = json.loads(out.read_text())
    assert [(row["level"], row["batch"]) for row in summary] == [
        ("NORMAL", 1),
        ("NORMAL", 10),
        ("FULL", 1),
        ("FULL", 10),
    ]
    for row in summary:
        assert len(row["runs_commit_us"]) == 2 and all(v > 0 for v in row["runs_commit_us"])
