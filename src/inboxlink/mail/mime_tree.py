"""The email package's Message tree of a message, built without its line-by-line feed parser.

Measured (``bench/profile_sync --all-contacts``, 5,000 workload messages): ``message_from_bytes``
on multipart mail -- a fifth of the messages -- was 70 % of ``parse_body`` and the largest
cost of storing mail. Here the message is cut at its header block (``split_message``) and, for
multipart parts, at its delimiter lines found with ``str.find`` (C speed, whatever the size of
an attachment). The result has the parts, ``Content-*`` fields and payloads that
``message_from_bytes`` gives: the MIME structure and nothing else (other fields, preamble
and epilogue are left out: nothing reads them here, and every ``Message.get`` walks all of
a part's fields -- Received lines included -- which was a fifth of parse_body).

Only the common shape is taken this way: CRLF line ends in multipart mail (IMAP always sends
them), every multipart opened and closed by its boundary, no empty part, no ``message/*``
part, no digest, nesting at most ``MAX_DEPTH`` deep. Anything else answers None, and the caller
hands the message to the email package, which knows every odd case (tests/unit/test_mail.py
checks the two agree).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

from inboxlink.mail.headers import split_message

MAX_DEPTH = 16


def quick_message(raw: bytes) -> Message | None:
    """The MIME structure of the Message ``message_from_bytes(raw)`` builds, or None when
    the shape is unusual."""
    return _part(raw.decode("ascii", "surrogateescape"), depth=0)


def _part(text: str, depth: int) -> Message | None:
    """``depth``: how many multiparts this part is inside."""
    split = split_message(text)
    if split is None:
        return None
    fields, rest = split
    message = Message()
    for name, value in fields:
        if name[:8].lower() == "content-":
            message.set_raw(name, value)
    maintype = message.get_content_maintype()
    if maintype == "message":
        return None
    if maintype != "multipart":
        message.set_payload(rest)
        return message
    boundary = message.get_boundary()
    if (
        boundary is None
        or depth >= MAX_DEPTH
        or message.get_content_subtype() == "digest"  # its parts default to message/rfc822
        or (depth == 0 and not _crlf_only(rest))  # a nested part lies in checked text
    ):
        return None
    texts = _split_at_boundaries(rest, boundary)
    if texts is None:
        return None
    parts: list[Message | str] = []
    for part_text in texts:
        part = _part(part_text, depth + 1)
        if part is None:
            return None
        parts.append(part)
    message.set_payload(parts)
    return message


def _crlf_only(text: str) -> bool:
    crlf = text.count("\r\n")
    return text.count("\r") == crlf and text.count("\n") == crlf


#: What may follow "--boundary" on a delimiter line: "--" for the close one, padding, the end.
_DELIMITER_END = re.compile(r"(--)?[ \t]*(?:\r\n|\Z)")


def _delimiters(body: str, boundary: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, closes)`` of each delimiter line, found with ``str.find`` (a regular
    expression anchored at every line start was slower than the feed parser on attachments)."""
    dashes = "--" + boundary
    at = 0 if body.startswith(dashes) else body.find("\r\n" + dashes)
    while at != -1:
        start = at if at == 0 and body.startswith(dashes) else at + 2
        end = _DELIMITER_END.match(body, start + len(dashes))
        if end is not None:
            yield start, end.end(), end.group(1) is not None
        at = body.find("\r\n" + dashes, start + len(dashes))


def _split_at_boundaries(body: str, boundary: str) -> list[str] | None:
    """The text of each part between the first delimiter line and the close delimiter, the
    line break before each delimiter taken as the delimiter's (RFC 2046 section 5.1.1)."""
    texts: list[str] = []
    begins: int | None = None  # where the current part's text begins
    for start, end, closes in _delimiters(body, boundary):
        if begins is not None:
            if start == begins:  # an empty part: the feed parser skips it oddly
                return None
            texts.append(body[begins : start - 2])  # without the CRLF before "--"
        if closes:
            return texts if begins is not None else None
        begins = end
    return None  # no close delimiter: a truncated message, the email package's case
