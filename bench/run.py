"""The inboxlink benchmark harness (issue 9): every row with its reference, in one run.

Starts its own Dovecot, Postfix and inboxlink processes on loopback, writes the workload
mailbox (bench/mailbox.py) and prints a Markdown table of absolute times, ratios against the
reference measured in the same run, and the targets. Not a test: ``make bench`` runs it.

    .venv/bin/python -m bench.run                # full run (~10 min on 2 cores)
    .venv/bin/python -m bench.run --quick        # tiny sizes, seconds (the CI smoke run)
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.lab import Lab
from bench.live_rows import idle_capacity, push_latency, send_rate
from bench.mailbox import write_mailbox
from bench.report import Row, table
from bench.resync import resync_rows
from bench.sync_rows import connect_to_synced, full_ingest, references
from bench.timeline import timeline_rows

ROWS = ("connect", "ingest", "resync", "push", "send", "timeline", "idle")


@dataclass(frozen=True)
class Sizes:
    messages: int
    resync: tuple[int, int]
    push: int
    send: int
    timeline: int
    reads: int
    idle: int
    idle_window: float


FULL = Sizes(20_000, (20_000, 100_000), 200, 500, 1_000_000, 300, 1000, 30.0)
QUICK = Sizes(200, (100, 500), 3, 3, 500, 20, 3, 1.0)


def _failed(name: str, exc: BaseException) -> Row:
    traceback.print_exception(exc, file=sys.stderr)
    return Row(name, "failed", "—", "—", "—", None, note=f"{name}: {exc!r}"[:300])


def run(sizes: Sizes, only: set[str]) -> list[Row]:
    rows: list[Row] = []

    def attempt(name: str, make: Callable[[], list[Row]]) -> None:
        if name not in only:
            return
        started = time.perf_counter()
        try:
            rows.extend(make())
        except Exception as exc:  # one broken row must not hide the others
            rows.append(_failed(name, exc))
        print(f"[bench] {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    with Lab() as lab:
        if {"connect", "ingest"} & only:
            owner = lab.user("owner")
            workload = write_mailbox(lab.dovecot, owner, sizes.messages)
            refs = references(lab, workload)
            timeout = 60 + sizes.messages / 20
            attempt("connect", lambda: [connect_to_synced(lab, workload, refs, timeout)])
            attempt("ingest", lambda: [full_ingest(lab, workload, refs, timeout * 3)])
        attempt("resync", lambda: [resync_rows(lab, sizes.resync)])
        if {"push", "send"} & only:
            crm = lab.crm()
            attempt("push", lambda: [push_latency(lab, crm, sizes.push)])
            attempt("send", lambda: [send_rate(lab, crm, sizes.send)])
            crm.stop()
        attempt("timeline", lambda: timeline_rows(sizes.timeline, sizes.reads))
        if "idle" in only:
            crm = lab.crm()
            attempt("idle", lambda: [idle_capacity(lab, crm, sizes.idle, sizes.idle_window)])
            crm.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--messages", type=int, help="workload size (default 20,000)")
    parser.add_argument("--idle", type=int, help="IDLE mailboxes (default 1,000)")
    parser.add_argument("--timeline-rows", type=int, help="logged emails (default 1,000,000)")
    parser.add_argument("--only", default=",".join(ROWS), help="comma list of: " + ", ".join(ROWS))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.messages:
        sizes = Sizes(**{**sizes.__dict__, "messages": args.messages})
    if args.idle:
        sizes = Sizes(**{**sizes.__dict__, "idle": args.idle})
    if args.timeline_rows:
        sizes = Sizes(**{**sizes.__dict__, "timeline": args.timeline_rows})
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    started = time.perf_counter()
    rows = run(sizes, only)
    took = time.perf_counter() - started
    print(
        f"\ninboxlink benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{sizes.messages:,}-message workload, {took:.0f} s\n"
    )
    print(table(rows))
    return 0 if all(row.value != "failed" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
