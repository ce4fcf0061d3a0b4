"""Parse the headers the product needs (who, when, threading) from raw header bytes."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import MessageError
from email.header import decode_header, make_header
from email.headerregistry import Address as HeaderAddress
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import cached_property, lru_cache

import idna

from inboxlink.mail.text import from_raw_header, one_line

_MSGID = re.compile(r"<[^<>\s]+>")
_parser = HeaderParser(policy=policy.compat32)
#: A header field: its name (printable ASCII but colon), a colon, the value after any blanks
#: with its folded lines (line breaks kept, as compat32 keeps them), then its line break.
_FIELD_LINES = re.compile(
    r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)(?:\r\n|\r|\n|\Z)"
)
#: RFC 5322's line limit, and the width of the Message-ID columns: a longer "id" is junk.
MAX_MESSAGE_ID = 998


@dataclass(frozen=True, slots=True)
class Mailbox:
    email: str
    name: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"email": self.email, "name": self.name}


class HeaderInfo:
    """The headers the product reads (who, when, threading), each decoded the first time it
    is read.

    A sync scan parses the header block of every message but most of them are looked at
    only for their addresses -- 95 % of a personal inbox is not logged -- so subject, date and
    Message-IDs are decoded only for the mail that is kept (py-spy on the connect-to-synced
    row: parse_headers was 42 % of the busy time, decoding fields nobody read).
    """

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        #: lower-case field name -> values as the compat32 parser gives them (not decoded)
        self._fields = fields

    def _first(self, name: str) -> str:
        values = self._fields.get(name)
        return from_raw_header(values[0]) if values else ""

    @cached_property
    def message_id(self) -> str:
        ids = _message_ids(self._first("message-id"))
        return ids[0] if ids else ""

    @cached_property
    def in_reply_to(self) -> str:
        return (_message_ids(self._first("in-reply-to")) or ("",))[0]

    @cached_property
    def references(self) -> tuple[str, ...]:
        return _message_ids(self._first("references"))

    @cached_property
    def subject(self) -> str:
        return _decoded(self._first("subject")).strip()

    @cached_property
    def sender(self) -> Mailbox | None:
        senders = _mailboxes([self._first("from")])
        return senders[0] if senders else None

    @cached_property
    def to(self) -> tuple[Mailbox, ...]:
        return _mailboxes(from_raw_header(v) for v in self._fields.get("to", []))

    @cached_property
    def cc(self) -> tuple[Mailbox, ...]:
        return _mailboxes(from_raw_header(v) for v in self._fields.get("cc", []))

    @cached_property
    def date(self) -> datetime | None:
        return _date(self._first("date"))

    @cached_property
    def auto_submitted(self) -> bool:
        auto = self._first("auto-submitted").strip().lower()
        return bool(auto) and auto != "no"

    def participants(self) -> set[str]:
        """Every lower-case address in From, To and Cc."""
        people = [*self.to, *self.cc, *([self.sender] if self.sender else [])]
        return {m.email for m in people if m.email}

    def with_decoded(
        self, *, subject: str, sender: Mailbox | None, to: tuple[Mailbox, ...],
        cc: tuple[Mailbox, ...], date: datetime | None,
    ) -> HeaderInfo:  # fmt: skip
        """These headers with who and when given already decoded: the cloud APIs hand them
        over as structured data. (A cached_property keeps its value in the instance's
        ``__dict__``; filling it in is how a value is given.)"""
        given = HeaderInfo(self._fields)
        given.__dict__.update(subject=subject, sender=sender, to=to, cc=cc, date=date)
        return given

    def _decoded_fields(self) -> tuple[object, ...]:
        return (
            self.message_id, self.in_reply_to, self.references, self.subject, self.sender,
            self.to, self.cc, self.date, self.auto_submitted,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HeaderInfo):
            return NotImplemented
        return self._decoded_fields() == other._decoded_fields()

    def __hash__(self) -> int:
        return hash(self._decoded_fields())

    def __repr__(self) -> str:
        return f"HeaderInfo(message_id={self.message_id!r}, subject={self.subject!r})"


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


@lru_cache(maxsize=8192)
def _mailboxes_of(values: tuple[str, ...]) -> tuple[Mailbox, ...]:
    found = []
    for name, email in getaddresses(values):
        address = normalize_email(_decoded(email))
        if "@" in address:
            found.append(Mailbox(address, _decoded(name).strip()))
    return tuple(found)


def _mailboxes(values: Iterable[str]) -> tuple[Mailbox, ...]:
    """Addresses of From/To/Cc values. Cached: a mailbox sees the same few thousand values
    again and again, and ``getaddresses`` was half of a header scan (bench/profile)."""
    return _mailboxes_of(tuple(values))


def split_message(text: str) -> tuple[list[tuple[str, str]], str] | None:
    """Header fields and the rest of a message decoded as the email package decodes bytes
    (ASCII, surrogateescape): ``(name, value)`` exactly as compat32's ``raw_items()`` gives
    them, split where compat32 splits, without reading past the header block; None for an
    unusual block (a line that is no field, a Unix From line) -- the email package handles
    those. One regular expression match per field, folded lines included: splitting the
    block into lines first was the largest single cost of a header scan (py-spy,
    connect-to-synced row)."""
    fields: list[tuple[str, str]] = []
    at, end = 0, len(text)
    while at < end and text[at] not in "\r\n":  # an empty line ends the block
        found = _FIELD_LINES.match(text, at)
        if found is None:
            return None
        fields.append((found.group(1), found.group(2)))
        at = found.end()
    if at < end:  # past the empty line
        at += 2 if text.startswith("\r\n", at) else 1
    return fields, text[at:]


def parse_headers(raw: bytes) -> HeaderInfo:
    """Headers of a message (raw may be just the header block or the whole message).

    Uses the compat32 parser and decodes only the fields the product reads: the modern
    ``policy.default`` parser builds an object per header and was 0.7 ms a message, most of
    a sync's time (bench/imap_libraries.py, docs/imap-library.md).
    """
    fields: dict[str, list[str]] = {}
    text = raw.decode("ascii", "surrogateescape")
    split = split_message(text)
    for name, value in _parser.parsestr(text).raw_items() if split is None else split[0]:
        fields.setdefault(name.lower(), []).append(value)
    return HeaderInfo(fields)


def format_mailbox(mailbox: Mailbox) -> str:
    """``Name <local@domain>``; the parts are given separately because the stdlib refuses to
    parse a non-ASCII local part (SMTPUTF8, e.g. 用户@例子.测试) that it formats correctly."""
    local, _, domain = mailbox.email.rpartition("@")
    return str(HeaderAddress(display_name=mailbox.name, username=local, domain=domain))
