"""Inbox automation end to end through real Dovecot: with the flag on, new mail from a contact
fills the contact's empty properties (never the one a person entered) and becomes a
suggested task in the daily digest; the history from before the flag stays untouched; undo
works; turning the flag off stops it and keeps what was captured."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inboxlink.automation.dates import due_date
from inboxlink.automation.jobs import run_automation
from inboxlink.clock import utcnow
from inboxlink.config import Settings
from inboxlink.notifications.email import deliver_pending
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Notification, User
from tests.integration.test_imap_inbox import connect_body
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually, timeline
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user, wait_for_notification_email
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix

HISTORY = (
    "Could you call me tomorrow about the old order?\n\nBest regards,\nAnna Berg\n"
    "Key Account Manager | Oldco GmbH\nPhone: +49 30 1111111\n"
)
NEW = (
    "Hi,\n\ncan you send me the contract by Friday?\n\nKind regards,\nAnna Berg\n"
    "Head of Procurement | Northwind Ltd\nPhone: +44 20 7946 0958\n"
)
LATER = "Hello again,\n\nBest regards,\nAnna Berg\nMobile: +44 7700 900123\n"


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, mail_ca: MailPki) -> Settings:
    dns_server.start()
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver, extra_ca_file=mail_ca.ca_file, poll_seconds=1.0
    )
    return Settings(**values)


async def _json(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


async def test_new_mail_fills_empty_fields_and_suggests_a_task(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
) -> None:
    me, anna = new_user(dovecot), new_user(dovecot)
    headers = team.member.headers
    dovecot.write_messages(
        me.email,
        [sample_message(anna.email, me.email, message_id="<old@x>", days_ago=2, body=HISTORY)],
    )
    anna_id = await add_contact(api, team.member, anna.email)
    # A person entered the job title: automation must never overwrite it.
    await _json(
        await api.patch(
            f"/api/v1/contacts/{anna_id}", json={"job_title": "Chief Buyer"}, headers=headers
        )
    )
    inbox = await _json(
        await api.post(
            "/api/v1/inboxes",
            json=connect_body(me, dovecot, postfix, inbox_automation=True),
            headers=headers,
        )
    )
    assert inbox["inbox_automation"] is True

    async def logged(count: int) -> bool:
        items = await timeline(api, team.member, anna_id)
        return len([i for i in items if i["type"] == "email"]) >= count

    assert await eventually(lambda: logged(1))
    await run_automation(runtime)
    contact = await _json(await api.get(f"/api/v1/contacts/{anna_id}", headers=headers))
    assert (contact["first_name"], contact["phone"], contact["company"]) == ("", "", "")
    assert (await _json(await api.get("/api/v1/tasks", headers=headers)))["items"] == []

    # Mail dates have whole seconds: let the new one be dated after the flag was turned on.
    await asyncio.sleep(1.1)
    dovecot.deliver(
        me.email, sample_message(anna.email, me.email, message_id="<new@x>", days_ago=0, body=NEW)
    )
    assert await eventually(lambda: logged(2))
    await run_automation(runtime)
    await run_automation(runtime)  # a second pass changes nothing and sends no second digest

    contact = await _json(await api.get(f"/api/v1/contacts/{anna_id}", headers=headers))
    assert contact["first_name"] == "Anna" and contact["last_name"] == "Berg"
    assert contact["company"] == "Northwind Ltd"
    assert contact["phone"] == "+44 20 7946 0958"
    assert contact["job_title"] == "Chief Buyer"  # the person's value stands

    items = await timeline(api, team.member, anna_id)
    captured = {i["field"]: i for i in items if i["type"] == "details_captured"}
    assert set(captured) == {"first_name", "last_name", "company", "phone"}
    assert captured["company"]["source"]["message_id"] == "<new@x>"

    tasks = (await _json(await api.get("/api/v1/tasks?state=suggested", headers=headers)))["items"]
    assert len(tasks) == 1
    task = tasks[0]
    assert task["title"] == "Can you send me the contract by Friday?"
    assert task["due_on"] == str(due_date("by Friday", utcnow().date()))
    assert task["source"]["message_id"] == "<new@x>" and task["contact"]["id"] == anna_id
    async with runtime.sessions() as session:
        digests = list(
            await session.scalars(
                select(Notification).where(
                    Notification.user_id == team.member.id, Notification.kind == "task_digest"
                )
            )
        )
    assert len(digests) == 1 and "send me the contract" in digests[0].body
    # The digest goes by email too, through the notifications' system mail.
    reader = new_user(dovecot)
    async with runtime.sessions() as session, session.begin():
        user = await session.get(User, team.member.id)
        assert user is not None
        user.email = reader.email
    runtime.settings.smtp_url = f"smtp://127.0.0.1:{postfix.smtp_port}?from=robot@example.test"
    await deliver_pending(runtime)
    mailed = await asyncio.to_thread(wait_for_notification_email, dovecot, reader.email)
    assert b"suggested task from your inbox" in mailed and b"send me the contract" in mailed
    accepted = await _json(await api.post(f"/api/v1/tasks/{task['id']}/accept", headers=headers))
    assert accepted["state"] == "open"
    refused = await api.post(f"/api/v1/tasks/{task['id']}/dismiss", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "task_already_decided"

    # Undo a capture: the property is empty again and the same value is not captured again.
    undone = await _json(
        await api.post(
            f"/api/v1/contacts/{anna_id}/changes/{captured['company']['id']}/undo",
            headers=headers,
        )
    )
    assert undone["company"] == ""
    # A person changed the phone since: undoing its capture would lose their value.
    await api.patch(f"/api/v1/contacts/{anna_id}", json={"phone": "+44 1"}, headers=headers)
    conflict = await api.post(
        f"/api/v1/contacts/{anna_id}/changes/{captured['phone']['id']}/undo", headers=headers
    )
    assert conflict.status_code == 409

    # The same message again: the undone company is not captured a second time, and the
    # same request does not become a second task.
    dovecot.deliver(
        me.email, sample_message(anna.email, me.email, message_id="<again@x>", days_ago=0, body=NEW)
    )
    # An out-of-office reply: labelled, its return date on the contact, no task from it.
    dovecot.deliver(
        me.email,
        sample_message(
            anna.email, me.email, message_id="<ooo@x>", subject="Out of office", days_ago=0,
            body="I am out of the office until 4 December 2026. Can you call my colleague?",
        ),
    )  # fmt: skip
    # Your own promise, sent from the CRM, is a task for you too.
    sent = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox["id"], "to": [anna.email], "subject": "Contract",
              "text": "Thanks Anna. I'll call you next week about the contract."},
        headers={**headers, "Idempotency-Key": "promise-1"},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    assert await eventually(lambda: logged(5), timeout=30)
    await run_automation(runtime)
    contact = await _json(await api.get(f"/api/v1/contacts/{anna_id}", headers=headers))
    assert contact["company"] == "" and contact["back_on"] == "2026-12-05"
    items = await timeline(api, team.member, anna_id)
    ooo = next(i for i in items if i["type"] == "email" and i["message_id"] == "<ooo@x>")
    assert ooo["auto_reply"] is True
    tasks = (await _json(await api.get("/api/v1/tasks", headers=headers)))["items"]
    assert sorted((t["source"]["subject"], t["kind"]) for t in tasks) == [
        ("Contract", "promise"),
        ("Hello", "request"),
    ]
    # The digest is daily: today's was sent, the new suggestion waits for tomorrow's.
    async with runtime.sessions() as session:
        kinds = list(
            await session.scalars(
                select(Notification.kind).where(Notification.user_id == team.member.id)
            )
        )
    assert kinds.count("task_digest") == 1

    # Flag off: nothing more is processed, and what was captured stays.
    await _json(
        await api.patch(
            f"/api/v1/inboxes/{inbox['id']}", json={"inbox_automation": False}, headers=headers
        )
    )
    dovecot.deliver(
        me.email,
        sample_message(anna.email, me.email, message_id="<later@x>", days_ago=0, body=LATER),
    )
    assert await eventually(lambda: logged(6))
    await run_automation(runtime)
    contact = await _json(await api.get(f"/api/v1/contacts/{anna_id}", headers=headers))
    assert contact["mobile"] == "" and contact["first_name"] == "Anna"
    assert len((await _json(await api.get("/api/v1/tasks", headers=headers)))["items"]) == 2
