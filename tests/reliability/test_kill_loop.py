"""``kill -9`` of the real ``inboxlink serve`` at random moments, again and again, while mail
keeps arriving: first in the middle of the backfill, then during incremental sync, with
emails being sent meanwhile. After the last restart the store matches the mailbox exactly and
no email reached its recipient twice.

``INBOXLINK_KILLS`` sets how many times (20 in CI, 50 in ``make soak``). The first half of
the kills land at random points of the backfill (a random number of messages further on), the
rest at random moments of incremental sync (a random delay after the restart).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.figures import compare
from tests.reliability.helpers import (
    Delivery,
    connect_body,
    deliveries,
    live_connect,
    live_email,
    live_get,
    live_send,
    live_timeline,
    wait_for,
)
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix

KILLS = int(os.environ.get("INBOXLINK_KILLS", "20"))
BACKFILL = 100 * KILLS  # enough that the backfill kills all land before it completes
CONTACT_EVERY = 3
TAG = "@kill.example>"


@pytest.fixture
def live_env() -> dict[str, str]:
    # Small batches: a kill lands between many commits; quick polls: incremental sync is busy.
    return {"INBOXLINK_SYNC_BATCH_SIZE": "10", "INBOXLINK_POLL_SECONDS": "1"}


def _release_crashed_claims(data_dir: Path) -> int:
    """A claim left in ``sending`` by a killed process may be taken over after STALE_CLAIM
    (10 min); move that moment to now rather than wait (as test_outbox_crash does)."""
    with sqlite3.connect(data_dir / "inboxlink.db") as db:
        return db.execute(
            "UPDATE outbound_emails SET next_attempt_at = '2000-01-01 00:00:00' "
            "WHERE state = 'sending'"
        ).rowcount


def test_kill_9_at_random_moments_of_backfill_and_incremental_sync(
    live: tuple[LiveServer, dict[str, str]],
    tmp_path: Path,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    server, headers = live
    me, ann, other = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    expected = {f"<old{n}{TAG}" for n in range(0, BACKFILL, CONTACT_EVERY)}
    dovecot.write_messages(
        me.email,
        [
            sample_message(
                ann.email if n % CONTACT_EVERY == 0 else other.email,
                me.email,
                message_id=f"<old{n}{TAG}",
                days_ago=1 + n / 100,
            )
            for n in range(BACKFILL)
        ],
    )
    contact = httpx.post(
        f"{server.url}/api/v1/contacts", json={"email": ann.email}, headers=headers
    ).json()
    body = connect_body(me, dovecot.imap_port, postfix.smtp_port, security="starttls")
    inbox_id = live_connect(server, headers, body)

    def sync() -> dict[str, Any]:
        state: dict[str, Any] = live_get(server, headers, f"/api/v1/inboxes/{inbox_id}")["sync"]
        return state

    delivery = Delivery(dovecot, [me], ann.email, other.email, TAG)
    delivery.start()
    rng = random.Random(int(os.environ.get("INBOXLINK_KILL_SEED", "10")))
    phases: Counter[str] = Counter()
    emails: list[dict[str, Any]] = []
    try:
        for kill in range(KILLS):
            emails.append(live_send(server, headers, inbox_id, ann.email, f"kill-{kill}"))
            if kill < KILLS // 2:
                target = int(sync()["messages_scanned"]) + rng.randint(5, 30)
                wait_for(lambda t=target: int(sync()["messages_scanned"]) >= t, timeout=120)
            else:
                threading.Event().wait(rng.uniform(0.2, 2.5))
            phases["incremental" if sync()["backfill_complete"] else "backfill"] += 1
            server.kill()
            server.start()
    finally:
        delivery.halt.set()
        delivery.join(10)
    expected |= delivery.expected

    # The last run: crashed claims released (with no process running, which could take one
    # over and be stopped in the middle of it), everything settles.
    server.stop()
    released = _release_crashed_claims(tmp_path)
    server.start()
    wait_for(lambda: sync()["backfill_complete"], timeout=180)
    wait_for(
        lambda: expected <= set(live_timeline(server, headers, contact["id"], TAG)), timeout=120
    )
    finals = [
        wait_for(
            lambda e=e: (
                (f := live_email(server, headers, e["id"]))["state"] not in ("queued", "sending")
                and f
            ),
            timeout=120,
        )
        for e in emails
    ]
    counts = Counter({e["message_id"]: deliveries(dovecot, ann, e["message_id"]) for e in emails})
    states = Counter(
        f["state"] if f["state"] == "sent" else (f.get("error") or {}).get("code") for f in finals
    )
    figures = compare(
        f"kill -9 x{KILLS} during backfill and incremental sync",
        expected,
        live_timeline(server, headers, contact["id"], TAG),
        deliveries=counts,
        detail=(
            f"kills_backfill={phases['backfill']} kills_incremental={phases['incremental']} "
            f"delivered_meanwhile={delivery.sent} emails={len(emails)} "
            f"emails_states={dict(states)} claims_taken_over={released}"
        ),
    )
    assert phases["backfill"] >= KILLS // 4 and phases["incremental"] >= KILLS // 4, phases
    assert figures.clean
    # Every email that says "sent" arrived; none arrived that says it failed for good.
    for final in finals:
        arrived = counts[final["message_id"]]
        if final["state"] == "sent":
            assert arrived == 1, final
        else:
            assert (final.get("error") or {}).get("code") == "send_uncertain", final
