"""SmtpSender against the real Postfix from the mail fixtures (delivering into Dovecot)."""

from __future__ import annotations

from email.parser import BytesHeaderParser

import pytest

from inboxlink.config import Settings
from inboxlink.domain.servers import Credentials, Security, ServerSettings
from inboxlink.mail.headers import Mailbox
from inboxlink.mail.outgoing import OutgoingMessage, new_message_id
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.smtp import SmtpSender
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.ports import free_port
from tests.support.postfix import REFUSED_RECIPIENT, Postfix


class FixedResolver(Resolver):
    """Answers from a table, so a test name can point at loopback without a DNS server."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.uses_system_resolver = False
        self._answers = answers

    async def addresses(self, host: str) -> list[str]:
        return self._answers.get(host, [])


def _policy(answers: dict[str, list[str]] | None = None) -> NetworkPolicy:
    settings = Settings(allow_private_networks="1")
    return NetworkPolicy(settings, FixedResolver(answers) if answers else Resolver(settings))


def _sender(
    postfix: Postfix,
    user: MailboxUser,
    *,
    security: Security = "starttls",
    port: int | None = None,
    host: str = "127.0.0.1",
    password: str | None = None,
    ca: MailPki | None = None,
    trust_any: bool = False,
    policy: NetworkPolicy | None = None,
) -> SmtpSender:
    return SmtpSender(
        ServerSettings(host, port or postfix.smtp_port, security, user.email),
        Credentials(user.email, user.password if password is None else password),
        policy or _policy(),
        trust_any_certificate=trust_any,
        extra_ca_file=ca.ca_file if ca else None,
        timeout=5.0,
    )


async def _code_of(sender: SmtpSender) -> str:
    with pytest.raises(ConnectorError) as failure:
        await sender.verify()
    return failure.value.code


@pytest.fixture
def alice(dovecot: Dovecot) -> MailboxUser:
    return new_user(dovecot)


async def test_verify_over_starttls_with_the_ca(
    postfix: Postfix, alice: MailboxUser, mail_ca: MailPki
) -> None:
    await _sender(postfix, alice, ca=mail_ca).verify()


async def test_verify_over_implicit_tls(
    postfix: Postfix, alice: MailboxUser, mail_ca: MailPki
) -> None:
    assert postfix.submissions_port is not None
    await _sender(
        postfix, alice, security="ssl", port=postfix.submissions_port, ca=mail_ca
    ).verify()
    assert (
        await _code_of(_sender(postfix, alice, security="ssl", port=postfix.submissions_port))
        == "certificate_untrusted"
    )


async def test_verify_without_tls(postfix: Postfix, alice: MailboxUser) -> None:
    await _sender(postfix, alice, security="none").verify()


async def test_wrong_password_is_smtp_auth_failed(
    postfix: Postfix, alice: MailboxUser, mail_ca: MailPki
) -> None:
    wrong = "not-" + alice.password
    with pytest.raises(ConnectorError) as failure:
        await _sender(postfix, alice, password=wrong, ca=mail_ca).verify()
    assert failure.value.code == "smtp_auth_failed"
    assert not failure.value.transient
    assert wrong not in str(failure.value.to_dict())


async def test_closed_port_is_unreachable(postfix: Postfix, alice: MailboxUser) -> None:
    with pytest.raises(ConnectorError) as failure:
        await _sender(postfix, alice, port=free_port()).verify()
    assert failure.value.code == "smtp_unreachable"
    assert "connection refused" in failure.value.message


async def test_unknown_host_is_unreachable(postfix: Postfix, alice: MailboxUser) -> None:
    policy = _policy({"other.example.test": ["127.0.0.1"]})
    sender = _sender(postfix, alice, host="nowhere.example.test", policy=policy)
    assert await _code_of(sender) == "smtp_unreachable"


async def test_certificate_from_unknown_ca_is_untrusted(
    postfix: Postfix, alice: MailboxUser
) -> None:
    assert await _code_of(_sender(postfix, alice)) == "certificate_untrusted"


async def test_trust_any_certificate_accepts_it(postfix: Postfix, alice: MailboxUser) -> None:
    await _sender(postfix, alice, trust_any=True).verify()


async def test_tls_name_is_the_host_while_connecting_to_checked_addresses(
    postfix: Postfix, alice: MailboxUser, mail_ca: MailPki
) -> None:
    # 127.0.0.2 refuses (Postfix listens on 127.0.0.1 only): the next address is tried.
    policy = _policy({"mail.example.test": ["127.0.0.2", "127.0.0.1"]})
    await _sender(postfix, alice, host="mail.example.test", ca=mail_ca, policy=policy).verify()


async def test_send_delivers_without_bcc_header(
    postfix: Postfix, dovecot: Dovecot, alice: MailboxUser, mail_ca: MailPki
) -> None:
    bob, carol = new_user(dovecot), new_user(dovecot)
    message = OutgoingMessage(
        sender=Mailbox(alice.email, "Alice"),
        to=(Mailbox(bob.email, "Bob"),),
        bcc=(Mailbox(carol.email),),
        subject="Quarterly numbers",
        message_id=new_message_id(alice.email),
        text="Hello Bob, see you — Alice",
    )
    await _sender(postfix, alice, ca=mail_ca).send(message)
    for user in (bob, carol):
        raw = dovecot.wait_for_message(user.email, message.message_id, timeout=10)
        headers = BytesHeaderParser().parsebytes(raw)
        assert headers["Subject"] == "Quarterly numbers"
        assert headers["Bcc"] is None
        assert carol.email.encode() not in raw.split(b"\n\n", 1)[1]


async def test_refused_recipient_sends_to_nobody(
    postfix: Postfix, dovecot: Dovecot, alice: MailboxUser, mail_ca: MailPki
) -> None:
    bob = new_user(dovecot)
    sender = _sender(postfix, alice, ca=mail_ca)

    def to(*addresses: str) -> OutgoingMessage:
        return OutgoingMessage(
            sender=Mailbox(alice.email),
            to=tuple(Mailbox(a) for a in addresses),
            subject="Hi",
            message_id=new_message_id(alice.email),
            text="Hi",
        )

    refused = to(bob.email, REFUSED_RECIPIENT)
    with pytest.raises(ConnectorError) as failure:
        await sender.send(refused)
    assert failure.value.code == "recipient_refused"
    assert REFUSED_RECIPIENT in failure.value.message
    assert failure.value.extra["recipients"] == [REFUSED_RECIPIENT]

    # Postfix delivers in queue order: once a later message arrived, the refused one never will.
    later = to(bob.email)
    await sender.send(later)
    dovecot.wait_for_message(bob.email, later.message_id, timeout=10)
    ids = [BytesHeaderParser().parsebytes(raw)["Message-ID"] for raw in dovecot.messages(bob.email)]
    assert ids == [later.message_id]
