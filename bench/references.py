"""The references every product figure is divided by: mbsync (Debian isync) pulling a folder
to a Maildir, and plain imaplib with every FETCH batch sent before any answer is read."""

from __future__ import annotations

import imaplib
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from bench.imap_libraries import HEADER_ITEM, _reference_fetch
from bench.lab import PASSWORD, Lab


def mbsync_pull(lab: Lab, email: str) -> float:
    """Seconds for ``mbsync -a`` to pull INBOX (STARTTLS, like the product) into a new Maildir."""
    work = Path(tempfile.mkdtemp(prefix="inboxlink-bench-mbsync-"))
    try:
        maildir = work / "mail"
        maildir.mkdir()
        config = work / "mbsyncrc"
        config.write_text(
            f"""IMAPAccount bench
Host localhost
Port {lab.dovecot.imap_port}
User {email}
Pass {PASSWORD}
SSLType STARTTLS
CertificateFile {lab.ca_file}
AuthMechs PLAIN

IMAPStore remote
Account bench

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""
        )
        started = time.perf_counter()
        done = subprocess.run(
            ["mbsync", "-q", "-c", str(config), "-a"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"mbsync failed: {done.stderr[-2000:]}")
        return elapsed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def raw_fetch(lab: Lab, email: str, item: str, batch: int, port: int | None = None) -> float:
    """Seconds to log in (STARTTLS), SELECT, UID SEARCH and fetch ``item`` of every message,
    pipelined; ``item`` is ``header`` (the product's HEADER.FIELDS) or ``body`` (BODY.PEEK[])."""
    context = ssl.create_default_context(cafile=str(lab.ca_file))
    started = time.perf_counter()
    imap = imaplib.IMAP4("127.0.0.1", port or lab.dovecot.imap_port)
    imap.starttls(context)
    imap.login(email, PASSWORD)
    imap.select("INBOX", readonly=True)
    _, found = imap.uid("SEARCH", "ALL")
    uids = [int(u) for u in found[0].split()]
    fetched = _reference_fetch(
        imap, uids, batch, HEADER_ITEM if item == "header" else "BODY.PEEK[]"
    )
    elapsed = time.perf_counter() - started
    imap.logout()
    if len(fetched) != len(uids):
        raise RuntimeError(f"raw fetch got {len(fetched)} of {len(uids)}")
    return elapsed
