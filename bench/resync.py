"""Incremental no-change resync of a folder, CONDSTORE/QRESYNC on and off, at two sizes.

Runs the product's IMAP connector in-process (``changes()`` with a finished checkpoint of an
unchanged folder) against a Dovecot offering everything and one whose capabilities leave
CONDSTORE/QRESYNC out. The product's fallback without CONDSTORE does not look for expunged
mail, so the row also times what a fallback must do to notice them (``UID SEARCH ALL``).
"""

from __future__ import annotations

import asyncio
import imaplib
import ssl
import statistics
import time
from datetime import UTC, datetime, timedelta

from tests.support.dovecot import Dovecot

from bench.lab import PASSWORD, Lab
from bench.mailbox import write_mailbox
from bench.report import Row, seconds
from inboxlink.config import Settings
from inboxlink.domain.servers import Credentials, ServerSettings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.providers.base import Folder
from inboxlink.providers.imap import ImapConnector
from inboxlink.providers.imap_checkpoint import FolderCheckpoint

REDUCED = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS NAMESPACE"
INBOX = Folder("INBOX", "inbox")


def _finished_checkpoint(lab: Lab, dovecot: Dovecot, email: str) -> tuple[dict[str, object], float]:
    """The checkpoint a finished backfill leaves, and the time of a full ``UID SEARCH ALL``."""
    imap = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    imap.starttls(ssl.create_default_context(cafile=str(lab.ca_file)))
    imap.login(email, PASSWORD)
    condstore = "CONDSTORE" in imap.capabilities
    if condstore:
        imap.enable("CONDSTORE")
    imap.select("INBOX", readonly=True)
    uidvalidity = int(imap.response("UIDVALIDITY")[1][0] or 0)
    uidnext = int(imap.response("UIDNEXT")[1][0] or 0)
    modseq = imap.response("HIGHESTMODSEQ")[1][0] if condstore else None
    started = time.perf_counter()
    _, found = imap.uid("SEARCH", "ALL")
    search = time.perf_counter() - started
    total = len(found[0].split())
    imap.logout()
    since = (datetime.now(UTC) - timedelta(days=90)).date()
    state = FolderCheckpoint(
        uidvalidity, uidnext - 1, since.isoformat(), 0, total,
        int(modseq) if modseq else None, done=True,
    )  # fmt: skip
    return state.as_dict(), search


async def _resync(lab: Lab, dovecot: Dovecot, email: str, checkpoint: dict[str, object],
                  repeat: int) -> tuple[float, float]:  # fmt: skip
    """Median of ``repeat`` resyncs on a live connection, and the first one after logging
    in (which has to open the folder: EXAMINE)."""
    settings = Settings(allow_private_networks="1")
    connector = ImapConnector(
        ServerSettings("127.0.0.1", dovecot.imap_port, "starttls"),
        Credentials(email, PASSWORD),
        NetworkPolicy(settings, Resolver(settings)),
        trust_any_certificate=False, extra_ca_file=lab.ca_file, timeout=30, backfill_days=90,
    )  # fmt: skip
    try:
        await connector.verify()  # logs in
        times = []
        for _ in range(repeat + 1):
            started = time.perf_counter()
            batches = [b async for b in connector.changes(INBOX, checkpoint)]
            times.append(time.perf_counter() - started)
            if any(b.messages or b.deleted for b in batches):
                raise RuntimeError("an unchanged folder reported changes")
        return statistics.median(times[1:]), times[0]
    finally:
        await connector.close()


def resync_rows(lab: Lab, sizes: tuple[int, int], repeat: int = 30) -> Row:
    reduced = lab.start_dovecot(capabilities=REDUCED)
    results: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], float] = {}
    searches: dict[int, float] = {}
    for size in sizes:
        for name, server in (("on", lab.dovecot), ("off", reduced)):
            email = lab.user(f"resync{size}", server)
            write_mailbox(server, email, size, small=True, seed=size)
            checkpoint, search = _finished_checkpoint(lab, server, email)
            if name == "off":
                searches[size] = search
            results[name, size], first[name, size] = asyncio.run(
                _resync(lab, server, email, checkpoint, repeat)
            )
    small, large = sizes
    on_large, off_large = results["on", large], results["off", large]
    fallback = off_large + searches[large]
    ratio_fallback = fallback / on_large
    growth = on_large / results["on", small]
    return Row(
        f"incremental no-change resync, {large:,} msgs (CONDSTORE/QRESYNC)",
        f"{seconds(on_large)} ({small:,} msgs: {seconds(results['on', small])}; "
        f"x{growth:.2f} for x{large / small:.0f} msgs)",
        f"CONDSTORE off: product {seconds(off_large)} "
        f"({small:,}: {seconds(results['off', small])}); with the UID SEARCH ALL a fallback "
        f"needs to see expunges {seconds(fallback)}",
        f"{off_large / on_large:.2f}x faster than product-off; {ratio_fallback:.1f}x faster "
        "than a correct fallback",
        "≤ 50 ms, ≥ 20x faster than off, size-independent",
        on_large <= 0.05 and ratio_fallback >= 20 and growth < 2,
        note="a resync on a live connection asks the selected folder with one NOOP; the first "
        f"one after logging in opens the folder (EXAMINE): {seconds(first['on', large])} at "
        f"{large:,}, {seconds(first['on', small])} at {small:,}. Without CONDSTORE the "
        "product takes the same NOOP path but only reports expunges where QRESYNC is on, so "
        "the ratio is also given against what a correct fallback must do (EXAMINE + UID "
        "SEARCH ALL)",
    )
