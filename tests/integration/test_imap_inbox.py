"""A personal IMAP inbox end to end through the API, against real Dovecot and Postfix:
connect (verified), backfill and logging, IDLE, sending, and every connect error."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox, Message, OutboundEmail, TimelineEntry
from tests.support.accounts import Person, Team
from tests.support.api_helpers import add_contact, eventually, timeline
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, mail_ca: MailPki) -> Settings:
    """The store's settings plus a local DNS server, the test CA and a short poll interval."""
    dns_server.add_mx("ses-hosted.example", "inbound-smtp.eu-west-1.amazonaws.com")
    dns_server.start()
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver, extra_ca_file=mail_ca.ca_file, poll_seconds=1.0
    )
    return Settings(**values)


def connect_body(
    user: MailboxUser, dovecot: Dovecot, postfix: Postfix, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "personal",
        "provider": "imap",
        "email": user.email,
        "password": user.password,
        "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
        "smtp": {"host": "127.0.0.1", "port": postfix.smtp_port, "security": "starttls"},
    }
    body.update(extra)
    return body


def age_message(dovecot: Dovecot, email: str, marker: bytes, days: float) -> None:
    """IMAP dates a message by its arrival (INTERNALDATE: the Maildir file's time)."""
    moment = time.time() - days * 86400
    for sub in ("cur", "new"):
        for path in (dovecot.folder_path(email, "INBOX") / sub).iterdir():
            if marker in path.read_bytes():
                os.utime(path, (moment, moment))


async def inbox_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Inbox)) or 0)


async def test_connect_sync_log_idle_and_send(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    me, ann, stranger = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    dovecot.write_messages(
        me.email,
        [
            sample_message(
                ann.email, me.email, message_id="<a1@x.example>", subject="Quote", days_ago=3
            ),
            sample_message(
                ann.email,
                me.email,
                message_id="<a2@x.example>",
                subject="Re: Quote",
                days_ago=2,
                in_reply_to="<a1@x.example>",
            ),
            sample_message(stranger.email, me.email, message_id="<s1@x.example>", days_ago=1),
            sample_message(ann.email, me.email, message_id="<old@x.example>", days_ago=400),
        ],
    )
    dovecot.write_messages(
        me.email,
        [
            sample_message(
                me.email, ann.email, message_id="<m1@x.example>", subject="Our offer", days_ago=2.5
            ),
        ],
        folder="Sent",
    )
    age_message(dovecot, me.email, b"<old@x.example>", days=400)
    before = sorted(dovecot.messages(me.email, "INBOX"))
    ann_id = await add_contact(api, team.member, ann.email)

    created = await api.post(
        "/api/v1/inboxes", json=connect_body(me, dovecot, postfix), headers=team.member.headers
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["provider"] == "imap" and inbox["state"] == "connected"
    assert "password" not in created.text

    async def synced() -> bool:
        body = (await api.get(f"/api/v1/inboxes/{inbox['id']}", headers=team.member.headers)).json()
        return bool(body["sync"]["backfill_complete"])

    assert await eventually(synced)
    items = await timeline(api, team.member, ann_id)
    assert [i["subject"] for i in items] == ["Re: Quote", "Our offer", "Quote"]
    assert [i["direction"] for i in items] == ["incoming", "outgoing", "incoming"]
    assert items[0]["thread_id"] == items[2]["thread_id"]
    async with runtime.sessions() as session:
        stored = set(await session.scalars(select(Message.message_id)))
    assert "<s1@x.example>" not in stored  # not a contact: scanned, not stored
    assert "<old@x.example>" not in stored  # older than the backfill window
    # Sync never changes the mailbox: same files, same flags.
    assert sorted(dovecot.messages(me.email, "INBOX")) == before

    # A new message from the contact arrives over IDLE.
    started = time.monotonic()
    dovecot.deliver(
        me.email,
        sample_message(
            ann.email, me.email, message_id="<live@x.example>", subject="Live", days_ago=0
        ),
    )

    async def live_logged() -> bool:
        return any(i["subject"] == "Live" for i in await timeline(api, team.member, ann_id))

    assert await eventually(live_logged, timeout=10)
    print(f"IDLE delivery to timeline: {time.monotonic() - started:.2f} s")

    # Send from the CRM: arrives at the contact, lands in Sent, logged once.
    sent = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox["id"], "to": [ann.email], "subject": "Proposal", "text": "Hi Ann"},
        headers={**team.member.headers, "Idempotency-Key": "proposal-1"},
    )
    assert sent.status_code == 202, sent.text
    email = sent.json()
    again = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox["id"], "to": [ann.email], "subject": "Proposal", "text": "Hi Ann"},
        headers={**team.member.headers, "Idempotency-Key": "proposal-1"},
    )
    assert again.json()["id"] == email["id"]

    async def delivered() -> bool:
        body = (await api.get(f"/api/v1/emails/{email['id']}", headers=team.member.headers)).json()
        return body["state"] == "sent"

    assert await eventually(delivered)
    received = await asyncio.to_thread(dovecot.wait_for_message, ann.email, email["message_id"])
    assert b"Subject: Proposal" in received
    await asyncio.to_thread(dovecot.wait_for_message, me.email, email["message_id"], folder="Sent")
    await asyncio.sleep(2.5)  # let the Sent folder sync see the copy too
    proposals = [i for i in await timeline(api, team.member, ann_id) if i["subject"] == "Proposal"]
    assert len(proposals) == 1 and proposals[0]["direction"] == "outgoing"


async def test_connect_errors_store_nothing(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    make_dovecot: Any,
    tmp_path: Path,
) -> None:
    me = new_user(dovecot)
    h = team.member.headers

    async def refused(body: dict[str, Any], code: str, person: Person = team.member) -> str:
        response = await api.post("/api/v1/inboxes", json=body, headers=person.headers)
        assert response.status_code in (409, 422), response.text
        assert response.json()["error"]["code"] == code, response.text
        message: str = response.json()["error"]["message"]
        assert me.password not in response.text
        return message

    wrong = connect_body(me, dovecot, postfix, password="not-the-password")
    assert "app password" in await refused(wrong, "auth_failed")

    smtp_wrong = connect_body(me, dovecot, postfix, smtp_uses_imap_credentials=False)
    smtp_wrong["smtp"].update(username=me.email, password="wrong")
    await refused(smtp_wrong, "smtp_auth_failed")

    closed = connect_body(me, dovecot, postfix)
    closed["imap"]["port"] = 9
    await refused(closed, "imap_unreachable")

    unknown = connect_body(me, dovecot, postfix)
    unknown["imap"]["host"] = "no-such-host.example"
    await refused(unknown, "host_not_found")

    ses = connect_body(me, dovecot, postfix, email="jane@ses-hosted.example")
    assert "Amazon" in await refused(ses, "unsupported_provider")

    assert await inbox_count(runtime) == 0

    # A self-signed certificate is refused unless the user trusts any certificate.
    from tests.support.certs import self_signed

    (tmp_path / "selfsigned").mkdir()
    pair = self_signed(tmp_path / "selfsigned", ["localhost", "127.0.0.1"])
    lonely = make_dovecot(cert=pair)
    lonely_user = new_user(lonely)
    body = connect_body(lonely_user, lonely, postfix)
    body["imap"] = {"host": "127.0.0.1", "port": lonely.imaps_port, "security": "ssl"}
    body["smtp_uses_imap_credentials"] = False
    body["smtp"].update(username=me.email, password=me.password)
    assert "Trust any certificate" in await refused(body, "certificate_untrusted")
    assert await inbox_count(runtime) == 0
    body["trust_any_certificate"] = True
    assert (await api.post("/api/v1/inboxes", json=body, headers=h)).status_code == 201

    # P4: one owner per address.
    mine = await api.post("/api/v1/inboxes", json=connect_body(me, dovecot, postfix), headers=h)
    assert mine.status_code == 201
    await refused(
        connect_body(me, dovecot, postfix), "already_connected_by_another_user", team.other_member
    )
    await refused(connect_body(me, dovecot, postfix), "already_connected")
    assert await inbox_count(runtime) == 2


async def test_a_team_inbox_keeps_every_message(
    api: httpx.AsyncClient, runtime: Runtime, team: Team, dovecot: Dovecot, postfix: Postfix
) -> None:
    """T1: the team works the whole mailbox, so its sync stores mail from anyone; contacts
    among the participants still get timeline entries."""
    from inboxlink.connectors import connector_for, folders_of
    from inboxlink.sync.engine import InboxSync

    shared, ann, stranger = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    dovecot.write_messages(
        shared.email,
        [
            sample_message(ann.email, shared.email, message_id="<t1@x.example>"),
            sample_message(stranger.email, shared.email, message_id="<t2@x.example>"),
        ],
    )
    ann_id = await add_contact(api, team.admin, ann.email)
    created = await api.post(
        "/api/v1/inboxes", json=connect_body(shared, dovecot, postfix), headers=team.admin.headers
    )
    async with runtime.sessions() as session, session.begin():
        inbox = await session.get(Inbox, created.json()["id"])
        assert inbox is not None
        inbox.kind, inbox.owner_id = "team", None
    connector = connector_for(runtime, inbox)
    try:
        await InboxSync(runtime.sessions, inbox.id, connector).sync(folders_of(inbox))
    finally:
        await connector.close()
    async with runtime.sessions() as session:
        stored = set(await session.scalars(select(Message.message_id)))
    assert {"<t1@x.example>", "<t2@x.example>"} <= stored
    assert [i["message_id"] for i in await timeline(api, team.admin, ann_id)] == ["<t1@x.example>"]


async def test_replies_only_logs_a_reply_to_a_reply_stored_one_batch_earlier(
    api: httpx.AsyncClient,
    settings: Settings,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    """The engine decides on a batch while the one before it is still being stored; under
    "replies only" a reply whose parent is in that earlier batch must still count as
    answering a known thread. One message a batch, so parent and reply are neighbours."""
    from sqlalchemy import update

    from inboxlink.connectors import connector_for, folders_of
    from inboxlink.store.tables import Account
    from inboxlink.sync.engine import InboxSync

    runtime = Runtime.build(Settings(**{**settings.model_dump(), "sync_batch_size": 1}))
    owner, ann = new_user(dovecot), new_user(dovecot)
    dovecot.write_messages(
        owner.email, [sample_message(ann.email, owner.email, message_id="<root@x.example>")]
    )
    ann_id = await add_contact(api, team.member, ann.email)
    created = await api.post(
        "/api/v1/inboxes", json=connect_body(owner, dovecot, postfix), headers=team.member.headers
    )

    async def sync() -> None:
        async with runtime.sessions() as session:
            inbox = await session.get(Inbox, created.json()["id"])
        assert inbox is not None
        connector = connector_for(runtime, inbox)
        try:
            await InboxSync(runtime.sessions, inbox.id, connector).sync(folders_of(inbox))
        finally:
            await connector.close()

    try:
        await sync()  # the root is logged under "all contact mail"
        async with runtime.sessions() as session, session.begin():
            await session.execute(update(Account).values(logging_policy="replies"))
        dovecot.write_messages(
            owner.email,
            [
                sample_message(owner.email, ann.email, message_id="<r1@x.example>",
                               in_reply_to="<root@x.example>", days_ago=0.5),
                sample_message(ann.email, owner.email, message_id="<r2@x.example>",
                               in_reply_to="<r1@x.example>", days_ago=0.2),
                # A reply without a Message-ID, then a new thread: "no In-Reply-To" must not
                # pass for answering the stored message that has no Message-ID.
                sample_message(ann.email, owner.email, message_id="<noid@x.example>",
                               in_reply_to="<root@x.example>", days_ago=0.15,
                               ).replace(b"Message-ID: <noid@x.example>\r\n", b""),
                sample_message(ann.email, owner.email, message_id="<new@x.example>",
                               days_ago=0.1),
            ],
        )  # fmt: skip
        await sync()
    finally:
        await runtime.close()
    logged = [i["message_id"] for i in await timeline(api, team.member, ann_id)]
    assert sorted(logged) == ["", "<r1@x.example>", "<r2@x.example>", "<root@x.example>"]


async def test_batch_send_checks_each_email_and_sends_each_once(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    """``POST /api/v1/emails/batch``: every email checked on its own (the project's error
    codes, per item), idempotency keys honoured within the batch, across batches and with
    the single-email endpoint; two inboxes in one request, more emails than one outbox batch.
    Each valid email reaches Postfix and the recipient once, is filed once in its own inbox's
    Sent folder (MULTIAPPEND) and logged once on the contact's timeline."""
    me, also_me, ann = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    ann_id = await add_contact(api, team.member, ann.email)
    inboxes = []
    for user in (me, also_me):
        created = await api.post(
            "/api/v1/inboxes",
            json=connect_body(user, dovecot, postfix),
            headers=team.member.headers,
        )
        assert created.status_code == 201, created.text
        inboxes.append(created.json())
    single = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inboxes[0]["id"], "to": [ann.email], "subject": "First", "text": "Hi"},
        headers={**team.member.headers, "Idempotency-Key": "single-1"},
    )
    assert single.status_code == 202, single.text

    def email(n: int, **change: Any) -> dict[str, Any]:
        inbox = inboxes[n % 2]
        body = {"inbox_id": inbox["id"], "to": [ann.email], "subject": f"Offer {n}",
                "text": f"Hello Ann, offer {n}", "idempotency_key": f"offer-{n}"}  # fmt: skip
        body.update(change)
        return body

    valid = [email(n) for n in range(130)]
    refused = [
        email(900, to=["not an address"]),
        {k: v for k, v in email(901).items() if k != "subject"},
        email(902, **{"from": "someone@elsewhere.example"}),
        email(903, inbox_id=999_999),
        email(904, to=[]),
    ]
    repeated = [email(0, subject="Offer 0 again"), email(905, idempotency_key="single-1")]
    batch = [*valid, *refused, *repeated]
    response = await api.post(
        "/api/v1/emails/batch", json={"emails": batch}, headers=team.member.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert (body["queued"], body["failed"]) == (132, 5)
    assert [(r["status"], r["error"]["code"]) for r in results[130:135]] == [
        (422, "invalid_email"),
        (422, "invalid_request"),
        (422, "invalid_from"),
        (404, "not_found"),
        (422, "invalid_request"),
    ]
    assert "subject" in results[131]["error"]["message"]
    ids = [r["email"]["id"] for r in results[:130]]
    assert len(set(ids)) == 130 and all(r["status"] == 202 for r in results[:130])
    assert results[135]["email"]["id"] == ids[0]  # same key in the batch: the first email
    assert results[136]["email"]["id"] == single.json()["id"]  # key of the single endpoint
    again = await api.post(
        "/api/v1/emails/batch", json={"emails": valid[:10]}, headers=team.member.headers
    )
    assert [r["email"]["id"] for r in again.json()["results"]] == ids[:10]
    assert (
        await api.post("/api/v1/emails/batch", json={"emails": []}, headers=team.member.headers)
    ).json()["error"]["code"] == "invalid_request"

    queued = {r["email"]["id"]: r["email"]["message_id"] for r in results[:130]}
    queued[single.json()["id"]] = single.json()["message_id"]

    async def all_sent() -> bool:
        async with runtime.sessions() as session:
            states = await session.scalars(
                select(OutboundEmail.state).where(OutboundEmail.id.in_(queued))
            )
            return all(state == "sent" for state in states)

    assert await eventually(all_sent, timeout=120)
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboundEmail)) == 131
        logged = Counter(
            await session.scalars(
                select(Message.message_id)
                .join(TimelineEntry, TimelineEntry.message_id == Message.id)
                .where(TimelineEntry.contact_id == ann_id)
            )
        )
    assert logged == Counter(queued.values())

    def message_ids(user: MailboxUser, folder: str) -> Counter[str]:
        parser = BytesHeaderParser()
        return Counter(
            (parser.parsebytes(raw).get("Message-ID") or "").strip()
            for raw in dovecot.messages(user.email, folder)
        )

    async def all_delivered() -> bool:
        return set(message_ids(ann, "INBOX")) >= set(queued.values())

    assert await eventually(all_delivered, timeout=60)
    await asyncio.sleep(1.0)  # a second copy would have arrived by now
    assert message_ids(ann, "INBOX") == Counter(queued.values())
    by_inbox = {inboxes[0]["id"]: me, inboxes[1]["id"]: also_me}
    for inbox_id, user in by_inbox.items():
        expected = {
            r["email"]["message_id"] for r in results[:130] if r["email"]["inbox_id"] == inbox_id
        }
        if inbox_id == inboxes[0]["id"]:
            expected.add(single.json()["message_id"])
        assert message_ids(user, "Sent") == Counter(expected)
