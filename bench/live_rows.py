"""Rows measured on a running inboxlink: push latency, send rate, idle capacity."""

from __future__ import annotations

import os
import smtplib
import sqlite3
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

from bench.lab import PASSWORD, Crm, Lab, wait_for
from bench.mailbox import write_mailbox
from bench.report import Row, percentile, seconds

POLL = 0.01
CONNECTING = 8


def _contact_mail(sender: str, to: str, message_id: str) -> bytes:
    return (
        f"From: Contact <{sender}>\r\nTo: {to}\r\nSubject: push test\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: {message_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello there.\r\n"
    ).encode()


def push_latency(lab: Lab, crm: Crm, count: int) -> Row:
    """LMTP delivery of a contact's message → its entry on the timeline (API poll 10 ms)."""
    owner = lab.user("push")
    write_mailbox(lab.dovecot, owner, 20, small=True)
    contact = lab.user("pushcontact")
    contact_id = crm.add_contacts([contact])[contact]
    inbox_id = crm.connect_inbox(lab, owner)
    crm.wait_synced(inbox_id, 60)
    time.sleep(1)  # let the watcher enter IDLE
    latencies = []
    for _ in range(count):
        message_id = make_msgid(domain="push.example")
        started = time.perf_counter()
        lab.dovecot.deliver(owner, _contact_mail(contact, owner, message_id), sender=contact)

        def arrived(wanted: str = message_id) -> bool:
            return any(i["message_id"] == wanted for i in crm.timeline(contact_id, 5))

        wait_for(arrived, timeout=60, interval=POLL)
        latencies.append(time.perf_counter() - started)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    limit = _inotify_limit()
    return Row(
        f"push latency, LMTP delivery → timeline, {count} msgs",
        f"p50 {seconds(p50)}, p99 {seconds(p99)}",
        "— (Dovecot notifies IDLE clients after ~0.5 s)",
        "—",
        "p50 ≤ 600 ms, p99 ≤ 1 s",
        p50 <= 0.6 and p99 <= 1.0,
        note=f"fs.inotify.max_user_instances = {limit}",
    )


def _inotify_limit() -> str:
    try:
        with open("/proc/sys/fs/inotify/max_user_instances") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def send_rate(lab: Lab, crm: Crm, count: int) -> Row:
    """N one-to-one emails through the API/outbox (Postfix, a copy in Sent, logged on the
    recipient's -- a contact's -- timeline) vs smtplib sending the same over one connection.

    Queued with ``POST /api/v1/emails/batch`` (500 a request). "Done" is every email ``sent``
    (handed to Postfix, filed in Sent, on the timeline), read from the server's SQLite store:
    asking the API for each email's state (500 GETs) would take the CPU the outbox needs.
    Checked afterwards: each delivered once, filed once, logged once. The one-by-one
    ``POST /api/v1/emails`` path is timed afterwards on a tenth of the count (in the note)."""
    sender, recipient = lab.user("sender"), lab.user("recipient")
    inbox_id = crm.connect_inbox(lab, sender)
    crm.wait_synced(inbox_id, 60)
    contact_id = crm.add_contacts([recipient])[recipient]
    texts = [f"Message {n} of the send benchmark.\r\n" * 20 for n in range(count)]
    context = ssl.create_default_context(cafile=str(lab.ca_file))
    started = time.perf_counter()
    with smtplib.SMTP("localhost", lab.postfix.smtp_port) as smtp:
        smtp.starttls(context=context)
        smtp.login(sender, PASSWORD)
        for n, text in enumerate(texts):
            raw = (
                f"From: {sender}\r\nTo: {recipient}\r\nSubject: Reference {n}\r\n"
                f"Message-ID: {make_msgid(domain='ref.example')}\r\n\r\n{text}"
            )
            smtp.sendmail(sender, [recipient], raw.encode())
    reference = time.perf_counter() - started
    # Postfix delivers the reference's mail after smtplib is done: not during our run.
    wait_for(lambda: _count(lab, recipient) >= count, timeout=120, interval=0.05)

    started = time.perf_counter()
    ids = _send_batches(crm, inbox_id, recipient, texts, "bench")
    _wait_sent(crm, ids)
    elapsed = time.perf_counter() - started

    single = max(count // 10, 1)
    started = time.perf_counter()
    for n in range(single):
        response = crm.post(
            "/api/v1/emails",
            {"inbox_id": inbox_id, "to": [recipient], "subject": f"One {n}", "text": texts[n]},
            headers={"Idempotency-Key": f"one-{n}"},
        )
        response.raise_for_status()
        ids.append(int(response.json()["id"]))
    _wait_sent(crm, ids)
    one_by_one = time.perf_counter() - started
    _check_each_once(lab, crm, sender, recipient, contact_id, count, count + single)
    ours, theirs = count / elapsed, count / reference
    return Row(
        f"send, {count} one-to-one emails via API/outbox (SMTP + Sent + timeline)",
        f"{seconds(elapsed)} = {ours:.1f} msg/s",
        f"smtplib, one connection: {seconds(reference)} = {theirs:.1f} msg/s",
        f"{ours / theirs:.2f}x smtplib",
        "≥ 0.5x plain SMTP client",
        ours / theirs >= 0.5,
        note=f"send: {single} emails POSTed one by one (POST /api/v1/emails each): "
        f"{seconds(one_by_one)} = {single / one_by_one:.1f} msg/s",
    )


def _send_batches(crm: Crm, inbox_id: int, recipient: str, texts: list[str], key: str) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(texts), 500):
        emails = [
            {"inbox_id": inbox_id, "to": [recipient], "subject": f"Bench {n}", "text": text,
             "idempotency_key": f"{key}-{n}"}
            for n, text in enumerate(texts[start : start + 500], start)
        ]  # fmt: skip
        response = crm.post("/api/v1/emails/batch", {"emails": emails})
        response.raise_for_status()
        body = response.json()
        if body["failed"]:
            raise RuntimeError(f"batch refused emails: {body['results'][:3]}")
        ids += [int(result["email"]["id"]) for result in body["results"]]
    return ids


def _wait_sent(crm: Crm, ids: list[int]) -> None:
    """Until every one of ``ids`` is ``sent`` (a failure raises), read from the store every
    50 ms (±1 % of the row; a 10 ms poll cost the box's CPU that the server needs)."""
    marks = ",".join("?" * len(ids))
    with closing(_store(crm)) as db:

        def all_sent() -> bool:
            states = dict(
                db.execute(
                    f"SELECT state, count(*) FROM outbound_emails WHERE id IN ({marks}) "
                    "GROUP BY state",
                    ids,
                ).fetchall()
            )
            if states.get("failed"):
                raise RuntimeError(f"{states['failed']} emails failed")
            return states.get("sent", 0) == len(ids)

        wait_for(all_sent, timeout=300, interval=0.05)


def _store(crm: Crm) -> sqlite3.Connection:
    """The server's SQLite store, read-only (WAL: never in the server's way)."""
    path = crm.server.data_dir / "inboxlink.db"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _count(lab: Lab, email: str, folder: str = "INBOX") -> int:
    return sum(1 for _ in lab.dovecot.messages(email, folder))


def _check_each_once(
    lab: Lab, crm: Crm, sender: str, recipient: str, contact_id: int, reference: int, ours: int
) -> None:
    """Every email delivered once, filed once in Sent, on the contact's timeline once."""
    wait_for(lambda: _count(lab, recipient) >= reference + ours, timeout=120, interval=0.1)
    time.sleep(0.5)  # a duplicate would arrive by now
    delivered, filed = _count(lab, recipient), _count(lab, sender, "Sent")
    with closing(_store(crm)) as db:
        (logged,) = db.execute(
            "SELECT count(*) FROM timeline_entries WHERE contact_id = ?", (contact_id,)
        ).fetchone()
    if (delivered - reference, filed, logged) != (ours, ours, ours):
        raise RuntimeError(
            f"sent {ours}: delivered {delivered - reference}, filed {filed}, logged {logged}"
        )


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _migration_checks_done(crm: Crm) -> bool:
    """True once every inbox had its first migration check (read from the process's SQLite)."""
    database = crm.server.data_dir / "inboxlink.db"
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        (unchecked,) = db.execute(
            "SELECT count(*) FROM inboxes WHERE migration_checked_at IS NULL"
        ).fetchone()
    return int(unchecked) == 0


def idle_capacity(lab: Lab, crm: Crm, count: int, window: float) -> Row:
    """``count`` inboxes watched with IDLE by one process: RSS growth and idle CPU."""
    time.sleep(1)
    before = _rss_kb(crm.pid)
    emails = [lab.user(f"idle{n}") for n in range(count)]
    for n, email in enumerate(emails):
        write_mailbox(lab.dovecot, email, 1, small=True, seed=n)
    # Connected a few at a time: one by one, 1,000 inboxes took ~15 minutes of waiting.
    with ThreadPoolExecutor(CONNECTING) as pool:
        inbox_ids = list(pool.map(lambda email: crm.connect_inbox(lab, email), emails))
    for inbox_id in inbox_ids:
        crm.wait_synced(inbox_id, 600, interval=0.1)
    # A new inbox's first provider-migration check (DNS look-ups, then daily) is start-up
    # work, not idling: it took ~20 % of the window's samples when it overlapped.
    wait_for(lambda: _migration_checks_done(crm), timeout=600, interval=1.0)
    time.sleep(min(20.0, 2 + count / 100))  # every watcher is in IDLE, first checks done
    cpu_start, clock = _cpu_seconds(crm.pid), time.perf_counter()
    time.sleep(window)
    cpu = (_cpu_seconds(crm.pid) - cpu_start) / (time.perf_counter() - clock)
    growth = max(_rss_kb(crm.pid) - before, 0) / count
    return Row(
        f"idle capacity, {count} IDLE mailboxes in one process",
        f"RSS +{growth:.0f} KB/mailbox, idle CPU {cpu * 100:.2f}% of a core",
        f"RSS before {before / 1024:.0f} MB",
        f"10,000 mailboxes ≈ {growth * 10_000 / 1024 / 1024:.1f} GB RSS, "
        f"{cpu * 100 * 10_000 / count:.1f}% CPU (linear extrapolation)",
        "1,000 mailboxes, ≤ 150 KB/mailbox, ≤ 2% CPU",
        count >= 1000 and growth <= 150 and cpu <= 0.02,
        note=f"measured with {count} mailboxes (target 1,000); idle CPU over {window:.0f} s",
    )
