"""One bench worker process: runs a candidate engine's worker and reports every job on stdout.

``bench/engines.py`` starts these as subprocesses and kills them by PID, so ``kill -9`` takes
the whole worker down at once, as a crash would. Jobs write one line per event
(``started <tag> <clock>``, ``finished <tag> <clock>``): stdout needs nothing from any engine,
and Linux's monotonic clock is one clock for every process, so times compare across them.

    python -m bench.engine_worker <engine> '<json config>'
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
import time

_write = threading.Lock()  # dramatiq runs jobs in threads: one line must not cut another


def report(event: str, tag: str) -> None:
    line = f"{event} {tag} {time.monotonic():.6f}\n"
    with _write:
        sys.stdout.write(line)
        sys.stdout.flush()


async def run_job(tag: str, seconds: float = 0.0) -> None:
    """The bench job for asyncio engines: a no-op, or a stand-in for a long inbox session."""
    report("started", tag)
    await asyncio.sleep(seconds)
    report("finished", tag)


def run_job_sync(tag: str, seconds: float = 0.0) -> None:
    """The same job for thread-based engines (dramatiq)."""
    report("started", tag)
    if seconds:
        time.sleep(seconds)
    report("finished", tag)


def main() -> None:
    engine, config = sys.argv[1], json.loads(sys.argv[2])
    importlib.import_module(f"bench.engine_{engine}").work(config)


if __name__ == "__main__":
    main()
