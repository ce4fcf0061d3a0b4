"""Which distributed job engine runs inboxlink's production mode, decided by measurement.

For each candidate — procrastinate (PostgreSQL), dramatiq (Redis broker), taskiq (Redis
stream broker) — in one run: enqueue→start latency of a no-op job at an idle worker,
throughput of one worker draining a backlog, failover time after ``kill -9`` of the worker
running a long job, and whether two jobs for the same inbox ever overlap. Workers are
subprocesses (``bench/engine_worker.py``) started and killed by PID. Absolute times drift
between runs on a shared machine, so every row also gives each engine's ratio to
procrastinate, measured in the same run (docs/scale-out.md "Choosing the engine").

    .venv/bin/python -m bench.engines                  # full run, a few minutes
    .venv/bin/python -m bench.engines --quick          # tiny sizes, seconds (CI smoke run)
    .venv/bin/python -m bench.engines --engines procrastinate,dramatiq
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench.report import percentile, seconds

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("procrastinate", "dramatiq", "taskiq")
REFERENCE = "procrastinate"
MEASURES = ("latency", "throughput", "failover", "exclusivity")
#: A fresh worker needs a moment after "ready" to be polling/listening for real.
SETTLE_SECONDS = 1.5
#: procrastinate's fetch poll and dramatiq's idle backoff repeat within this; see failover().
PHASE_SECONDS = 5.0


@dataclass(frozen=True)
class Sizes:
    latency_jobs: int
    latency_gap: float  # the worker waits a random 0..gap s between jobs, so it is idle
    backlog: int
    concurrency: int
    failover_limit: float
    failover_rounds: int
    rounds: int  # exclusivity rounds: two jobs for one key each
    hold: float  # how long each of those jobs runs


FULL = Sizes(
    latency_jobs=200,
    latency_gap=0.5,
    backlog=2000,
    concurrency=10,
    failover_limit=90.0,
    failover_rounds=5,
    rounds=5,
    hold=1.0,
)
QUICK = Sizes(
    latency_jobs=10,
    latency_gap=0.1,
    backlog=100,
    concurrency=10,
    failover_limit=20.0,
    failover_rounds=1,
    rounds=1,
    hold=0.3,
)


class Lane(Protocol):
    """The producer side of one candidate, on its own database, namespace or stream."""

    def defer(self, tag: str, seconds: float = 0.0, key: str | None = None) -> None: ...

    def worker_config(self, concurrency: int) -> dict[str, Any]: ...


def open_lane(engine: str) -> AbstractContextManager[Lane]:
    opener: Callable[[], AbstractContextManager[Lane]] = importlib.import_module(
        f"bench.engine_{engine}"
    ).lane
    return opener()


# -- worker processes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    worker: str
    kind: str  # ready, started, finished
    tag: str
    at: float  # time.monotonic() in the worker


class Fleet:
    """The worker processes of one measurement and the events they report on stdout."""

    def __init__(self, engine: str, config: dict[str, Any]) -> None:
        self._command = [sys.executable, "-m", "bench.engine_worker", engine, json.dumps(config)]
        self._processes: dict[str, subprocess.Popen[str]] = {}
        self._incoming: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []

    def start(self, name: str) -> None:
        process = subprocess.Popen(self._command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self._processes[name] = process
        threading.Thread(target=self._read, args=(name, process), daemon=True).start()

    def _read(self, name: str, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            kind, tag, at = line.split()
            self._incoming.put(Event(name, kind, tag, float(at)))

    def kill(self, name: str) -> float:
        """``kill -9`` by PID, as a crash; returns when it happened on the workers' clock."""
        process = self._processes.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        killed = time.monotonic()
        process.wait()
        return killed

    def _next(self, deadline: float) -> Event | None:
        try:
            event = self._incoming.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            return None
        self.seen.append(event)
        return event

    def gather(self, match: Callable[[Event], bool], count: int, timeout: float) -> list[Event]:
        """The first ``count`` matching events, seen before or arriving within ``timeout``."""
        deadline = time.monotonic() + timeout
        found = [event for event in self.seen if match(event)][:count]
        while len(found) < count and time.monotonic() < deadline:
            event = self._next(deadline)
            if event is not None and match(event):
                found.append(event)
        return found

    def wait(self, match: Callable[[Event], bool], timeout: float) -> Event | None:
        found = self.gather(match, 1, timeout)
        return found[0] if found else None

    def need(self, match: Callable[[Event], bool], timeout: float, what: str) -> Event:
        event = self.wait(match, timeout)
        if event is None:
            raise TimeoutError(f"{what}: nothing within {timeout:.0f} s")
        return event

    def start_ready(self, *names: str) -> None:
        for name in names:
            self.start(name)
        for name in names:
            self.need(ready(name), 60, f"{name} ready")
        time.sleep(SETTLE_SECONDS)

    def close(self) -> None:
        for name in list(self._processes):
            self.kill(name)


@contextlib.contextmanager
def fleet(engine: str, lane: Lane, sizes: Sizes) -> Iterator[Fleet]:
    workers = Fleet(engine, lane.worker_config(sizes.concurrency))
    try:
        yield workers
    finally:
        workers.close()


def ready(worker: str) -> Callable[[Event], bool]:
    return lambda e: e.kind == "ready" and e.worker == worker


def started(tag: str, worker: str | None = None) -> Callable[[Event], bool]:
    return lambda e: e.kind == "started" and e.tag == tag and worker in (None, e.worker)


def finished(tag: str) -> Callable[[Event], bool]:
    return lambda e: e.kind == "finished" and e.tag == tag


# -- the four measurements ---------------------------------------------------------------------


@dataclass
class Figure:
    text: str
    number: float | None = None  # what the ratio is taken of; None: no ratio
    note: str = ""


def latency(engine: str, sizes: Sizes) -> list[Figure]:
    """Enqueue→start at an idle worker: how soon a new inbox or a send begins."""
    rng = random.Random(11)
    waits: list[float] = []
    with open_lane(engine) as lane, fleet(engine, lane, sizes) as workers:
        workers.start_ready("A")
        for n in range(sizes.latency_jobs):
            time.sleep(rng.uniform(0, sizes.latency_gap))
            sent = time.monotonic()
            lane.defer(f"lat{n}")
            waits.append(workers.need(started(f"lat{n}"), 30, f"lat{n}").at - sent)
    p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    return [Figure(seconds(p50), p50), Figure(seconds(p99), p99)]


def throughput(engine: str, sizes: Sizes) -> list[Figure]:
    """One worker drains a backlog queued before it started: first start → last finish."""
    with open_lane(engine) as lane, fleet(engine, lane, sizes) as workers:
        for n in range(sizes.backlog):
            lane.defer(f"job{n}")
        workers.start("A")
        first = workers.need(lambda e: e.kind == "started", 60, "first job")
        done = workers.gather(lambda e: e.kind == "finished", sizes.backlog, 300)
        if len(done) < sizes.backlog:
            raise TimeoutError(f"{len(done)} of {sizes.backlog} jobs finished within 300 s")
        took = max(event.at for event in done) - first.at
    rate = sizes.backlog / took
    return [Figure(f"{rate:,.0f} jobs/s", rate)]


def _failover_once(engine: str, sizes: Sizes, pause: float) -> float | None:
    with open_lane(engine) as lane, fleet(engine, lane, sizes) as workers:
        workers.start_ready("A")
        lane.defer("long", seconds=sizes.failover_limit + 60)
        workers.need(started("long", "A"), 30, "A takes the long job")
        workers.start_ready("B")
        time.sleep(pause)
        killed = workers.kill("A")
        again = workers.wait(started("long", "B"), sizes.failover_limit)
    return None if again is None else again.at - killed


def failover(engine: str, sizes: Sizes) -> list[Figure]:
    """``kill -9`` of the worker running a long job → the other worker starts it again.

    Repeated, with a random pause before the kill: where the kill falls between heartbeats,
    reconcile ticks and polls decides the time, and a fixed pause would always hit the same
    phase. A round that misses the limit ends the series (each would wait it out again)."""
    rng = random.Random(9)
    times: list[float] = []
    for _ in range(sizes.failover_rounds):
        took = _failover_once(engine, sizes, rng.uniform(0, PHASE_SECONDS))
        if took is None:
            return [Figure(f"not within {sizes.failover_limit:.0f} s", None)]
        times.append(took)
    middle = percentile(times, 0.5)
    spread = ", ".join(f"{t:.1f}" for t in times)
    return [Figure(f"{middle:.1f} s", middle, f"median of {len(times)}: {spread} s")]


def exclusivity(engine: str, sizes: Sizes) -> list[Figure]:
    """Two jobs for one inbox deferred at once, four workers waiting: do they overlap?"""
    overlapped = 0
    gaps: list[float] = []
    with open_lane(engine) as lane, fleet(engine, lane, sizes) as workers:
        workers.start_ready("W1", "W2", "W3", "W4")
        for n in range(sizes.rounds):
            pair = (f"x{n}a", f"x{n}b")
            for tag in pair:
                lane.defer(tag, seconds=sizes.hold, key=f"inbox:{n}")
            starts = [workers.need(started(t), 60, t).at for t in pair]
            ends = [workers.need(finished(t), 60, t).at for t in pair]
            overlapped += starts[0] < ends[1] and starts[1] < ends[0]
            gaps.append(max(starts) - min(ends))
    note = "" if overlapped else f"second job started {seconds(max(gaps))} after the first ended"
    return [Figure(f"{overlapped}/{sizes.rounds} rounds overlapped", None, note)]


@dataclass(frozen=True)
class Measure:
    name: str
    rows: tuple[str, ...]
    run: Callable[[str, Sizes], list[Figure]]
    lower_is_better: bool = True


def measures(sizes: Sizes) -> list[Measure]:
    return [
        Measure(
            "latency",
            (
                f"enqueue→start p50, {sizes.latency_jobs} no-op jobs, idle worker",
                f"enqueue→start p99, {sizes.latency_jobs} no-op jobs, idle worker",
            ),
            latency,
        ),
        Measure(
            "throughput",
            (f"throughput, {sizes.backlog:,} no-op jobs, 1 worker x {sizes.concurrency}",),
            throughput,
            lower_is_better=False,
        ),
        Measure("failover", ("failover, kill -9 → job restarted by the other worker",), failover),
        Measure(
            "exclusivity",
            (f"exclusivity, {sizes.rounds} x 2 jobs for one key, 4 workers",),
            exclusivity,
        ),
    ]


# -- running and the table ---------------------------------------------------------------------


@dataclass
class Results:
    engines: list[str]
    rows: dict[str, dict[str, Figure]] = field(default_factory=dict)
    better: dict[str, bool] = field(default_factory=dict)  # row → lower is better


def _failed(row_count: int, exc: BaseException) -> list[Figure]:
    traceback.print_exception(exc, file=sys.stderr)
    return [Figure("failed", None, repr(exc)[:200])] * row_count


def run(sizes: Sizes, engines: list[str], only: set[str]) -> Results:
    results = Results(engines)
    for measure in (m for m in measures(sizes) if m.name in only):
        for engine in engines:
            began = time.perf_counter()
            try:
                figures = measure.run(engine, sizes)
            except Exception as exc:  # one broken cell must not hide the others
                figures = _failed(len(measure.rows), exc)
            took = time.perf_counter() - began
            print(f"[engines] {engine}: {measure.rows[0]}: {took:.1f} s", file=sys.stderr)
            for row, figure in zip(measure.rows, figures, strict=True):
                results.rows.setdefault(row, {})[engine] = figure
                results.better[row] = measure.lower_is_better
    return results


def ratio(figure: Figure, reference: Figure | None) -> str:
    if figure.number is None or reference is None or not reference.number:
        return "—"
    return f"{figure.number / reference.number:.2f}x"


def table(results: Results) -> str:
    others = [e for e in results.engines if e != REFERENCE]
    head = ["measure", *results.engines, *(f"{e}/{REFERENCE}" for e in others), "better"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes: list[str] = []
    for row, cells in results.rows.items():
        reference = cells.get(REFERENCE)
        values = [cells[e].text for e in results.engines]
        ratios = [ratio(cells[e], reference) for e in others]
        better = "lower" if results.better[row] else "higher"
        lines.append("| " + " | ".join([row, *values, *ratios, better]) + " |")
        notes += [f"- {row}, {e}: {cells[e].note}" for e in results.engines if cells[e].note]
    return "\n".join(lines + (["", *notes] if notes else []))


def _names(listed: str) -> list[str]:
    return [name.strip() for name in listed.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of candidates")
    parser.add_argument("--only", default=",".join(MEASURES), help=", ".join(MEASURES))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    began = time.perf_counter()
    results = run(sizes, _names(args.engines), set(_names(args.only)))
    print(
        f"\njob engines, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{time.perf_counter() - began:.0f} s\n"
    )
    print(table(results))
    failed = any(f.text == "failed" for cells in results.rows.values() for f in cells.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
