"""Which IMAP client library inboxlink builds on, decided by numbers (see docs/imap-library.md).

Fills a private Dovecot mailbox with realistic messages, then times the operations the sync
engine performs -- login + SELECT, ``UID SEARCH SINCE``, header-only ``UID FETCH`` of every
message in batches, and full ``BODY.PEEK[]`` of a sample -- with imapclient (blocking, run in
a thread as the connector would) and aioimaplib (asyncio), against plain imaplib with pipelined
commands as the floor. Every timing includes turning the response into ``uid -> bytes``, the
shape the connector needs. Run: ``.venv/bin/python bench/imap_libraries.py --messages 20000``.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aioimaplib
import imapclient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.dovecot import Dovecot

HEADER_FIELDS = "FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES AUTO-SUBMITTED"
HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
USER, PASSWORD = "bench@example.test", "bench-secret"
_UID = re.compile(rb"UID (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")

Timings = dict[str, float]


@dataclass(frozen=True, slots=True)
class Plan:
    """What every candidate is asked to do, identical for all."""

    host: str
    port: int
    since: str
    fetch_batch: int
    body_count: int


def make_messages(count: int, now: datetime) -> Iterator[bytes]:
    """``count`` ~4 KiB messages over the last year, oldest first, threaded in pairs."""
    rng = random.Random(20_000)
    people = [f"person{n}@customer{n % 37}.example" for n in range(400)]
    filler = " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit."] * 4)
    for n in range(count):
        date = now - timedelta(days=365) + timedelta(seconds=n * 365 * 86400 // max(count, 1))
        sender, to, cc = rng.sample(people, 3)
        headers = [
            f"From: Person {sender.split('@')[0]} <{sender}>",
            f"To: {USER}, {to}",
            f"Cc: {cc}",
            f"Subject: Re: Quote #{n // 2} for order {rng.randint(1000, 9999)}",
            f"Date: {format_datetime(date)}",
            f"Message-ID: <m{n}.{rng.getrandbits(48):x}@customer.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            f"Received: from mx{n % 7}.customer.example by mail.example.test; "
            + format_datetime(date),
        ]
        if n % 2:
            thread = " ".join(f"<m{k}@customer.example>" for k in range(max(0, n - 6), n))
            headers += [f"In-Reply-To: <m{n - 1}@customer.example>", f"References: {thread}"]
        body = "\r\n".join(f"{filler} line {k}" for k in range(15))
        yield ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def _batches(uids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def _uid_set(uids: list[int]) -> str:
    return ",".join(map(str, uids))


def _median(runs: list[Timings]) -> Timings:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


class Stopwatch:
    """Collects named phase durations of one run."""

    def __init__(self) -> None:
        self.times: Timings = {}
        self._start = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = now - self._start
        self._start = now


# -- reference: imaplib, every batch sent before any answer is read ----------------------------


def _imaplib_literals(data: list[bytes | tuple[bytes, bytes]]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for item in data:
        if isinstance(item, tuple):
            match = _UID.search(item[0])
            if match:
                found[int(match.group(1))] = item[1]
    return found


def run_reference(plan: Plan) -> Timings:
    watch = Stopwatch()
    imap = imaplib.IMAP4(plan.host, plan.port)
    imap.login(USER, PASSWORD)
    imap.select("INBOX", readonly=True)
    watch.lap("login_select")
    _, found = imap.uid("SEARCH", "SINCE", plan.since)
    uids = [int(u) for u in found[0].split()]
    watch.lap("search")
    headers = _reference_fetch(imap, uids, plan.fetch_batch, HEADER_ITEM)
    assert len(headers) == len(uids), (len(headers), len(uids))
    watch.lap("fetch_headers")
    bodies = _reference_fetch(imap, uids[-plan.body_count :], 100, "BODY.PEEK[]")
    assert len(bodies) == min(plan.body_count, len(uids))
    watch.lap("fetch_bodies")
    imap.logout()
    return watch.times


def _reference_fetch(
    imap: imaplib.IMAP4, uids: list[int], size: int, item: str
) -> dict[int, bytes]:
    tags = [
        imap._command("UID", "FETCH", _uid_set(b), f"(UID {item})") for b in _batches(uids, size)
    ]
    for tag in tags:
        imap._command_complete("FETCH", tag)
    return _imaplib_literals(imap.untagged_responses.pop("FETCH", []))


# -- imapclient: blocking, called through asyncio.to_thread as the connector would ---------------


def _imapclient_fetch(
    client: imapclient.IMAPClient, uids: list[int], size: int, item: str
) -> dict[int, bytes]:
    key = item.replace(".PEEK", "").encode()
    found: dict[int, bytes] = {}
    for batch in _batches(uids, size):
        for uid, data in client.fetch(batch, [item]).items():
            found[uid] = data[key]
    return found


async def run_imapclient(plan: Plan) -> Timings:
    watch = Stopwatch()

    def connect() -> imapclient.IMAPClient:
        client = imapclient.IMAPClient(plan.host, plan.port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        return client

    client = await asyncio.to_thread(connect)
    watch.lap("login_select")
    uids = await asyncio.to_thread(client.search, ["SINCE", plan.since])
    watch.lap("search")
    item = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
    headers = await asyncio.to_thread(_imapclient_fetch, client, uids, plan.fetch_batch, item)
    assert len(headers) == len(uids)
    watch.lap("fetch_headers")
    bodies = await asyncio.to_thread(
        _imapclient_fetch, client, uids[-plan.body_count :], 100, "BODY.PEEK[]"
    )
    assert len(bodies) == min(plan.body_count, len(uids))
    watch.lap("fetch_bodies")
    await asyncio.to_thread(client.logout)
    return watch.times


# -- aioimaplib: native asyncio; responses come back as raw lines we pair up ourselves ------------


def _aioimaplib_literals(lines: list[bytes | bytearray]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    uid = None
    for line in lines:
        if uid is not None and isinstance(line, bytearray):
            found[uid] = bytes(line)
            uid = None
            continue
        match = _UID.search(line) if _LITERAL.search(line) else None
        uid = int(match.group(1)) if match else None
    return found


async def _aioimaplib_fetch(
    client: aioimaplib.IMAP4, uids: list[int], size: int, item: str
) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for batch in _batches(uids, size):
        response = await client.uid("fetch", _uid_set(batch), f"(UID {item})")
        assert response.result == "OK", response
        found.update(_aioimaplib_literals(response.lines))
    return found


async def run_aioimaplib(plan: Plan) -> Timings:
    watch = Stopwatch()
    client = aioimaplib.IMAP4(plan.host, plan.port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    await client.select("INBOX")  # its EXAMINE does not enter the SELECTED state
    watch.lap("login_select")
    response = await client.uid_search("SINCE", plan.since, charset=None)
    uids = [int(u) for u in response.lines[0].split()]
    watch.lap("search")
    headers = await _aioimaplib_fetch(client, uids, plan.fetch_batch, HEADER_ITEM)
    assert len(headers) == len(uids), (len(headers), len(uids))
    watch.lap("fetch_headers")
    bodies = await _aioimaplib_fetch(client, uids[-plan.body_count :], 100, "BODY.PEEK[]")
    assert len(bodies) == min(plan.body_count, len(uids))
    watch.lap("fetch_bodies")
    await client.logout()
    return watch.times


# -- driver -----------------------------------------------------------------------------------

CANDIDATES: dict[str, Callable[[Plan], Awaitable[Timings]]] = {
    "imaplib pipelined (reference)": lambda plan: asyncio.to_thread(run_reference, plan),
    "imapclient (in a thread)": run_imapclient,
    "aioimaplib": run_aioimaplib,
}
PHASES = ("login_select", "search", "fetch_headers", "fetch_bodies")
RUN_TIMEOUT = 30.0  # a healthy run takes a few seconds; a hung library costs this much


async def _with_loop_stall(run: Awaitable[Timings]) -> Timings:
    """Also record the longest time the event loop could not run other tasks (web requests,
    other inboxes) while this candidate worked: parsing on the loop shows up here."""
    stall = 0.0
    running = True

    async def watch() -> None:
        nonlocal stall
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stall = max(stall, time.perf_counter() - before - 0.005)

    watcher = asyncio.create_task(watch())
    try:
        times = await run
    finally:
        running = False
        await watcher
    return {**times, "loop_stall": stall}


@dataclass(slots=True)
class Outcome:
    """Every run of one candidate: timings of the runs that finished, errors of the rest."""

    attempts: int = 0
    runs: list[Timings] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def median(self) -> Timings | None:
        return _median(self.runs) if self.runs else None


async def measure(plan: Plan, repeat: int) -> dict[str, Outcome]:
    """All runs per candidate, interleaved so server caches favour no one. The first round
    warms Dovecot's index and the page cache and is counted only when it fails."""
    outcomes = {name: Outcome() for name in CANDIDATES}
    # A library may die inside a protocol callback; asyncio only logs that, so keep the cause.
    causes: list[str] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: causes.append(repr(context.get("exception")))
    )
    for round_ in range(repeat + 1):
        for name, run in CANDIDATES.items():
            outcomes[name].attempts += 1
            causes.clear()
            try:
                times = await asyncio.wait_for(_with_loop_stall(run(plan)), RUN_TIMEOUT)
            except Exception as exc:  # a failure is a result here, not a crash
                cause = f" after {causes[0]}" if causes else ""
                outcomes[name].failures.append(f"{type(exc).__name__}{cause}"[:160])
                continue
            if round_:
                outcomes[name].runs.append(times)
    return outcomes


def table(outcomes: dict[str, Outcome], messages: int, plan: Plan) -> str:
    reference = next(iter(outcomes.values())).median()
    assert reference is not None, "the imaplib reference itself failed"
    lines = [
        f"| library | login+SELECT | UID SEARCH SINCE | header FETCH {messages} "
        f"(batches of {plan.fetch_batch}) | BODY.PEEK[] {plan.body_count} | total "
        "| longest event-loop stall | failed runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, outcome in outcomes.items():
        times = outcome.median()
        cells = []
        for phase in (*PHASES, "total"):
            if times is None:
                cells.append("-")
                continue
            value = sum(times[p] for p in PHASES) if phase == "total" else times[phase]
            base = sum(reference[p] for p in PHASES) if phase == "total" else reference[phase]
            cells.append(f"{value:.3f} s (x{value / base:.2f})")
        cells.append(f"{times['loop_stall'] * 1000:.0f} ms" if times else "-")
        cells.append(f"{len(outcome.failures)} of {outcome.attempts}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, outcome in outcomes.items():
        lines.extend(f"\n{name} failed: {error}" for error in sorted(set(outcome.failures)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--bodies", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    now = datetime.now(UTC)
    root = tempfile.TemporaryDirectory(prefix="imap-bench-")
    with root, Dovecot(Path(root.name)) as server:
        server.add_user(USER, PASSWORD)
        started = time.perf_counter()
        server.write_messages(USER, make_messages(args.messages, now))
        print(f"filled {args.messages} messages in {time.perf_counter() - started:.1f} s")
        since = (now - timedelta(days=400)).strftime("%d-%b-%Y")
        plan = Plan(server.host, server.imap_port, since, args.batch, args.bodies)
        outcomes = asyncio.run(measure(plan, args.repeat))
    print(f"median of {args.repeat} runs, seconds (ratio to the imaplib reference)\n")
    print(table(outcomes, args.messages, plan))


if __name__ == "__main__":
    main()
