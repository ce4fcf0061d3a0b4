"""The mailbox changing under the sync: the Sent folder deleted and recreated with different
content (a new UIDVALIDITY) in the middle of its backfill, and messages moved between INBOX
and Sent during the backfill and during incremental sync. Whatever is in the mailbox at the
end is on the timeline exactly once."""

from __future__ import annotations

import asyncio
import imaplib
from email.parser import BytesHeaderParser

import httpx

from inboxlink.runtime import Runtime
from tests.reliability.figures import compare
from tests.reliability.helpers import (
    backfilled,
    connect_body,
    connect_inbox,
    sync_state,
    timeline_ids,
)
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy

INBOX_SIZE = 60
SENT_SIZE = 300


class MailClient:
    """Another mail client of the same user (straight to Dovecot, not through the proxy)."""

    def __init__(self, dovecot: Dovecot, user: MailboxUser):
        self.imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
        self.imap.login(user.email, user.password)

    def uidvalidity(self, folder: str) -> int:
        _, data = self.imap.status(folder, "(UIDVALIDITY)")
        return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))

    def move(self, source: str, target: str, every: int) -> int:
        """Move every ``every``-th message of ``source`` to ``target``; returns how many."""
        self.imap.select(source)
        _, data = self.imap.uid("SEARCH", "ALL")
        uids = data[0].split()[::every]
        for uid in uids:
            status, _ = self.imap.uid("MOVE", uid, target)
            assert status == "OK"
        return len(uids)

    def contents(self, folder: str) -> list[bytes]:
        self.imap.select(folder, readonly=True)
        _, data = self.imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
        return [part[1] for part in data if isinstance(part, tuple)]

    def recreate(self, folder: str, messages: list[bytes]) -> None:
        """DELETE and CREATE ``folder`` (a new UIDVALIDITY), then APPEND ``messages``."""
        self.imap.select("INBOX")
        assert self.imap.delete(folder)[0] == "OK"
        assert self.imap.create(folder)[0] == "OK"
        for raw in messages:
            assert self.imap.append(folder, "(\\Seen)", None, raw)[0] == "OK"

    def close(self) -> None:
        self.imap.logout()


def involving(dovecot: Dovecot, user: MailboxUser, contact: str) -> set[str]:
    """Message-IDs in INBOX and Sent with ``contact`` among the participants."""
    parser = BytesHeaderParser()
    found = set()
    for folder in ("INBOX", "Sent"):
        for raw in dovecot.messages(user.email, folder):
            headers = parser.parsebytes(raw)
            if contact in f"{headers['From']} {headers['To']}":
                found.add(str(headers["Message-ID"]).strip())
    return found


async def test_sent_recreated_and_messages_moved_while_syncing(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    imap_proxy: TcpProxy,
) -> None:
    me, ann, other = new_user(dovecot), new_user(dovecot), new_user(dovecot)
    inbox = [
        sample_message(
            ann.email if n % 2 else other.email, me.email, message_id=f"<in{n}@fold.example>"
        )
        for n in range(INBOX_SIZE)
    ]
    sent = [
        sample_message(
            me.email, ann.email if n % 2 else other.email, message_id=f"<out{n}@fold.example>"
        )
        for n in range(SENT_SIZE)
    ]
    dovecot.write_messages(me.email, inbox)
    dovecot.write_messages(me.email, sent, folder="Sent")
    ever = involving(dovecot, me, ann.email)
    ann_id = await add_contact(api, team.member, ann.email)
    imap_proxy.delay = 0.01  # slow the backfill down so the change lands in the middle
    inbox_id = await connect_inbox(
        api, team.member, connect_body(me, imap_proxy.port, postfix.smtp_port)
    )

    async def in_sent_backfill() -> bool:
        state = await sync_state(api, team.member, inbox_id)
        return int(state["messages_scanned"]) > INBOX_SIZE + 50

    assert await eventually(in_sent_backfill, timeout=60)
    # Freeze the sync in the middle of a FETCH while another client reshapes the mailbox.
    imap_proxy.hold_after(b"FETCH")
    assert await asyncio.to_thread(imap_proxy.held.wait, 30)
    client = await asyncio.to_thread(MailClient, dovecot, me)
    try:
        before = client.uidvalidity("Sent")
        moved = client.move("INBOX", "Sent", 4) + client.move("Sent", "INBOX", 9)
        kept = client.contents("Sent")[::2]
        fresh = [
            sample_message(me.email, ann.email, message_id=f"<new{n}@fold.example>")
            for n in range(20)
        ]
        await asyncio.to_thread(client.recreate, "Sent", kept + fresh)
        after = client.uidvalidity("Sent")
    finally:
        client.close()
    state_at_change = await sync_state(api, team.member, inbox_id)
    imap_proxy.delay = 0.0
    imap_proxy.release()
    assert after != before and not state_at_change["backfill_complete"]

    ever |= involving(dovecot, me, ann.email)
    await backfilled(api, team.member, inbox_id)
    expected = involving(dovecot, me, ann.email)

    async def all_logged() -> bool:
        return expected <= set(await timeline_ids(api, team.member, ann_id))

    assert await eventually(all_logged, timeout=60), await sync_state(api, team.member, inbox_id)
    logged = await timeline_ids(api, team.member, ann_id)
    # Gone from the mailbox (the old Sent's other half) may stay logged, as a CRM keeps history.
    figures = compare(
        "Sent recreated (new UIDVALIDITY) + moves mid-backfill",
        expected,
        [m for m in logged if m in expected or m not in ever],
        detail=f"moved={moved} recreated_with={len(kept) + len(fresh)} "
        f"gone_but_logged={len(set(logged) - expected)}",
    )
    assert len(logged) == len(set(logged)) and figures.clean

    # Incremental: more moves both ways while new mail arrives.
    client = await asyncio.to_thread(MailClient, dovecot, me)
    try:
        for n in range(3):
            dovecot.deliver(
                me.email, sample_message(ann.email, me.email, message_id=f"<late{n}@fold.example>")
            )
            moved += client.move("INBOX", "Sent", 5) + client.move("Sent", "INBOX", 7)
            await asyncio.sleep(0.5)
    finally:
        client.close()
    expected = involving(dovecot, me, ann.email)
    assert await eventually(all_logged, timeout=60), await sync_state(api, team.member, inbox_id)
    await asyncio.sleep(3)  # two more polls: a duplicate would show up by now
    logged = await timeline_ids(api, team.member, ann_id)
    figures = compare(
        "messages moved INBOX<->Sent during incremental sync",
        expected,
        [m for m in logged if m in expected or m not in ever],
        detail=f"moved_total={moved}",
    )
    assert len(logged) == len(set(logged)) and figures.clean
    assert (await sync_state(api, team.member, inbox_id))["state"] == "connected"
