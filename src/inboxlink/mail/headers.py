"""Parse the headers the product needs (who, when, threading) from raw header bytes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address as HeaderAddress
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

_MSGID = re.compile(r"<[^<>\s]+>")
_parser = HeaderParser(policy=policy.compat32)
#: Line breaks as the email package's feed parser splits them (kept, as compat32 keeps them).
_BREAK = re.compile(r"(\r\n|\r|\n)")
_FIRST_BREAK = re.compile(r"\r\n|\r|\n")
#: Two line breaks in a row: the empty line after the header block (atomic groups, so the
#: CR of a CRLF is never taken for a line break of its own).
_BLANK_LINE = re.compile(r"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
#: A header line: a field name (printable ASCII but colon) and a colon.
_FIELD = re.compile(r"[\x21-\x39\x3b-\x7e]+:")


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


def _decoded(value: str) -> str:
    """A raw header value as text: RFC 2047 encoded-words and raw UTF-8 (SMTPUTF8) decoded."""
    if not value.isascii():  # raw 8-bit bytes, kept as surrogates by the parser
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if "=?" not in value:
        return " ".join(value.split())
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except (ValueError, LookupError, HeaderParseError):
        return " ".join(value.split())


@lru_cache(maxsize=8192)
def _mailboxes_of(values: tuple[str, ...]) -> tuple[Mailbox, ...]:
    found = []
    for name, email in getaddresses(values):
        if "@" in email:
            found.append(Mailbox(normalize_email(_decoded(email)), _decoded(name).strip()))
    return tuple(found)


def _mailboxes(values: Iterable[str]) -> tuple[Mailbox, ...]:
    """Addresses of From/To/Cc values. Cached: a mailbox sees the same few thousand values
    again and again, and ``getaddresses`` was half of a header scan (bench/profile)."""
    return _mailboxes_of(tuple(values))


def _simple_fields(text: str) -> list[tuple[str, str]] | None:
    """``(name, value)`` of a header block exactly as compat32's ``raw_items()`` gives them,
    or None for anything unusual (a line that is no field, a Unix From line) -- the email
    package handles those. A third of a header scan's time went to the feed parser."""
    parts = _BREAK.split(text)
    fields: list[tuple[str, list[str]]] = []
    for at in range(0, len(parts), 2):
        line = parts[at]
        if not line:  # the empty line that ends the block (or the end of the text)
            break
        end = parts[at + 1] if at + 1 < len(parts) else ""
        if line[0] in " \t":
            if not fields:
                return None
            fields[-1][1].append(line + end)
            continue
        if not _FIELD.match(line):
            return None
        name, value = line.split(":", 1)
        fields.append((name, [value.lstrip(" \t") + end]))
    return [(name, "".join(lines).rstrip("\r\n")) for name, lines in fields]


def split_message(text: str) -> tuple[list[tuple[str, str]], str] | None:
    """Header fields and the rest of a message decoded as the email package decodes bytes
    (ASCII, surrogateescape), split where compat32 splits it, without reading past the
    header block; None when the block is unusual (see ``_simple_fields``)."""
    first = _FIRST_BREAK.match(text)
    if first is not None:  # an empty first line: no headers at all
        return [], text[first.end() :]
    blank = _BLANK_LINE.search(text)
    head, rest = (text[: blank.end()], text[blank.end() :]) if blank else (text, "")
    fields = _simple_fields(head)
    return None if fields is None else (fields, rest)


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
        # NUL has no place in a header and no database text column can hold it.
        fields.setdefault(name.lower(), []).append(value.replace("\x00", ""))

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
    return str(HeaderAddress(display_name=mailbox.name, addr_spec=mailbox.email))
