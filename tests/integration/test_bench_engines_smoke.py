"""The job-engine benchmark runs end to end, so docs/scale-out.md's figures stay reproducible.

Not a performance test. procrastinate only, without the failover row: a failover waits out
the 5 s stall on purpose and dramatiq's and taskiq's rows are slower still, which a CI run
cannot afford on every change (``python -m bench.engines --quick`` runs everything).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = ("enqueue→start p50", "enqueue→start p99", "throughput", "exclusivity")


def test_quick_engine_benchmark_measures_procrastinate() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.engines",
            "--quick",
            "--engines",
            "procrastinate",
            "--only",
            "latency,throughput,exclusivity",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in rows), f"{row!r} missing:\n{done.stdout}"
    assert "failed" not in done.stdout
    exclusivity = next(line for line in rows if line.startswith("| exclusivity"))
    assert "| 0/1 rounds overlapped |" in exclusivity, exclusivity
