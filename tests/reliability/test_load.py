"""Load: 50 Dovecot inboxes syncing, mail arriving all along, while 100 concurrent API clients
read timelines and send mail through ``inboxlink serve`` on its default store (SQLite), for
``INBOXLINK_LOAD_SECONDS`` (15 in CI, 60 in ``make soak``). Every request must succeed —
so SQLite's "database is locked" never reaches a user while the worker writes — and every
message ends on the timeline once, every email delivered once. p50/p99 latency are reported,
not asserted (shared machines)."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

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
    live_timeline,
    wait_for,
)
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import new_user
from tests.support.postfix import Postfix

INBOXES = 50
CLIENTS = 100
SECONDS = float(os.environ.get("INBOXLINK_LOAD_SECONDS", "15"))
BACKFILL = 30  # per inbox
TAG = "@load.example>"


@pytest.fixture
def live_env() -> dict[str, str]:
    return {"INBOXLINK_POLL_SECONDS": "5"}


class Clients:
    """CLIENTS concurrent API users: mostly timeline reads, some inbox lists and sends."""

    def __init__(self, server: LiveServer, headers: dict[str, str], contact_id: int, to: str):
        self.server, self.headers, self.contact_id, self.to = server, headers, contact_id, to
        self.latencies: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.emails: list[int] = []

    async def _one(
        self, client: httpx.AsyncClient, rng: random.Random, inbox_ids: list[int]
    ) -> None:
        roll = rng.random()
        if roll < 0.1:
            key = f"load-{len(self.latencies)}-{rng.random()}"
            request = client.build_request(
                "POST",
                "/api/v1/emails",
                headers={**self.headers, "Idempotency-Key": key},
                json={"inbox_id": rng.choice(inbox_ids), "to": [self.to], "subject": key,
                      "text": "Hello"},
            )  # fmt: skip
        elif roll < 0.2:
            request = client.build_request("GET", "/api/v1/inboxes", headers=self.headers)
        else:
            request = client.build_request(
                "GET", f"/api/v1/contacts/{self.contact_id}/timeline", headers=self.headers
            )
        started = time.monotonic()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            self.failures.append(f"{request.method} {request.url.path}: {exc!r}")
            return
        self.latencies.append(time.monotonic() - started)
        self.outcomes[f"{request.method} {response.status_code}"] += 1
        if response.status_code >= 300:
            self.failures.append(f"{request.method} {request.url.path}: {response.text[:300]}")
        elif request.method == "POST":
            self.emails.append(int(response.json()["id"]))

    async def run(self, inbox_ids: list[int], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=CLIENTS)

        async def user(number: int) -> None:
            rng = random.Random(number)
            while time.monotonic() < deadline:
                await self._one(client, rng, inbox_ids)

        async with httpx.AsyncClient(
            base_url=self.server.url, timeout=120, limits=limits
        ) as client:
            await asyncio.gather(*(user(n) for n in range(CLIENTS)))

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def test_50_inboxes_syncing_while_100_clients_read_and_send(
    live: tuple[LiveServer, dict[str, str]], dovecot: Dovecot, postfix: Postfix
) -> None:
    server, headers = live
    ann, other = new_user(dovecot), new_user(dovecot)
    mailboxes = [new_user(dovecot) for _ in range(INBOXES)]
    expected = fill_history(dovecot, mailboxes, ann, other, per_mailbox=BACKFILL, tag=TAG)
    contact = httpx.post(
        f"{server.url}/api/v1/contacts", json={"email": ann.email}, headers=headers
    ).json()
    with ThreadPoolExecutor(8) as pool:
        inbox_ids = list(
            pool.map(
                lambda me: live_connect(
                    server,
                    headers,
                    connect_body(me, dovecot.imap_port, postfix.smtp_port, security="starttls"),
                ),
                mailboxes,
            )
        )

    clients = Clients(server, headers, contact["id"], ann.email)
    with Delivery(dovecot, mailboxes, ann.email, other.email, TAG, every=0.05) as delivery:
        started = time.monotonic()
        asyncio.run(clients.run(inbox_ids, SECONDS))
        elapsed = time.monotonic() - started
    expected |= delivery.expected

    def synced() -> bool:
        states = [live_get(server, headers, f"/api/v1/inboxes/{i}") for i in inbox_ids]
        return all(s["sync"]["backfill_complete"] for s in states)

    wait_for(synced, timeout=300)
    wait_for(lambda: expected <= set(live_timeline(server, headers, contact["id"], TAG)), 300)
    finals = [
        wait_for(
            lambda e=e: (
                (f := live_email(server, headers, e))["state"] not in ("queued", "sending") and f
            ),
            timeout=300,
        )
        for e in clients.emails
    ]
    counts = Counter({f["message_id"]: deliveries(dovecot, ann, f["message_id"]) for f in finals})
    locked = (
        (server.data_dir / "server.log").read_text(errors="replace").count("database is locked")
    )
    figures = compare(
        f"load: {INBOXES} inboxes syncing, {CLIENTS} API clients for {SECONDS:.0f} s (SQLite)",
        expected,
        live_timeline(server, headers, contact["id"], TAG),
        deliveries=counts,
        detail=f"requests={len(clients.latencies)} errors={len(clients.failures)} "
        f"rps={len(clients.latencies) / elapsed:.0f} "
        f"p50_ms={statistics.median(clients.latencies) * 1000:.0f} "
        f"p99_ms={clients.percentile(0.99) * 1000:.0f} outcomes={dict(clients.outcomes)} "
        f"emails_sent={sum(f['state'] == 'sent' for f in finals)}/{len(finals)} "
        f"delivered_meanwhile={delivery.sent} database_locked_in_log={locked}",
    )
    assert clients.failures == [], clients.failures[:5]
    assert figures.clean
    assert all(f["state"] == "sent" for f in finals) and all(counts.values())
    assert locked == 0
