"""The real mail servers the suite relies on behave as the other tests assume."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from collections.abc import Callable
from email.utils import make_msgid

import pytest

from tests.support.certs import self_signed
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.postfix import Postfix

REDUCED = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS MOVE SPECIAL-USE NAMESPACE"


def _context(pki: MailPki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca_file))


def _message(message_id: str, subject: str = "Hello") -> bytes:
    return (
        f"From: a@example.test\r\nTo: b@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n\r\nBody\r\n"
    ).encode()


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    _, data = client.capability()
    return set(data[0].decode().upper().split())


def _login(dovecot: Dovecot, user: MailboxUser) -> imaplib.IMAP4:
    client = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    client.login(user.email, user.password)
    return client


def test_imap_login_plain_and_after_starttls(
    dovecot: Dovecot, mailbox: MailboxUser, mail_ca: MailPki
) -> None:
    _login(dovecot, mailbox).logout()
    client = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    client.starttls(_context(mail_ca))
    assert client.login(mailbox.email, mailbox.password)[0] == "OK"
    client.logout()


def test_imap_implicit_tls_is_verified_against_the_ca(
    dovecot: Dovecot, mailbox: MailboxUser, mail_ca: MailPki
) -> None:
    client = imaplib.IMAP4_SSL(dovecot.host, dovecot.imaps_port, ssl_context=_context(mail_ca))
    assert client.login(mailbox.email, mailbox.password)[0] == "OK"
    client.logout()
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            dovecot.host, dovecot.imaps_port, ssl_context=ssl.create_default_context()
        )


def test_wrong_password_is_refused(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    client = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(mailbox.email, mailbox.password + "x")


def test_special_use_folders_are_listed(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    client = _login(dovecot, mailbox)
    _, listed = client.list()
    lines = [line.decode() for line in listed if isinstance(line, bytes)]
    assert any("\\Sent" in line and line.endswith(" Sent") for line in lines)
    for flag in ("\\Drafts", "\\Trash", "\\Junk", "\\Archive"):
        assert any(flag in line for line in lines)
    _, subscribed = client.lsub()
    assert any(isinstance(line, bytes) and line.endswith(b" Sent") for line in subscribed)
    client.logout()


def test_full_capabilities(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    client = _login(dovecot, mailbox)
    assert {"IDLE", "CONDSTORE", "QRESYNC", "UIDPLUS", "SPECIAL-USE", "MOVE"} <= _capabilities(
        client
    )
    client.logout()


def test_reduced_capabilities(make_dovecot: Callable[..., Dovecot]) -> None:
    server = make_dovecot(capabilities=REDUCED)
    client = _login(server, new_user(server))
    advertised = _capabilities(client)
    assert "UIDPLUS" in advertised
    assert not {"IDLE", "CONDSTORE", "QRESYNC"} & advertised
    client.logout()


def test_self_signed_certificate_is_untrusted(
    make_dovecot: Callable[..., Dovecot], mail_ca: MailPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cert = self_signed(tmp_path_factory.mktemp("self-signed"), ["localhost", "127.0.0.1"])
    server = make_dovecot(cert=cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=_context(mail_ca))


def test_restart_keeps_ports_and_mail(make_dovecot: Callable[..., Dovecot]) -> None:
    server = make_dovecot()
    user = new_user(server)
    server.write_messages(user.email, [_message(make_msgid())])
    server.restart()
    client = _login(server, user)
    assert client.select("INBOX") == ("OK", [b"1"])
    client.logout()


def test_write_messages_fills_a_mailbox(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    dovecot.write_messages(mailbox.email, (_message(f"<m{i}@example.test>") for i in range(1000)))
    dovecot.write_messages(mailbox.email, [_message("<new@example.test>")], seen=False)
    dovecot.write_messages(mailbox.email, [_message("<sent@example.test>")], folder="Sent")
    client = _login(dovecot, mailbox)
    assert client.select("INBOX") == ("OK", [b"1001"])
    assert client.search(None, "UNSEEN")[1] == [b"1001"]
    assert client.select("Sent") == ("OK", [b"1"])
    client.logout()


def test_lmtp_delivery_arrives_in_inbox(dovecot: Dovecot, mailbox: MailboxUser) -> None:
    message_id = make_msgid(domain="example.test")
    dovecot.deliver(mailbox.email, _message(message_id))
    client = _login(dovecot, mailbox)
    assert client.select("INBOX") == ("OK", [b"1"])
    _, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    fetched = data[0]
    assert isinstance(fetched, tuple) and message_id.encode() in fetched[1]
    client.logout()


def test_smtp_auth_through_postfix_delivers_to_dovecot(
    postfix: Postfix, dovecot: Dovecot, mail_ca: MailPki
) -> None:
    alice, bob = new_user(dovecot), new_user(dovecot)
    message_id = make_msgid(domain="example.test")
    with smtplib.SMTP(postfix.host, postfix.smtp_port, local_hostname="[127.0.0.1]") as smtp:
        smtp.starttls(context=_context(mail_ca))
        smtp.login(alice.email, alice.password)
        smtp.sendmail(alice.email, [bob.email], _message(message_id))
    raw = dovecot.wait_for_message(bob.email, message_id, timeout=10)
    assert f"Delivered-To: {bob.email}".encode() in raw


def test_postfix_requires_auth_to_relay_and_offers_implicit_tls(
    postfix: Postfix, mail_ca: MailPki
) -> None:
    assert postfix.submissions_port is not None
    with smtplib.SMTP_SSL(
        postfix.host,
        postfix.submissions_port,
        local_hostname="[127.0.0.1]",
        context=_context(mail_ca),
    ) as smtp:
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"]
        smtp.mail("someone@example.test")
        code, _ = smtp.rcpt("someone@elsewhere.invalid")
        assert code == 554
