"""ImapConnector against a real Dovecot: login and errors, backfill, resume, incremental,
UIDVALIDITY, read-only proof, IDLE latency, polling fallback, saving to Sent."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import imapclient
import pytest

from inboxlink.config import Settings
from inboxlink.domain.servers import Credentials, Security, ServerSettings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.providers.base import Batch, Folder
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.imap import ImapConnector
from inboxlink.providers.imap_connection import IMAPLIB_TRACE
from tests.support.certs import self_signed
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.ports import free_port

INBOX = Folder("INBOX", "inbox")
REDUCED = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS NAMESPACE"


def message(n: int, *, tag: str = "m", extra: str = "") -> bytes:
    when = format_datetime(datetime.now(UTC) - timedelta(minutes=n))
    return (
        f"From: Customer {n} <customer{n}@client.example>\r\n"
        f"To: owner@example.test\r\nSubject: {tag} number {n}\r\nDate: {when}\r\n"
        f"Message-ID: <{tag}{n}@client.example>\r\n{extra}\r\nHello {n}\r\n"
    ).encode()


def connector(
    server: Dovecot,
    user: MailboxUser,
    *,
    security: Security = "none",
    host: str = "127.0.0.1",
    port: int | None = None,
    password: str | None = None,
    ca: Path | None = None,
    trust_any: bool = False,
    **options: Any,
) -> ImapConnector:
    settings = Settings(allow_private_networks="1")
    return ImapConnector(
        ServerSettings(host, port or server.imap_port, security, user.email),
        Credentials(user.email, password or user.password),
        NetworkPolicy(settings, Resolver(settings)),
        trust_any_certificate=trust_any,
        extra_ca_file=ca,
        timeout=10,
        backfill_days=options.pop("backfill_days", 90),
        **options,
    )


@pytest.fixture
async def imap(dovecot: Dovecot, mailbox: MailboxUser) -> AsyncIterator[ImapConnector]:
    connection = connector(dovecot, mailbox, batch_size=500)
    yield connection
    await connection.close()


async def collect(connection: ImapConnector, folder: Folder, checkpoint: Any) -> list[Batch]:
    return [batch async for batch in connection.changes(folder, checkpoint)]


def ids(batches: list[Batch]) -> list[str]:
    return [m.provider_id for b in batches for m in b.messages]


def uid(provider_id: str) -> int:
    return int(provider_id.split(":")[1])


def client(server: Dovecot, user: MailboxUser) -> imapclient.IMAPClient:
    """An independent session, for changing the mailbox behind the connector's back."""
    imap = imapclient.IMAPClient(server.host, server.imap_port, ssl=False)
    imap.login(user.email, user.password)
    return imap


# -- logging in ----------------------------------------------------------------------------


async def test_verify_over_starttls_finds_sent_by_special_use(
    dovecot: Dovecot, mailbox: MailboxUser, mail_ca: MailPki
) -> None:
    connection = connector(
        dovecot, mailbox, security="starttls", host="localhost", ca=mail_ca.ca_file
    )
    info = await connection.verify()
    await connection.close()
    assert info.email == mailbox.email
    assert [(f.name, f.role) for f in info.folders] == [("INBOX", "inbox"), ("Sent", "sent")]
    assert {"IDLE", "CONDSTORE", "QRESYNC", "SPECIAL-USE"} <= info.capabilities


async def test_implicit_tls_verifies_the_host_name_while_connecting_to_the_checked_ip(
    dovecot: Dovecot, mailbox: MailboxUser, mail_ca: MailPki
) -> None:
    # "localhost" resolves to loopback addresses (maybe ::1 first, where nothing listens);
    # the certificate is checked against the name, not the address connected to.
    connection = connector(
        dovecot,
        mailbox,
        security="ssl",
        host="localhost",
        port=dovecot.imaps_port,
        ca=mail_ca.ca_file,
    )
    assert (await connection.verify()).folders
    await connection.close()


async def test_wrong_password_is_auth_failed_and_never_echoed(
    dovecot: Dovecot, mailbox: MailboxUser
) -> None:
    connection = connector(dovecot, mailbox, password="not-the-password-xyz")
    with pytest.raises(ConnectorError) as failure:
        await connection.verify()
    assert failure.value.code == "auth_failed" and not failure.value.transient
    assert "not-the-password-xyz" not in failure.value.message


async def test_closed_port_is_unreachable(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    connection = connector(dovecot, mailbox, port=free_port())
    with pytest.raises(ConnectorError) as failure:
        await connection.verify()
    assert failure.value.code == "imap_unreachable" and failure.value.transient


async def test_self_signed_certificate_needs_trust_any(make_dovecot: Any) -> None:
    pair = self_signed(Path(tempfile.mkdtemp(prefix="imap-selfsigned-")), ["localhost"])
    server: Dovecot = make_dovecot(cert=pair)
    user = new_user(server)
    strict = connector(server, user, security="ssl", host="localhost", port=server.imaps_port)
    with pytest.raises(ConnectorError) as failure:
        await strict.verify()
    assert failure.value.code == "certificate_untrusted"
    trusting = connector(
        server, user, security="ssl", host="localhost", port=server.imaps_port, trust_any=True
    )
    assert (await trusting.verify()).email == user.email
    await trusting.close()


# -- backfill --------------------------------------------------------------------------------


async def test_backfill_is_newest_first_in_batches_with_totals(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, (message(n) for n in range(1200)))
    batches = await collect(imap, INBOX, None)
    assert [len(b.messages) for b in batches] == [500, 500, 200]
    assert [b.total for b in batches] == [1200] * 3
    assert [b.backfill_complete for b in batches] == [False, False, True]
    uids = [uid(i) for i in ids(batches)]
    assert uids == sorted(uids, reverse=True) and len(set(uids)) == 1200
    subjects = {m.headers.message_id for b in batches for m in b.messages}
    assert subjects == {f"<m{n}@client.example>" for n in range(1200)}
    assert await collect(imap, INBOX, batches[-1].checkpoint) == []  # nothing new


async def test_resume_from_a_mid_backfill_checkpoint_yields_exactly_the_rest(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, (message(n) for n in range(1200)))
    everything = ids(await collect(imap, INBOX, None))
    pass_ = imap.changes(INBOX, None)
    first = await anext(pass_)
    await pass_.aclose()
    # A crash after storing the first batch: a fresh connector resumes from its checkpoint.
    await imap.close()
    rest = await collect(imap, INBOX, first.checkpoint)
    assert ids([first]) + ids(rest) == everything
    assert rest[-1].backfill_complete and all(b.total == 1200 for b in rest)


async def test_messages_older_than_backfill_days_are_skipped(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, (message(n, tag="old") for n in range(30)))
    old = time.time() - 200 * 86400
    for file in (dovecot.folder_path(mailbox.email) / "cur").iterdir():
        os.utime(file, (old, old))  # Maildir INTERNALDATE is the file's mtime
    dovecot.write_messages(mailbox.email, (message(n, tag="new") for n in range(20)))
    batches = await collect(imap, INBOX, None)
    found = {m.headers.message_id for b in batches for m in b.messages}
    assert found == {f"<new{n}@client.example>" for n in range(20)}
    assert batches[-1].total == 20 and batches[-1].backfill_complete


async def test_empty_folder_completes_backfill_at_once(imap: ImapConnector) -> None:
    [batch] = await collect(imap, INBOX, None)
    assert batch.messages == [] and batch.total == 0 and batch.backfill_complete


# -- incremental ----------------------------------------------------------------------------


async def test_incremental_reports_new_and_expunged_messages(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, (message(n) for n in range(10)))
    checkpoint = (await collect(imap, INBOX, None))[-1].checkpoint
    dovecot.deliver(mailbox.email, message(100, tag="fresh"))
    [batch] = await collect(imap, INBOX, checkpoint)
    assert [m.headers.message_id for m in batch.messages] == ["<fresh100@client.example>"]
    assert not batch.backfill_complete and batch.total == 1

    other = client(dovecot, mailbox)
    other.select_folder("INBOX")
    doomed = min(other.search(["ALL"]))
    other.delete_messages([doomed])
    other.expunge()
    other.logout()
    [gone] = await collect(imap, INBOX, batch.checkpoint)
    assert gone.messages == [] and [uid(i) for i in gone.deleted] == [doomed]
    assert await collect(imap, INBOX, gone.checkpoint) == []


async def test_changes_after_a_no_change_resync_are_still_seen(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    """A resync of an unchanged folder asks the selected folder with a NOOP and the others
    with STATUS instead of opening them again; new mail and expunges after it still count."""
    sent = Folder("Sent", "sent")
    dovecot.write_messages(mailbox.email, (message(n) for n in range(5)))
    dovecot.write_messages(mailbox.email, (message(n, tag="s") for n in range(3)), folder="Sent")
    sent_checkpoint = (await collect(imap, sent, None))[-1].checkpoint
    checkpoint = (await collect(imap, INBOX, None))[-1].checkpoint
    for _ in range(2):  # the second time INBOX is selected with nothing heard since
        assert await collect(imap, INBOX, checkpoint) == []
        assert await collect(imap, sent, sent_checkpoint) == []
    dovecot.deliver(mailbox.email, message(100, tag="fresh"))
    [batch] = await collect(imap, INBOX, checkpoint)
    assert [m.headers.message_id for m in batch.messages] == ["<fresh100@client.example>"]
    assert await collect(imap, INBOX, batch.checkpoint) == []

    other = client(dovecot, mailbox)
    other.append("Sent", message(7, tag="filed"))
    other.select_folder("INBOX")
    doomed = min(other.search(["ALL"]))
    other.delete_messages([doomed])
    other.expunge()
    other.logout()
    [gone] = await collect(imap, INBOX, batch.checkpoint)
    assert gone.messages == [] and [uid(i) for i in gone.deleted] == [doomed]
    [filed] = await collect(imap, sent, sent_checkpoint)
    assert [m.headers.message_id for m in filed.messages] == ["<filed7@client.example>"]


async def test_uidvalidity_change_backfills_the_folder_again(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    sent = Folder("Sent", "sent")
    dovecot.write_messages(mailbox.email, (message(n) for n in range(5)), folder="Sent")
    before = (await collect(imap, sent, None))[-1].checkpoint
    other = client(dovecot, mailbox)
    other.delete_folder("Sent")
    time.sleep(1.1)  # Dovecot derives a new UIDVALIDITY from the clock
    other.create_folder("Sent")
    for n in range(3):
        other.append("Sent", message(n, tag="again"))
    other.logout()
    batches = await collect(imap, sent, before)
    assert batches[-1].checkpoint["uidvalidity"] != before["uidvalidity"]
    assert {m.headers.message_id for b in batches for m in b.messages} == {
        f"<again{n}@client.example>" for n in range(3)
    }
    assert batches[-1].backfill_complete and batches[-1].total == 3


def kick(server: Dovecot, user: MailboxUser) -> None:
    """Make the server drop every connection of ``user``, as a restart or timeout would."""
    subprocess.run(["doveadm", "-c", str(server.config_path), "kick", user.email], check=True)


async def test_a_dropped_connection_is_reopened_between_calls(
    make_dovecot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server: Dovecot = make_dovecot()
    user = new_user(server)
    server.write_messages(user.email, (message(n) for n in range(3)))
    connection = connector(server, user)
    await connection.verify()
    kick(server, user)
    with caplog.at_level(logging.INFO, "inboxlink.providers.imap_connection"):
        assert len(ids(await collect(connection, INBOX, None))) == 3
    assert "reconnecting" in caplog.text
    kick(server, user)
    server.stop()
    with pytest.raises(ConnectorError) as failure:
        await collect(connection, INBOX, None)
    assert failure.value.code == "imap_unreachable" and failure.value.transient
    await connection.close()


# -- read-only proof ----------------------------------------------------------------------


def snapshot(server: Dovecot, user: MailboxUser) -> tuple[dict[int, Any], list[tuple[str, str]]]:
    """Flags and content as IMAP reports them, and the Maildir files' content and flags."""
    other = client(server, user)
    other.select_folder("INBOX", readonly=True)
    fetched = other.fetch(other.search(["ALL"]), ["FLAGS", "BODY.PEEK[]"])
    other.logout()
    over_imap = {
        n: (sorted(set(d[b"FLAGS"]) - {b"\\Recent"}), hashlib.sha256(d[b"BODY[]"]).hexdigest())
        for n, d in fetched.items()
    }
    folder = server.folder_path(user.email)
    on_disk = sorted(
        (hashlib.sha256(f.read_bytes()).hexdigest(), f.name.partition(":2,")[2])
        for sub in ("cur", "new")
        for f in (folder / sub).iterdir()
    )
    return over_imap, on_disk


async def test_a_full_sync_changes_nothing_in_the_mailbox(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, (message(n) for n in range(40)), seen=True)
    dovecot.write_messages(mailbox.email, (message(n, tag="unread") for n in range(40)), seen=False)
    before = snapshot(dovecot, mailbox)
    assert sum(not flags for flags, _ in before[0].values()) == 40  # 40 unread

    batches = await collect(imap, INBOX, None)
    bodies = await imap.fetch_raw(INBOX, ids(batches))
    assert len(bodies) == 80 and all(b"Hello" in raw for raw in bodies.values())
    assert await collect(imap, INBOX, batches[-1].checkpoint) == []
    assert await imap.message_ids_in(INBOX, ["<unread3@client.example>"])
    assert await imap.wait_for_change(0.3) is False
    assert snapshot(dovecot, mailbox) == before


async def test_imaplib_traces_the_protocol_only_when_its_logger_wants_it(
    dovecot: Dovecot, mailbox: MailboxUser, caplog: pytest.LogCaptureFixture
) -> None:
    """imapclient switches imaplib's trace on for every connection; formatting it cost 13 %
    of a full ingest (bench). Off by default, still there for someone debugging."""
    dovecot.write_messages(mailbox.email, [message(1)])
    quiet = connector(dovecot, mailbox)
    with caplog.at_level(logging.WARNING, IMAPLIB_TRACE):
        await quiet.fetch_raw(INBOX, ids(await collect(quiet, INBOX, None)))
        # The logger drops what imaplib formats, so only imaplib's own level shows it.
        assert (await quiet._session.connection()).client._imap.debug == 0
    await quiet.close()
    traced = connector(dovecot, mailbox)
    with caplog.at_level(logging.DEBUG, IMAPLIB_TRACE):
        await traced.fetch_raw(INBOX, ids(await collect(traced, INBOX, None)))
    assert "Hello 1" in caplog.text
    await traced.close()


async def test_fetch_raw_skips_ids_of_another_uidvalidity(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    dovecot.write_messages(mailbox.email, [message(1)])
    [batch] = await collect(imap, INBOX, None)
    [real] = ids([batch])
    stale = f"1{real}"
    found = await imap.fetch_raw(INBOX, [real, stale, "garbage"])
    assert list(found) == [real] and found[real] == message(1)


# -- waiting for mail ---------------------------------------------------------------------


async def test_idle_wakes_on_a_delivery_long_before_its_timeout(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    """IDLE, not the 30 s timeout, ends the wait (how fast is the bench's push row; a
    latency bound here failed on a loaded machine)."""
    await collect(imap, INBOX, None)
    waiting = asyncio.create_task(imap.wait_for_change(30))
    await asyncio.sleep(0.5)  # in IDLE by now
    assert not waiting.done()
    await asyncio.to_thread(dovecot.deliver, mailbox.email, message(7, tag="push"))
    assert await asyncio.wait_for(waiting, 10) is True
    # The connection is usable again at once, and sees the message.
    [batch] = await collect(imap, INBOX, None)
    assert batch.total == 1


async def test_idle_times_out_without_change(imap: ImapConnector) -> None:
    started = time.monotonic()
    assert await imap.wait_for_change(0.5) is False
    assert time.monotonic() - started < 2


async def test_a_change_between_sync_and_wait_is_not_slept_through(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    await collect(imap, INBOX, None)
    dovecot.deliver(mailbox.email, message(8, tag="between"))
    assert await asyncio.wait_for(imap.wait_for_change(30), 5) is True


async def test_server_without_condstore_qresync_idle_works_by_polling(
    make_dovecot: Any,
) -> None:
    server: Dovecot = make_dovecot(capabilities=REDUCED)
    user = new_user(server)
    server.write_messages(user.email, (message(n) for n in range(12)))
    connection = connector(server, user, batch_size=5, poll_seconds=0.2)
    info = await connection.verify()
    assert not {"IDLE", "CONDSTORE", "QRESYNC"} & info.capabilities
    assert ("Sent", "sent") in [(f.name, f.role) for f in info.folders]

    batches = await collect(connection, INBOX, None)
    assert [len(b.messages) for b in batches] == [5, 5, 2] and batches[-1].backfill_complete
    assert (
        "highestmodseq" not in batches[-1].checkpoint or not batches[-1].checkpoint["highestmodseq"]
    )

    waiting = asyncio.create_task(connection.wait_for_change(30))
    await asyncio.sleep(0.3)
    delivered = time.monotonic()
    await asyncio.to_thread(server.deliver, user.email, message(50, tag="polled"))
    assert await asyncio.wait_for(waiting, 5) is True
    assert time.monotonic() - delivered < 1.0
    [batch] = await collect(connection, INBOX, batches[-1].checkpoint)
    assert [m.headers.message_id for m in batch.messages] == ["<polled50@client.example>"]
    await connection.close()


# -- outbox support ------------------------------------------------------------------------


async def test_append_sent_then_find_message_id(
    dovecot: Dovecot, mailbox: MailboxUser, imap: ImapConnector
) -> None:
    info = await imap.verify()
    sent = next(f for f in info.folders if f.role == "sent")
    raw = message(1, tag="outgoing")
    assert not await imap.message_ids_in(sent, ["<outgoing1@client.example>"])
    await imap.append_sent([raw])
    assert await imap.message_ids_in(sent, ["<outgoing1@client.example>"])
    assert await imap.message_ids_in("Sent", ["<outgoing1@client.example>"])
    files = list((dovecot.folder_path(mailbox.email, "Sent") / "cur").iterdir())
    assert [f.read_bytes() for f in files] == [raw.replace(b"\r\n", b"\n")]  # Maildir uses LF
    assert files[0].name.endswith(":2,S")  # saved as read


def sent_copies(server: Dovecot, user: MailboxUser) -> list[tuple[bytes, str]]:
    """Each message of Sent with its Maildir flags."""
    files = (server.folder_path(user.email, "Sent") / "cur").iterdir()
    return sorted((f.read_bytes(), f.name.rpartition(":2,")[2]) for f in files)


@pytest.mark.parametrize("capabilities", [None, REDUCED], ids=["multiappend", "append-each"])
async def test_many_sent_copies_in_one_call_and_one_search(
    make_dovecot: Any, capabilities: str | None
) -> None:
    """The outbox files a batch: with MULTIAPPEND in one command, without it an APPEND each;
    every copy once, read; the look-up tells exactly which Message-IDs are there
    (HEADER matches substrings: <outgoing1@..> must not count as <outgoing11@..>)."""
    server: Dovecot = make_dovecot(capabilities=capabilities)
    user = new_user(server)
    connection = connector(server, user)
    info = await connection.verify()
    assert ("MULTIAPPEND" in info.capabilities) is (capabilities is None)
    raws = [message(n, tag="outgoing", extra=f"X-Size: {'x' * n * 50}\r\n") for n in range(40)]
    wanted = [f"<outgoing{n}@client.example>" for n in range(0, 40, 3)]
    assert await connection.message_ids_in("Sent", wanted) == set()
    await connection.append_sent(raws[:11])
    await connection.append_sent(raws[11:])
    asked = [*wanted, "<outgoing1@client.exampl>", "<nothing@client.example>"]
    assert await connection.message_ids_in("Sent", asked) == set(wanted)
    copies = sent_copies(server, user)
    assert [raw for raw, _ in copies] == sorted(r.replace(b"\r\n", b"\n") for r in raws)
    assert {flags for _, flags in copies} == {"S"}
    # A second look on the same connection, after appending to the selected folder.
    await connection.append_sent([message(99, tag="late")])
    assert await connection.message_ids_in("Sent", ["<late99@client.example>"]) == {
        "<late99@client.example>"
    }
    await connection.close()
