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
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.figures import compare
from tests.reliability.helpers import (
    connect_body,
    deliveries,
    live_connect,
    live_email,
    live_send,
    wait_for,
)
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import new_user
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy

END_OF_DATA = b"\r\n.\r\n"


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
    inbox_id = live_connect(server, headers, body)

    smtp_proxy.hold_after(END_OF_DATA)
    email = live_send(server, headers, inbox_id, ann.email, "crash-1")
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
            (e := live_email(server, headers, email["id"]))["state"] not in ("queued", "sending")
            and e
        )
    )
    # A second delivery would be queued by Postfix by now; give it the time LMTP needs.
    sentinel = live_send(server, headers, inbox_id, ann.email, "after-crash")
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
    inbox_id = live_connect(server, headers, body)

    # Cut as soon as Postfix says "go ahead" to DATA: the message body never completes.
    smtp_proxy.cut_when(b"354 ", extra=0)
    email = live_send(server, headers, inbox_id, ann.email, "cut-1")
    final = wait_for(
        lambda: (
            (e := live_email(server, headers, email["id"]))["state"] in ("sent", "failed") and e
        ),
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


def test_stopped_mid_delivery_lets_it_finish(
    live: tuple[LiveServer, dict[str, str]],
    dovecot: Dovecot,
    postfix: Postfix,
    smtp_proxy: TcpProxy,
) -> None:
    """A graceful stop (SIGTERM: a deploy, a restart) while an email is being handed over:
    the worker lets that delivery finish, so it ends ``sent``, not ``send_uncertain``."""
    server, headers = live
    me, ann = new_user(dovecot), new_user(dovecot)
    body = connect_body(me, dovecot.imap_port, smtp_proxy.port)
    body["imap"]["security"] = "starttls"
    inbox_id = live_connect(server, headers, body)

    smtp_proxy.hold_after(END_OF_DATA)
    email = live_send(server, headers, inbox_id, ann.email, "stop-1")
    assert smtp_proxy.held.wait(60), "Postfix never answered the end of DATA"
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    time.sleep(1.0)  # the SIGTERM arrives while Postfix's "250" is still held
    smtp_proxy.release()
    stopping.join(30)
    server.start()
    final = wait_for(
        lambda: (
            (e := live_email(server, headers, email["id"]))["state"] not in ("queued", "sending")
            and e
        )
    )
    counts = Counter({email["message_id"]: deliveries(dovecot, ann, email["message_id"])})
    figures = compare(
        "outbox stopped (SIGTERM) mid-delivery",
        [email["message_id"]],
        [m for m, n in counts.items() if n],
        deliveries=counts,
        detail=f"final_state={final['state']}",
    )
    assert final["state"] == "sent" and figures.clean, final


def test_killed_mid_batch_leaves_only_the_email_in_the_window_uncertain(
    live: tuple[LiveServer, dict[str, str]],
    tmp_path: Path,
    dovecot: Dovecot,
    postfix: Postfix,
    smtp_proxy: TcpProxy,
) -> None:
    """Five emails queued in one batch request, so one outbox pass sends them back to back;
    killed while Postfix's "250" for the first one is held. Only that one is in the window
    (handed over, not recorded) and ends ``send_uncertain``; the four others were never
    claimed, so they go out after the restart -- without waiting for the stale claim -- and
    every one of the five arrives exactly once, filed once in Sent."""
    server, headers = live
    me, ann = new_user(dovecot), new_user(dovecot)
    body = connect_body(me, dovecot.imap_port, smtp_proxy.port)
    body["imap"]["security"] = "starttls"
    inbox_id = live_connect(server, headers, body)

    smtp_proxy.hold_after(END_OF_DATA)
    emails = [
        {"inbox_id": inbox_id, "to": [ann.email], "subject": f"Batch {n}", "text": "Hello",
         "idempotency_key": f"batch-{n}"}
        for n in range(5)
    ]  # fmt: skip
    response = httpx.post(
        f"{server.url}/api/v1/emails/batch", headers=headers, json={"emails": emails}, timeout=30
    )
    assert response.status_code == 200 and response.json()["queued"] == 5, response.text
    queued = [result["email"] for result in response.json()["results"]]
    assert smtp_proxy.held.wait(60), "Postfix never answered the end of DATA"
    first = queued[0]
    wait_for(lambda: deliveries(dovecot, ann, first["message_id"]) == 1)
    server.kill()
    smtp_proxy.release()
    smtp_proxy.cut_all()
    with sqlite3.connect(tmp_path / "inboxlink.db") as db:
        states = dict(db.execute("SELECT id, state FROM outbound_emails").fetchall())
        assert states == {first["id"]: "sending", **{e["id"]: "queued" for e in queued[1:]}}
        db.execute(
            "UPDATE outbound_emails SET next_attempt_at = '2000-01-01 00:00:00' WHERE id = ?",
            (first["id"],),
        )
    server.start()

    def settled() -> list[dict[str, Any]] | None:
        found = [live_email(server, headers, e["id"]) for e in queued]
        return found if all(e["state"] not in ("queued", "sending") for e in found) else None

    final = wait_for(settled)
    wait_for(lambda: all(deliveries(dovecot, ann, e["message_id"]) for e in queued))
    time.sleep(1.0)  # a second delivery would have arrived by now
    counts = Counter({e["message_id"]: deliveries(dovecot, ann, e["message_id"]) for e in queued})
    filed = Counter(
        (BytesHeaderParser().parsebytes(raw).get("Message-ID") or "").strip()
        for raw in dovecot.messages(me.email, "Sent")
    )
    figures = compare(
        "outbox killed mid-batch, between Postfix's 250 and the commit",
        [e["message_id"] for e in queued],
        [m for m, n in counts.items() if n],
        deliveries=counts,
        detail=" ".join(f"{e['state']}:{(e.get('error') or {}).get('code')}" for e in final),
    )
    assert figures.clean
    assert [(e["state"], (e.get("error") or {}).get("code")) for e in final] == [
        ("failed", "send_uncertain"),
        *[("sent", None)] * 4,
    ]
    assert [filed[e["message_id"]] for e in queued] == [0, 1, 1, 1, 1]
