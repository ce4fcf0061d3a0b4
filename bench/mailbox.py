"""The benchmark workload: a realistic, reproducible mailbox written straight into a Maildir.

``N`` messages (20,000 by default) over the last 60 days, oldest first; log-normal sizes
around 4 KiB, ~3 % with a 20-300 KiB attachment; 2,000 correspondents of which the first
100 are CRM contacts and ~5 % of the messages involve one; ~35 % replies carrying
In-Reply-To/References; some RFC 2047 names and subjects; ~20 % with an HTML alternative.
Every Maildir file's mtime is the message's date, so Dovecot's INTERNALDATE matches it.

Same seed, same ``now`` → byte-identical mailbox. ``now`` defaults to today's midnight (UTC),
so runs on the same day generate the same mailbox.
"""

from __future__ import annotations

import base64
import math
import os
import pwd
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from itertools import count

from tests.support.dovecot import Dovecot

CORRESPONDENTS = 2_000
CONTACTS = 100
CONTACT_SHARE = 0.05
ATTACHMENT_SHARE = 0.03
REPLY_SHARE = 0.35
HTML_SHARE = 0.20
NON_ASCII_SHARE = 0.10
DAYS = 60
DEFAULT_SEED = 9

_FIRST = [
    "anna",
    "ben",
    "chloe",
    "david",
    "eva",
    "felix",
    "greta",
    "hugo",
    "ida",
    "jonas",
    "karin",
    "lars",
    "mia",
    "nils",
    "olga",
    "paul",
    "rosa",
    "sven",
    "tara",
    "urs",
]
_NON_ASCII = [
    "Jürgen Müller", "Zoë Ångström", "Łukasz Żółw", "Søren Kierkegård", "José Núñez",
    "Françoise Dürr", "Ünal Çelik", "Bjørn Æsir",
]  # fmt: skip
_WORDS = [
    "quote",
    "order",
    "invoice",
    "delivery",
    "meeting",
    "contract",
    "renewal",
    "pricing",
    "schedule",
    "support",
    "ticket",
    "question",
    "update",
    "proposal",
    "draft",
    "review",
    "budget",
    "shipment",
    "call",
    "agenda",
]
_FILLER = (
    "Thanks for getting back to me so quickly. As discussed on the phone, here are the "
    "details we agreed on, including the revised figures and next steps for the team. "
)
_sequence = count()


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str


@dataclass
class Workload:
    """What was generated, for the harness to check results against."""

    owner: str
    correspondents: list[Person]
    contacts: list[Person]
    count: int = 0
    contact_messages: int = 0
    bytes: int = 0
    message_ids: list[str] = field(default_factory=list)


def people(seed: int = DEFAULT_SEED) -> list[Person]:
    """The 2,000 correspondents; the first ``CONTACTS`` are the CRM contacts."""
    rng = random.Random(seed * 7919)
    found = []
    for n in range(CORRESPONDENTS):
        first = rng.choice(_FIRST)
        name = rng.choice(_NON_ASCII) if rng.random() < NON_ASCII_SHARE else f"{first.title()} {n}"
        found.append(Person(f"{first}.{n}@customer{n % 97}.example", name))
    return found


def _address(person: Person) -> str:
    if person.name.isascii():
        return f'"{person.name}" <{person.email}>'
    return f"{Header(person.name, 'utf-8').encode()} <{person.email}>"


def _subject(rng: random.Random, n: int) -> str:
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
    if rng.random() < NON_ASCII_SHARE:
        return Header(f"Überblick {words} — #{n}", "utf-8").encode()
    return f"{words.capitalize()} #{n}"


def _body_text(rng: random.Random, size: int) -> str:
    repeats = max(1, size // len(_FILLER))
    lines = [f"{_FILLER.strip()} ({rng.randint(1, 99999)})" for _ in range(repeats)]
    return "\r\n".join(lines) + "\r\n"


def _mime_body(rng: random.Random, size: int, small: bool) -> tuple[list[str], str]:
    """Content headers and body of one message."""
    text = _body_text(rng, 120 if small else size)
    html = not small and rng.random() < HTML_SHARE
    attachment = not small and rng.random() < ATTACHMENT_SHARE
    if not html and not attachment:
        return ["Content-Type: text/plain; charset=utf-8"], text
    boundary = f"=_b{rng.getrandbits(40):x}"
    parts: list[str] = []
    if html:
        inner = f"=_a{rng.getrandbits(40):x}"
        paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines()[:20])
        alternative = (
            f'Content-Type: multipart/alternative; boundary="{inner}"\r\n\r\n'
            f"--{inner}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}"
            f"--{inner}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"<html><body>{paragraphs}</body></html>\r\n--{inner}--\r\n"
        )
        if not attachment:
            return [f'Content-Type: multipart/alternative; boundary="{inner}"'], alternative.split(
                "\r\n\r\n", 1
            )[1]
        parts.append(alternative)
    else:
        parts.append(f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}")
    blob = base64.encodebytes(rng.randbytes(rng.randint(20 * 1024, 300 * 1024))).decode()
    parts.append(
        'Content-Type: application/pdf; name="document.pdf"\r\n'
        'Content-Disposition: attachment; filename="document.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{blob.replace(chr(10), chr(13) + chr(10))}"
    )
    body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    return [f'Content-Type: multipart/mixed; boundary="{boundary}"'], body


def generate(
    owner: str,
    count_: int,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    small: bool = False,
    workload: Workload | None = None,
) -> Iterator[tuple[datetime, bytes]]:
    """``(date, raw)`` of each message, oldest first. ``small``: bodies of ~100 bytes and no
    attachments (folders used only to measure per-folder costs, like the 100k resync)."""
    rng = random.Random(seed)
    everyone = people(seed)
    contacts, others = everyone[:CONTACTS], everyone[CONTACTS:]
    anchor = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = anchor - timedelta(days=DAYS)
    span = DAYS * 86400 - 3600
    offsets = sorted(rng.uniform(0, span) for _ in range(count_))
    threads: dict[str, list[str]] = {}
    mu = math.log(3300)
    for n, offset in enumerate(offsets):
        moment = start + timedelta(seconds=offset)
        involves_contact = rng.random() < CONTACT_SHARE
        counterpart = rng.choice(contacts if involves_contact else others)
        cc = [rng.choice(others) for _ in range(rng.choice((0, 0, 0, 1, 2)))]
        inbound = rng.random() < 0.85
        sender, recipient = (
            (_address(counterpart), owner) if inbound else (owner, _address(counterpart))
        )
        domain = counterpart.email.split("@")[1] if inbound else "example.test"
        message_id = f"<b{seed}.{n}.{rng.getrandbits(32):x}@{domain}>"
        chain = threads.get(counterpart.email)
        headers = [
            f"Return-Path: <{counterpart.email if inbound else owner}>",
            f"Received: from mx{n % 5}.{domain} by mail.example.test; {format_datetime(moment)}",
            f"From: {sender}",
            f"To: {recipient}",
            *([f"Cc: {', '.join(_address(p) for p in cc)}"] if cc else []),
            f"Subject: {'Re: ' if chain else ''}{_subject(rng, n)}",
            f"Date: {format_datetime(moment)}",
            f"Message-ID: {message_id}",
        ]
        if chain and rng.random() < REPLY_SHARE / 0.9:
            headers += [f"In-Reply-To: {chain[-1]}", f"References: {' '.join(chain[-10:])}"]
            chain.append(message_id)
        else:
            threads[counterpart.email] = [message_id]
        size = int(min(rng.lognormvariate(mu, 0.6), 64 * 1024))
        content, body = _mime_body(rng, size, small)
        headers += ["MIME-Version: 1.0", *content]
        raw = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        if workload is not None:
            workload.count += 1
            workload.bytes += len(raw)
            workload.contact_messages += involves_contact
            workload.message_ids.append(message_id)
        yield moment, raw


def write_mailbox(
    dovecot: Dovecot,
    owner: str,
    count_: int,
    *,
    seed: int = DEFAULT_SEED,
    folder: str = "INBOX",
    small: bool = False,
    now: datetime | None = None,
) -> Workload:
    """Write the mailbox into ``owner``'s Maildir (seen mail in ``cur``), mtimes = dates."""
    everyone = people(seed)
    workload = Workload(owner, everyone, everyone[:CONTACTS])
    dovecot.write_messages(owner, [], folder=folder)  # creates the folder, owned by dovecot
    target = dovecot.folder_path(owner, folder) / "cur"
    uid, gid = _dovecot_ids()
    pid = os.getpid()
    for moment, raw in generate(owner, count_, seed=seed, now=now, small=small, workload=workload):
        stamp = int(moment.timestamp())
        path = target / f"{stamp}.M{next(_sequence)}P{pid}.bench,S={len(raw)}:2,S"
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))
        os.chown(path, uid, gid)
    return workload


def _dovecot_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid
