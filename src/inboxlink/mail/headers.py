"""Parse the headers the product needs (who, when, threading) from raw header bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class Mailbox:
    email: str
    name: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"email": self.email, "name": self.name}


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    sender: Mailbox | None
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    date: datetime | None
    auto_submitted: bool = False

    def participants(self) -> set[str]:
        """Every lower-case address in From, To and Cc."""
        people = [*self.to, *self.cc, *([self.sender] if self.sender else [])]
        return {m.email for m in people if m.email}


def normalize_email(address: str) -> str:
    return address.strip().lower()


def _mailboxes(values: list[str]) -> tuple[Mailbox, ...]:
    found = []
    for name, email in getaddresses(values):
        if "@" in email:
            found.append(Mailbox(normalize_email(email), name.strip()))
    return tuple(found)


def _message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value or ""))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(message: EmailMessage, name: str) -> str:
    """A header as decoded text (RFC 2047), tolerating malformed values."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, AttributeError):
        value = None
    return str(value).strip() if value is not None else ""


def parse_headers(raw: bytes) -> HeaderInfo:
    """Headers of a message (raw may be just the header block or the whole message)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    senders = _mailboxes([_text(message, "From")])
    ids = _message_ids(_text(message, "Message-ID"))
    auto = _text(message, "Auto-Submitted").lower()
    return HeaderInfo(
        message_id=ids[0] if ids else "",
        in_reply_to=(_message_ids(_text(message, "In-Reply-To")) or ("",))[0],
        references=_message_ids(_text(message, "References")),
        subject=_text(message, "Subject"),
        sender=senders[0] if senders else None,
        to=_mailboxes([_text(message, "To")]),
        cc=_mailboxes([_text(message, "Cc")]),
        date=_date(_text(message, "Date")),
        auto_submitted=bool(auto) and auto != "no",
    )


def format_mailbox(mailbox: Mailbox) -> str:
    return str(HeaderAddress(display_name=mailbox.name, addr_spec=mailbox.email))
