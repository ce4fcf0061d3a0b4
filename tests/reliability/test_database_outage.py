"""PostgreSQL goes away under a running ``inboxlink serve`` — crashed (``pg_ctl -m
immediate``) in the middle of the backfill, then again during incremental sync — while mail
keeps arriving in several Dovecot inboxes. The process stays up, the API answers a clear 503
in the error format while the database is down, and once it is back the worker resumes by
itself: nothing lost, nothing logged twice, no email sent twice.

The database is a private server started for the test (never the shared one on 5432).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.reliability.figures import compare
from tests.reliability.helpers import (
    Delivery,
    connect_body,
    deliveries,
    fill_history,
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
from tests.support.postfix import Postfix
from tests.support.private_postgres import PrivatePostgres

INBOXES = 4
BACKFILL = 400  # per inbox
DOWN_SECONDS = 4.0
TAG = "@pgdown.example>"


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def live_env(postgres: PrivatePostgres) -> dict[str, str]:
    return {
        "INBOXLINK_DATABASE_URL": postgres.url(),
        "INBOXLINK_SYNC_BATCH_SIZE": "10",
        "INBOXLINK_POLL_SECONDS": "1",
    }


def _while_down(server: LiveServer, headers: dict[str, str]) -> Counter[str]:
    """Ask the API and a page while the database is down; count what came back."""
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + DOWN_SECONDS
    while time.monotonic() < deadline:
        for method, path, body in (
            ("GET", "/api/v1/inboxes", None),
            ("POST", "/api/v1/contacts", {"email": "down@pgdown.example"}),
            ("GET", "/login", None),
        ):
            response = httpx.request(
                method, f"{server.url}{path}", headers=headers, json=body, timeout=30
            )
            seen[str(response.status_code)] += 1
            assert response.status_code == 503, (path, response.status_code, response.text)
            assert response.headers.get("retry-after"), response.headers
            if path.startswith("/api/"):
                error = response.json()["error"]
                assert error["code"] == "database_unavailable" and error["message"], error
            else:
                assert "database" in response.text.lower()
        time.sleep(0.3)
    return seen


def test_postgres_crashes_during_sync_and_the_worker_resumes(
    live: tuple[LiveServer, dict[str, str]],
    postgres: PrivatePostgres,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    server, headers = live
    ann, other = new_user(dovecot), new_user(dovecot)
    mailboxes = [new_user(dovecot) for _ in range(INBOXES)]
    expected = fill_history(dovecot, mailboxes, ann, other, per_mailbox=BACKFILL, tag=TAG)
    contact = httpx.post(
        f"{server.url}/api/v1/contacts", json={"email": ann.email}, headers=headers
    ).json()
    inbox_ids = [
        live_connect(
            server,
            headers,
            connect_body(me, dovecot.imap_port, postfix.smtp_port, security="starttls"),
        )
        for me in mailboxes
    ]

    def inboxes() -> list[dict[str, Any]]:
        return [live_get(server, headers, f"/api/v1/inboxes/{i}") for i in inbox_ids]

    def scanned() -> int:
        return sum(int(i["sync"]["messages_scanned"]) for i in inboxes())

    outages: list[str] = []
    answers: Counter[str] = Counter()
    emails: list[dict[str, Any]] = []
    with Delivery(dovecot, mailboxes, ann.email, other.email, TAG, every=0.1) as delivery:
        for phase in ("backfill", "incremental"):
            if phase == "backfill":
                wait_for(lambda: scanned() >= INBOXES * 10, timeout=120)
            else:
                wait_for(lambda: all(i["sync"]["backfill_complete"] for i in inboxes()), 180)
            backfilling = sum(not i["sync"]["backfill_complete"] for i in inboxes())
            outages.append(f"{phase}(inboxes_backfilling={backfilling})")
            emails.append(live_send(server, headers, inbox_ids[0], ann.email, f"pg-{phase}"))
            postgres.stop("immediate")
            answers += _while_down(server, headers)
            postgres.start()
            assert server.process is not None and server.process.poll() is None
    expected |= delivery.expected

    wait_for(lambda: all(i["sync"]["backfill_complete"] for i in inboxes()), 180)
    wait_for(lambda: expected <= set(live_timeline(server, headers, contact["id"], TAG)), 120)
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
    assert all(f["state"] == "sent" for f in finals), finals
    counts = Counter({f["message_id"]: deliveries(dovecot, ann, f["message_id"]) for f in finals})
    states = Counter(i["state"] for i in inboxes())
    figures = compare(
        f"PostgreSQL crashed x{len(outages)} during sync ({INBOXES} inboxes)",
        expected,
        live_timeline(server, headers, contact["id"], TAG),
        deliveries=counts,
        detail=f"outages={outages} down_s={DOWN_SECONDS} answers_while_down={dict(answers)} "
        f"delivered_meanwhile={delivery.sent} emails_sent={len(finals)} inboxes={dict(states)}",
    )
    assert figures.clean and all(counts.values())
    assert states == {"connected": INBOXES}
    assert server.process is not None and server.process.poll() is None
