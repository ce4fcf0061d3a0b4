"""The benchmark harness runs end to end on a tiny mailbox, so it cannot rot unnoticed.

Not a performance test: only that every row of issue 9 is measured and printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = (
    "connect-to-synced",
    "full ingest",
    "incremental no-change resync",
    "push latency",
    "send,",
    "timeline read",
    "SQLite",
    "PostgreSQL",
    "idle capacity",
)


def test_quick_benchmark_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    for row in ROWS:
        assert row in table, f"{row!r} missing:\n{table}"
    assert "failed" not in table
