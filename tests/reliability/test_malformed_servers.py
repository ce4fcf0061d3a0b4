"""Mail servers that answer nonsense (through the TCP proxy, in front of the real Dovecot and
Postfix): garbage in answer to IMAP LOGIN and to EXAMINE (the read-only SELECT), an SMTP
greeting that is not SMTP. The inbox shows a connection error with a code and a plain
message and recovers once the server is sane again; the other inboxes keep syncing and
sending meanwhile; nothing crashes. (Provider APIs answering HTML: test_malformed_apis.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import update

from inboxlink.clock import utcnow
from inboxlink.runtime import Runtime
from inboxlink.store.tables import OutboundEmail
from tests.reliability.helpers import backfilled, connect_body, connect_inbox, sync_state
from tests.support.accounts import Person, Team
from tests.support.api_helpers import add_contact, eventually
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy

GARBAGE = b"\x00\xff\xfe <html>502 Bad Gateway</html>\r\n* 42 NONSENSE )(\r\n"


async def _error_shown(api: httpx.AsyncClient, person: Person, inbox_id: int) -> dict[str, Any]:
    async def shown() -> dict[str, Any] | None:
        return (await sync_state(api, person, inbox_id))["last_error"]

    error = await eventually(shown, timeout=60)
    assert error and error["code"] and len(error["message"]) > 20, error
    return dict(error)


async def _logged(
    api: httpx.AsyncClient, person: Person, contact_id: int, message_id: str, timeout: float = 60
) -> bool:
    async def seen() -> bool:
        response = await api.get(
            f"/api/v1/contacts/{contact_id}/timeline",
            params={"limit": 1000},
            headers=person.headers,
        )
        return any(i["message_id"] == message_id for i in response.json()["items"])

    return await eventually(seen, timeout=timeout)


async def arrived(dovecot: Dovecot, to: MailboxUser, message_id: str) -> None:
    """Wait in a thread: the worker runs on this test's event loop."""
    await asyncio.to_thread(dovecot.wait_for_message, to.email, message_id, timeout=60)


def _mail(dovecot: Dovecot, to: MailboxUser, sender: MailboxUser, message_id: str) -> None:
    dovecot.deliver(
        to.email, sample_message(sender.email, to.email, message_id=message_id, days_ago=0)
    )


async def test_garbage_on_login_and_select_is_a_clear_error_and_other_inboxes_go_on(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    imap_proxy: TcpProxy,
) -> None:
    broken, healthy, ann = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    ann_id = await add_contact(api, team.admin, ann.email)  # one contact for the account
    broken_id = await connect_inbox(
        api, team.member, connect_body(broken, imap_proxy.port, postfix.smtp_port)
    )
    healthy_id = await connect_inbox(
        api, team.admin, connect_body(healthy, dovecot.imap_port, postfix.smtp_port)
    )
    await backfilled(api, team.member, broken_id)
    await backfilled(api, team.admin, healthy_id)

    shown = {}
    for step, after in (("login", b" LOGIN "), ("examine", b" EXAMINE ")):
        imap_proxy.answer_with(GARBAGE, after=after)
        imap_proxy.cut_all()  # the next connection meets the garbage
        error = await _error_shown(api, team.member, broken_id)
        assert broken.password not in error["message"]
        shown[step] = error["code"]
        # Meanwhile the other inbox syncs as usual.
        _mail(dovecot, healthy, ann, f"<healthy-{step}@malformed.example>")
        assert await _logged(api, team.admin, ann_id, f"<healthy-{step}@malformed.example>")
        # The server is sane again: the broken inbox recovers by itself and catches up.
        imap_proxy.answer_with(None)
        _mail(dovecot, broken, ann, f"<after-{step}@malformed.example>")
        assert await _logged(
            api,
            team.member,
            ann_id,
            f"<after-{step}@malformed.example>",
            timeout=120,
        )

        async def cleared() -> bool:
            return (await sync_state(api, team.member, broken_id))["last_error"] is None

        assert await eventually(cleared, timeout=60)
    print(
        f"[figures] imap garbage: error codes shown {shown}; healthy inbox logged 2/2, "
        "broken inbox recovered 2/2"
    )


async def test_smtp_nonsense_greeting_fails_the_send_clearly_and_others_still_send(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    smtp_proxy: TcpProxy,
) -> None:
    broken, healthy, ann = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    broken_id = await connect_inbox(
        api, team.member, connect_body(broken, dovecot.imap_port, smtp_proxy.port)
    )
    healthy_id = await connect_inbox(
        api, team.admin, connect_body(healthy, dovecot.imap_port, postfix.smtp_port)
    )
    smtp_proxy.answer_with(b"HELLO? \x00\xff this is not SMTP\r\n")

    async def send(person: Person, inbox_id: int, subject: str) -> int:
        queued = await api.post(
            "/api/v1/emails",
            json={"inbox_id": inbox_id, "to": [ann.email], "subject": subject, "text": "Hi"},
            headers=person.headers,
        )
        assert queued.status_code == 202, queued.text
        return int(queued.json()["id"])

    stuck = await send(team.member, broken_id, "through the broken server")
    fine = await send(team.admin, healthy_id, "through the healthy server")

    async def email(person: Person, email_id: int) -> dict[str, Any]:
        response = await api.get(f"/api/v1/emails/{email_id}", headers=person.headers)
        body: dict[str, Any] = response.json()
        return body

    async def failed_attempt() -> dict[str, Any] | None:
        return (await email(team.member, stuck))["error"]

    error = await eventually(failed_attempt, timeout=60)
    assert error and error["code"] and len(error["message"]) > 20, error
    assert broken.password not in error["message"]
    await arrived(dovecot, ann, (await email(team.admin, fine))["message_id"])
    assert (await email(team.member, stuck))["state"] != "sent"

    # A sane greeting again: the queued email goes out at its next attempt (brought forward
    # from the 30 s-and-more backoff), once.
    smtp_proxy.answer_with(None)
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(OutboundEmail).where(OutboundEmail.id == stuck).values(next_attempt_at=utcnow())
        )
    message_id = (await email(team.member, stuck))["message_id"]
    await arrived(dovecot, ann, message_id)

    async def sent() -> bool:
        return (await email(team.member, stuck))["state"] == "sent"

    assert await eventually(sent, timeout=30)
    copies = [m for m in dovecot.messages(ann.email) if message_id.encode() in m]
    assert len(copies) == 1
    print(
        f"[figures] smtp nonsense greeting: error shown {error['code']!r}; other inbox sent "
        "1/1; the broken inbox's email sent once after recovery"
    )
