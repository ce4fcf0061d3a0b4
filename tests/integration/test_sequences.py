"""Sequences end to end with real Dovecot and Postfix: steps in one thread, a reply stops,
an out-of-office reply pauses and resumes, a real Postfix bounce stops and marks the address."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from inboxlink.config import Settings
from tests.integration.test_imap_inbox import connect_body
from tests.support.accounts import Person, Team
from tests.support.api_helpers import eventually
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.postfix import Postfix


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, mail_ca: MailPki) -> Settings:
    dns_server.start()
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver,
        extra_ca_file=mail_ca.ca_file,
        poll_seconds=1.0,
        sequence_tick_seconds=0.3,
    )
    return Settings(**values)


def steps(*delays: int) -> list[dict[str, Any]]:
    return [
        {
            "subject": "Quick question, {{contact.first_name|there}}" if n == 0 else "",
            "body": f"Hi {{{{contact.first_name|there}}}}, step {n + 1}. — {{{{sender.name}}}}",
            "delay_seconds": delay,
        }
        for n, delay in enumerate(delays)
    ]


def answer(sender: str, to: str, in_reply_to: str, body: str, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, "Re: Quick question"
    mail["Message-ID"] = f"<answer-{time.monotonic_ns()}@client.example.test>"
    mail["In-Reply-To"] = mail["References"] = in_reply_to
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(body)
    return mail.as_bytes()


async def enrollment(api: httpx.AsyncClient, person: Person, enrollment_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/v1/enrollments/{enrollment_id}", headers=person.headers)
    body: dict[str, Any] = response.json()
    return body


async def test_steps_thread_reply_auto_reply_and_bounce(
    api: httpx.AsyncClient, runner: object, team: Team, dovecot: Dovecot, postfix: Postfix
) -> None:
    me, ann, bob = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    gone = "nobody-here@example.test"  # no such mailbox: Postfix bounces it for real
    h = team.member.headers
    created = await api.post("/api/v1/inboxes", json=connect_body(me, dovecot, postfix), headers=h)
    assert created.status_code == 201, created.text
    inbox_id = created.json()["id"]

    async def synced() -> bool:
        body = (await api.get(f"/api/v1/inboxes/{inbox_id}", headers=h)).json()
        return bool(body["sync"]["backfill_complete"])

    assert await eventually(synced)
    contacts = {}
    for address, name in ((ann.email, "Ann Smith"), (bob.email, ""), (gone, "Gone")):
        response = await api.post(
            "/api/v1/contacts", json={"email": address, "name": name}, headers=h
        )
        contacts[address] = response.json()["id"]

    # Errors have the standard shape.
    bad = await api.post(
        "/api/v1/sequences",
        json={"name": "Typo", "steps": [{"subject": "Hi {{contact.frist_name}}", "body": ""}]},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_token"

    follow_up = await api.post(
        "/api/v1/sequences", json={"name": "Follow-up", "steps": steps(0, 2, 10)}, headers=h
    )
    assert follow_up.status_code == 201, follow_up.text
    patient = await api.post(
        "/api/v1/sequences",
        json={"name": "Patient", "auto_reply_pause_seconds": 6, "steps": steps(0, 2, 1)},
        headers=h,
    )
    preview = await api.post(
        f"/api/v1/sequences/{follow_up.json()['id']}/preview",
        json={"contact_id": contacts[ann.email]},
        headers=h,
    )
    assert [s["subject"] for s in preview.json()["steps"]] == [
        "Quick question, Ann",
        "Re: Quick question, Ann",
        "Re: Quick question, Ann",
    ]

    async def enroll(sequence: httpx.Response, *addresses: str) -> list[int]:
        response = await api.post(
            "/api/v1/enrollments",
            json={
                "sequence_id": sequence.json()["id"],
                "contact_ids": [contacts[a] for a in addresses],
                "inbox_id": inbox_id,
            },
            headers=h,
        )
        assert response.status_code == 207, response.text
        return [r["enrollment"]["id"] for r in response.json()["results"]]

    ann_id, gone_id = await enroll(follow_up, ann.email, gone)
    again = await api.post(
        "/api/v1/enrollments",
        json={"sequence_id": follow_up.json()["id"], "contact_ids": [contacts[ann.email]],
              "inbox_id": inbox_id},
        headers=h,
    )  # fmt: skip
    assert again.json()["results"][0]["error"]["code"] == "already_enrolled"

    async def emails_of(enrollment_id: int, count: int) -> list[dict[str, Any]]:
        body = await enrollment(api, team.member, enrollment_id)
        sent = [e for e in body["emails"] if e["state"] == "sent"]
        return sent if len(sent) >= count else []

    # Ann: step 1, then step 2 in the same thread.
    first, second = await eventually(lambda: emails_of(ann_id, 2), timeout=30)
    raw2 = await asyncio.to_thread(dovecot.wait_for_message, ann.email, second["message_id"])
    assert f"In-Reply-To: {first['message_id']}".encode() in raw2
    assert b"Subject: Re: Quick question, Ann" in raw2 and b"Hi Ann, step 2" in raw2
    await asyncio.to_thread(dovecot.wait_for_message, me.email, first["message_id"], folder="Sent")

    # Ann replies: the enrollment stops before step 3.
    started = time.monotonic()
    dovecot.deliver(me.email, answer(ann.email, me.email, second["message_id"], "Yes, let's talk."))

    async def stopped(enrollment_id: int, reason: str) -> bool:
        body = await enrollment(api, team.member, enrollment_id)
        return body["state"] == "stopped" and body["reason"] == reason

    assert await eventually(lambda: stopped(ann_id, "replied"), timeout=20)
    print(f"reply to stopped enrollment: {time.monotonic() - started:.2f} s")
    await asyncio.sleep(10)
    assert len((await enrollment(api, team.member, ann_id))["emails"]) == 2

    # Bob's out-of-office pauses his enrollment; it resumes after the pause and finishes.
    (bob_id,) = await enroll(patient, bob.email)
    (bob_first,) = await eventually(lambda: emails_of(bob_id, 1), timeout=30)
    dovecot.deliver(
        me.email,
        answer(bob.email, me.email, bob_first["message_id"], "I am out of the office.",
               **{"Auto-Submitted": "auto-replied"}),
    )  # fmt: skip

    async def paused() -> bool:
        body = await enrollment(api, team.member, bob_id)
        return body["state"] == "paused" and body["reason"] == "auto_reply"

    assert await eventually(paused, timeout=20)
    assert len((await enrollment(api, team.member, bob_id))["emails"]) == 1

    async def finished() -> bool:
        return (await enrollment(api, team.member, bob_id))["state"] == "finished"

    assert await eventually(finished, timeout=30)
    assert len(await eventually(lambda: emails_of(bob_id, 3))) == 3

    # The nonexistent address: Postfix's real DSN stops it and marks the address bouncing.
    assert await eventually(lambda: stopped(gone_id, "bounced"), timeout=30)
    refused = await api.post(
        "/api/v1/enrollments",
        json={"sequence_id": patient.json()["id"], "contact_ids": [contacts[gone]],
              "inbox_id": inbox_id},
        headers=h,
    )  # fmt: skip
    assert refused.json()["results"][0]["error"]["code"] == "address_bouncing"
    notes = (await api.get("/api/v1/notifications", headers=h)).json()
    kinds = {n["kind"] for n in (notes["items"] if isinstance(notes, dict) else notes)}
    assert {"sequence_replied", "sequence_bounced"} <= kinds
