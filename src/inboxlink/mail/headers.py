"""Parse the headers the product needs (who, when, threading) from raw header bytes."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import MessageError
from email.header import decode_header, make_header
from email.headerregistry import Address as HeaderAddress
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

import idna

from inboxlink.mail.text import from_raw_header, one_line

_MSGID = re.compile(r"<[^<>\s]+>")
#: RFC 5322's line limit, and the width of the Message-ID columns: a longer "id" is junk.
MAX_MESSAGE_ID = 998
_parser = BytesHeaderParser(policy=policy.compat32)


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
    """An address as inboxlink stores and compares it: lower case, an international domain in
    its ASCII (IDNA) form and the rest in NFC, so that mail from user@bücher.example finds
    the contact saved as user@xn--bcher-kva.example (as ``check_email`` stores it)."""
    address = address.strip().lower()
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not domain.isascii():
        with contextlib.suppress(idna.IDNAError, UnicodeError):
            domain = idna.encode(domain, uts46=True).decode("ascii")
    return unicodedata.normalize("NFC", f"{local}{at}{domain}")


def _message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(m for m in _MSGID.findall(value or "") if len(m) <= MAX_MESSAGE_ID)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # e.g. a zone of +99999999999
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decoded(value: str) -> str:
    """A header value as text: RFC 2047 encoded-words and raw UTF-8 (SMTPUTF8) decoded."""
    if "=?" in value:
        # MessageError: HeaderParseError, and CharsetError for a non-ASCII charset name.
        with contextlib.suppress(ValueError, LookupError, MessageError):
            value = str(make_header(decode_header(value)))
    # Control characters have no place in header text (a reply reusing it would be refused).
    return " ".join(one_line(value).split())


def _mailboxes(values: list[str]) -> tuple[Mailbox, ...]:
    found = []
    for name, email in getaddresses(values):
        address = normalize_email(_decoded(email))
        if "@" in address:
            found.append(Mailbox(address, _decoded(name).strip()))
    return tuple(found)


def parse_headers(raw: bytes) -> HeaderInfo:
    """Headers of a message (raw may be just the header block or the whole message).

    Uses the compat32 parser and decodes only the fields the product reads: the modern
    ``policy.default`` parser builds an object per header and was 0.7 ms a message, most of
    a sync's time (bench/imap_libraries.py, docs/imap-library.md).
    """
    fields: dict[str, list[str]] = {}
    for name, value in _parser.parsebytes(raw).raw_items():
        fields.setdefault(name.lower(), []).append(from_raw_header(value))

    def get(name: str) -> str:
        return fields.get(name.lower(), [""])[0]

    senders = _mailboxes([get("From")])
    ids = _message_ids(get("Message-ID"))
    auto = get("Auto-Submitted").strip().lower()
    return HeaderInfo(
        message_id=ids[0] if ids else "",
        in_reply_to=(_message_ids(get("In-Reply-To")) or ("",))[0],
        references=_message_ids(get("References")),
        subject=_decoded(get("Subject")).strip(),
        sender=senders[0] if senders else None,
        to=_mailboxes(fields.get("to", [])),
        cc=_mailboxes(fields.get("cc", [])),
        date=_date(get("Date")),
        auto_submitted=bool(auto) and auto != "no",
    )


def format_mailbox(mailbox: Mailbox) -> str:
    """``Name <local@domain>``; the parts are given separately because the stdlib refuses to
    parse a non-ASCII local part (SMTPUTF8, e.g. 用户@例子.测试) that it formats correctly."""
    local, _, domain = mailbox.email.rpartition("@")
    return str(HeaderAddress(display_name=mailbox.name, username=local, domain=domain))
