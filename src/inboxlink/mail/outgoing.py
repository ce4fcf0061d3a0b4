"""An email to send, validated against header injection, and its RFC 5322 bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from inboxlink.errors import AppError
from inboxlink.mail.headers import Mailbox, format_mailbox


class InvalidHeader(AppError):
    def __init__(self, field_name: str):
        super().__init__(
            "invalid_header",
            f"The {field_name} contains a line break or control character, which email headers "
            "cannot carry. Remove it and send again.",
            status=422,
        )


def check_header_value(field_name: str, value: str) -> str:
    """Refuse CR, LF and other control characters (header injection)."""
    if any(ord(ch) < 32 and ch != "\t" for ch in value) or "\x7f" in value:
        raise InvalidHeader(field_name)
    return value


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    sender: Mailbox
    to: tuple[Mailbox, ...]
    subject: str
    message_id: str
    text: str = ""
    html: str = ""
    cc: tuple[Mailbox, ...] = ()
    bcc: tuple[Mailbox, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    #: The Date header: the same in what is sent, filed in Sent and logged.
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: ``to_bytes`` by Bcc-or-not: the outbox needs the bytes up to three times (SMTP, Sent,
    #: timeline) and building them was a quarter of its CPU (bench send row, py-spy).
    _built: dict[bool, bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if "\x00" in self.text or "\x00" in self.html:
            raise AppError(
                "invalid_body",
                "The message contains a NUL character, which email cannot carry. Remove it "
                "and send again.",
                status=422,
            )
        check_header_value("subject", self.subject)
        check_header_value("In-Reply-To", self.in_reply_to)
        for label, people in (
            ("From", (self.sender,)),
            ("To", self.to),
            ("Cc", self.cc),
            ("Bcc", self.bcc),
        ):
            for person in people:
                check_header_value(f"{label} address", person.email)
                check_header_value(f"{label} name", person.name)

    @property
    def recipients(self) -> list[str]:
        return [m.email for m in (*self.to, *self.cc, *self.bcc)]

    def to_bytes(self, *, include_bcc: bool = False) -> bytes:
        """The message as sent (without Bcc) or as saved to Sent (with it). An address with a
        non-ASCII local part cannot be encoded in an ASCII header: such a message is written
        as UTF-8 (RFC 6532) and sent with SMTPUTF8."""
        with_bcc = include_bcc and bool(self.bcc)
        built = self._built.get(with_bcc)
        if built is None:
            built = self._built[with_bcc] = self._build(with_bcc)
        return built

    def _build(self, include_bcc: bool) -> bytes:
        international = not all(a.isascii() for a in (self.sender.email, *self.recipients))
        message = EmailMessage(policy=policy.default.clone(utf8=True) if international else None)
        message["From"] = format_mailbox(self.sender)
        message["To"] = ", ".join(format_mailbox(m) for m in self.to)
        if self.cc:
            message["Cc"] = ", ".join(format_mailbox(m) for m in self.cc)
        if include_bcc and self.bcc:
            message["Bcc"] = ", ".join(format_mailbox(m) for m in self.bcc)
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.date)
        message["Message-ID"] = self.message_id
        if self.in_reply_to:
            message["In-Reply-To"] = self.in_reply_to
            message["References"] = " ".join((*self.references, self.in_reply_to))
        message.set_content(self.text or " ")
        if self.html:
            message.add_alternative(self.html, subtype="html")
        return message.as_bytes()


def new_message_id(sender_email: str) -> str:
    domain = sender_email.rpartition("@")[2] or "inboxlink.invalid"
    return make_msgid(domain=domain)
