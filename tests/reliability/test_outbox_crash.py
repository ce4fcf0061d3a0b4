"""The outbox's worst moment, made to happen on purpose: Postfix has accepted DATA (the message
is queued and delivered) but its "250" has not reached inboxlink, and the process is killed.

The proxy holds Postfix's replies once the client has sent the end-of-DATA dot, so the moment
is deterministic without any switch in the product. After the restart (and once the crashed
claim is old enough to be taken over) the email must not go out a second time: we count its
deliveries in the recipient's Maildir. Also: a connection cut mid-DATA is retried and the
email arrives once.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.figures import compare
from tests.reliability.helpers import connect_body
from tests.support.api_helpers import run_cli
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy

END_OF_DATA = b"\r\n.\r\n"


def wait_for(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def deliveries(dovecot: Dovecot, user: MailboxUser, message_id: str) -> int:
    parser = BytesHeaderParser()
    return sum(
        (parser.parsebytes(raw).get("Message-ID") or "").strip() == message_id
        for raw in dovecot.messages(user.email)
    )


@pytest.fixture
def live(tmp_path: Path, mail_ca: MailPki) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    run_cli(tmp_path, "db", "upgrade")
    run_cli(
        tmp_path, "admin", "create-user", "boss@acme.test", "--password", "long enough pw",
        "--role", "super-admin",
    )  # fmt: skip
    token = run_cli(tmp_path, "admin", "create-token", "boss@acme.test").strip().splitlines()[-1]
    server = LiveServer(
        tmp_path,
        env={
            "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
            "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
            "INBOXLINK_DNS_NAMESERVERS": "127.0.0.1:9",
            "INBOXLINK_DNS_TIMEOUT_SECONDS": "0.2",
            "INBOXLINK_CONNECT_TIMEOUT_SECONDS": "5",
        },
    )
    server.start()
    try:
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        server.stop()


def _connect(server: LiveServer, headers: dict[str, str], me: MailboxUser, body: Any) -> int:
    created = httpx.post(f"{server.url}/api/v1/inboxes", headers=headers, json=body, timeout=60)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _send(server: LiveServer, headers: dict[str, str], inbox_id: int, to: str, key: str) -> Any:
    response = httpx.post(
        f"{server.url}/api/v1/emails",
        headers={**headers, "Idempotency-Key": key},
        json={"inbox_id": inbox_id, "to": [to], "subject": f"Offer {key}", "text": "Hello"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def _email(server: LiveServer, headers: dict[str, str], email_id: int) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"{server.url}/api/v1/emails/{email_id}", headers=headers, timeout=30
    ).json()
    return body


def test_killed_after_data_accepted_is_not_sent_twice(
    live: tuple[LiveServer, dict[str, str]],
    tmp_path: Path,
    dovecot: Dovecot,
    postfix: Postfix,
    smtp_proxy: TcpProxy,
) -> None:
    server, headers = live
    me, ann = new_user(dovecot), new_user(dovecot)
    body = connect_body(me, dovecot.imap_port, smtp_proxy.port)
    body["imap"]["security"] = "starttls"
    inbox_id = _connect(server, headers, me, body)

    smtp_proxy.hold_after(END_OF_DATA)
    email = _send(server, headers, inbox_id, ann.email, "crash-1")
    assert smtp_proxy.held.wait(60), "Postfix never answered the end of DATA"
    # Postfix accepted it: it reaches Ann although inboxlink has not seen the 250 yet.
    wait_for(lambda: deliveries(dovecot, ann, email["message_id"]) == 1)
    server.kill()
    smtp_proxy.release()
    smtp_proxy.cut_all()
    # The crashed attempt left its claim in "sending"; another worker may take it over only
    # after STALE_CLAIM (10 min). Move that moment to now instead of waiting ten minutes.
    with sqlite3.connect(tmp_path / "inboxlink.db") as db:
        state = db.execute(
            "SELECT state FROM outbound_emails WHERE id = ?", (email["id"],)
        ).fetchone()[0]
        assert state == "sending"
        db.execute(
            "UPDATE outbound_emails SET next_attempt_at = '2000-01-01 00:00:00' WHERE id = ?",
            (email["id"],),
        )
    server.start()
    final = wait_for(
        lambda: (
            (e := _email(server, headers, email["id"]))["state"] not in ("queued", "sending") and e
        )
    )
    # A second delivery would be queued by Postfix by now; give it the time LMTP needs.
    sentinel = _send(server, headers, inbox_id, ann.email, "after-crash")
    wait_for(lambda: deliveries(dovecot, ann, sentinel["message_id"]) == 1)
    time.sleep(1.0)
    counts = Counter({email["message_id"]: deliveries(dovecot, ann, email["message_id"])})
    figures = compare(
        "outbox killed between Postfix's 250 and the commit",
        [email["message_id"]],
        [m for m, n in counts.items() for _ in range(min(n, 1))],
        deliveries=counts,
        detail=f"final_state={final['state']} error={(final.get('error') or {}).get('code')}",
    )
    assert figures.clean, final


def test_cut_mid_data_is_retried_and_arrives_once(
    live: tuple[LiveServer, dict[str, str]],
    dovecot: Dovecot,
    postfix: Postfix,
    smtp_proxy: TcpProxy,
) -> None:
    server, headers = live
    me, ann = new_user(dovecot), new_user(dovecot)
    body = connect_body(me, dovecot.imap_port, smtp_proxy.port)
    body["imap"]["security"] = "starttls"
    inbox_id = _connect(server, headers, me, body)

    # Cut as soon as Postfix says "go ahead" to DATA: the message body never completes.
    smtp_proxy.cut_when(b"354 ", extra=0)
    email = _send(server, headers, inbox_id, ann.email, "cut-1")
    final = wait_for(
        lambda: (e := _email(server, headers, email["id"]))["state"] in ("sent", "failed") and e,
        timeout=120,
    )
    counts = Counter({email["message_id"]: deliveries(dovecot, ann, email["message_id"])})
    figures = compare(
        "outbox SMTP cut mid-DATA",
        [email["message_id"]],
        [m for m, n in counts.items() if n],
        deliveries=counts,
        detail=f"attempts={final['attempts']} final_state={final['state']}",
    )
    assert final["state"] == "sent" and final["attempts"] >= 2
    assert figures.clean
