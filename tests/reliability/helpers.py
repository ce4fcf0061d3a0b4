"""Helpers of the fault tests: connect an IMAP inbox (through a proxy), read timelines, wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from typing import Any, TypeVar

import httpx

from tests.support.accounts import Person
from tests.support.api_helpers import eventually
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser
from tests.support.mail_samples import sample_message

T = TypeVar("T")


def connect_body(
    user: MailboxUser, imap_port: int, smtp_port: int, security: str = "none"
) -> dict[str, Any]:
    """Plaintext by default so the proxy can see the protocol (its patterns need it)."""
    return {
        "kind": "personal",
        "provider": "imap",
        "email": user.email,
        "password": user.password,
        "imap": {"host": "127.0.0.1", "port": imap_port, "security": security},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": security},
    }


async def connect_inbox(api: httpx.AsyncClient, person: Person, body: dict[str, Any]) -> int:
    created = await api.post("/api/v1/inboxes", json=body, headers=person.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def sync_state(api: httpx.AsyncClient, person: Person, inbox_id: int) -> dict[str, Any]:
    body = (await api.get(f"/api/v1/inboxes/{inbox_id}", headers=person.headers)).json()
    state: dict[str, Any] = body["sync"]
    state["state"] = body["state"]
    return state


async def backfilled(
    api: httpx.AsyncClient, person: Person, inbox_id: int, timeout: float = 90
) -> None:
    async def done() -> bool:
        return bool((await sync_state(api, person, inbox_id))["backfill_complete"])

    assert await eventually(done, timeout=timeout), await sync_state(api, person, inbox_id)


async def timeline_ids(api: httpx.AsyncClient, person: Person, contact_id: int) -> list[str]:
    """Every Message-ID on a contact's timeline, following the pages (one per entry)."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = await api.get(
            f"/api/v1/contacts/{contact_id}/timeline", params=params, headers=person.headers
        )
        assert response.status_code == 200, response.text
        ids += [str(item["message_id"]) for item in response.json()["items"]]
        if not (cursor := response.json()["next"]):
            return ids


def wait_for(check: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll a blocking check until it returns something truthy (tests of a live process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def deliveries(dovecot: Dovecot, user: MailboxUser, message_id: str) -> int:
    """How many copies of a message sit in a mailbox: more than one means it was sent twice."""
    parser = BytesHeaderParser()
    return sum(
        (parser.parsebytes(raw).get("Message-ID") or "").strip() == message_id
        for raw in dovecot.messages(user.email)
    )


def live_connect(server: LiveServer, headers: dict[str, str], body: dict[str, Any]) -> int:
    """Connect an inbox on a live ``inboxlink serve``; returns its id."""
    created = httpx.post(f"{server.url}/api/v1/inboxes", headers=headers, json=body, timeout=60)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def live_send(
    server: LiveServer, headers: dict[str, str], inbox_id: int, to: str, key: str
) -> dict[str, Any]:
    """Queue one email with ``key`` as its Idempotency-Key (and in its subject)."""
    response = httpx.post(
        f"{server.url}/api/v1/emails",
        headers={**headers, "Idempotency-Key": key},
        json={"inbox_id": inbox_id, "to": [to], "subject": f"Offer {key}", "text": "Hello"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def live_email(server: LiveServer, headers: dict[str, str], email_id: int) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"{server.url}/api/v1/emails/{email_id}", headers=headers, timeout=30
    ).json()
    return body


class Delivery(threading.Thread):
    """Mail arriving all along (LMTP, as from an MTA) to each mailbox in turn, every third
    message from ``contact``; ``expected`` gathers the Message-IDs that involve the contact."""

    def __init__(
        self,
        dovecot: Dovecot,
        mailboxes: list[MailboxUser],
        contact: str,
        other: str,
        tag: str,
        every: float = 0.15,
    ):
        super().__init__(daemon=True)
        self.dovecot, self.mailboxes, self.contact, self.other = dovecot, mailboxes, contact, other
        self.tag, self.every = tag, every
        self.expected: set[str] = set()
        self.sent = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            to = self.mailboxes[self.sent % len(self.mailboxes)].email
            sender = self.contact if self.sent % 3 == 0 else self.other
            message_id = f"<live{self.sent}{self.tag}"
            self.dovecot.deliver(to, sample_message(sender, to, message_id=message_id, days_ago=0))
            if sender == self.contact:
                self.expected.add(message_id)
            self.sent += 1

    def __enter__(self) -> Delivery:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        self.join(10)


def live_get(server: LiveServer, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", headers=headers, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def live_timeline(
    server: LiveServer, headers: dict[str, str], contact_id: int, tag: str
) -> list[str]:
    """The Message-IDs ending in ``tag`` on a contact's timeline (not the emails sent to it)."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = live_get(server, headers, f"/api/v1/contacts/{contact_id}/timeline", **params)
        ids += [str(i["message_id"]) for i in page["items"]]
        if not page["next"]:
            return [m for m in ids if m.endswith(tag)]
        params["cursor"] = page["next"]


def fill_history(
    dovecot: Dovecot,
    mailboxes: list[MailboxUser],
    contact: MailboxUser,
    other: MailboxUser,
    *,
    per_mailbox: int,
    tag: str,
) -> set[str]:
    """Write ``per_mailbox`` old messages into each mailbox, every third from ``contact``;
    returns the Message-IDs that must end up logged (``tag`` ends each, e.g. ``@x.example>``)."""
    expected: set[str] = set()
    for number, me in enumerate(mailboxes):
        messages = []
        for n in range(per_mailbox):
            message_id = f"<old{number}-{n}{tag}"
            sender = contact.email if n % 3 == 0 else other.email
            messages.append(sample_message(sender, me.email, message_id=message_id, days_ago=1))
            if sender == contact.email:
                expected.add(message_id)
        dovecot.write_messages(me.email, messages)
    return expected
