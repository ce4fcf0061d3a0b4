"""Kill -9 the real inboxlink process during backfill, again and again: the timeline ends
exactly as an uninterrupted sync would leave it — nothing lost, nothing logged twice."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.api_helpers import cli_admin_token
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix

MESSAGES = 3000
CONTACT_EVERY = 20  # 5 % of the mailbox involves the contact
KILLS = 4


def wait_for(check: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_kill_during_backfill_loses_and_duplicates_nothing(
    tmp_path: Path, dovecot: Dovecot, postfix: Postfix, mail_ca: MailPki
) -> None:
    me, ann, other = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    mailbox = [
        sample_message(
            ann.email if n % CONTACT_EVERY == 0 else other.email,
            me.email,
            message_id=f"<n{n}@crash.example>",
            subject=f"Message {n}",
            days_ago=n / 60,
        )
        for n in range(MESSAGES)
    ]
    dovecot.write_messages(me.email, mailbox)
    expected = MESSAGES // CONTACT_EVERY

    token = cli_admin_token(tmp_path)
    headers = {"Authorization": f"Bearer {token}"}
    server = LiveServer(
        tmp_path,
        env={
            "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
            "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
            "INBOXLINK_DNS_NAMESERVERS": "127.0.0.1:9",
            "INBOXLINK_DNS_TIMEOUT_SECONDS": "0.2",
            "INBOXLINK_SYNC_BATCH_SIZE": "100",
        },
    )
    server.start()
    try:
        contact = httpx.post(
            f"{server.url}/api/v1/contacts", json={"email": ann.email}, headers=headers
        ).json()
        created = httpx.post(
            f"{server.url}/api/v1/inboxes",
            headers=headers,
            timeout=60,
            json={
                "kind": "personal",
                "provider": "imap",
                "email": me.email,
                "password": me.password,
                "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
                "smtp": {"host": "127.0.0.1", "port": postfix.smtp_port, "security": "starttls"},
            },
        )
        assert created.status_code == 201, created.text
        inbox_url = f"{server.url}/api/v1/inboxes/{created.json()['id']}"

        def sync_state() -> dict[str, Any]:
            state: dict[str, Any] = httpx.get(inbox_url, headers=headers).json()["sync"]
            return state

        kills = 0
        rng = random.Random(7)
        while kills < KILLS:
            # Kill at a random point a few batches further on.
            target = sync_state()["messages_scanned"] + rng.randint(50, 500)
            state = wait_for(lambda t=target: (s := sync_state())["messages_scanned"] >= t and s)
            if state["backfill_complete"]:
                break
            server.kill()
            kills += 1
            server.start()
        wait_for(lambda: sync_state()["backfill_complete"])
        items = httpx.get(
            f"{server.url}/api/v1/contacts/{contact['id']}/timeline",
            params={"limit": 1000},
            headers=headers,
        ).json()["items"]
        ids = [i["message_id"] for i in items]
        lost = expected - len(set(ids))
        twice = len(ids) - len(set(ids))
        print(f"kills={kills} expected={expected} logged={len(ids)} lost={lost} twice={twice}")
        assert kills >= 1
        assert lost == 0 and twice == 0
        assert set(ids) == {f"<n{n}@crash.example>" for n in range(0, MESSAGES, CONTACT_EVERY)}
    finally:
        server.stop()
