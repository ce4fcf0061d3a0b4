"""The parsing layer's fuzz target: one input through every parser mail from outside meets.

Shared by the hypothesis test that CI runs (``test_parser_fuzz.py``) and the coverage-guided
atheris run of ``make fuzz`` (``fuzz_parsers.py``). A crash is any exception other than the
product's refusal (``AppError`` from address parsing) or a broken promise: text that no
database column can store, a Message-ID wider than its column, a snippet over its length,
an unreadable body that still claims content, or sanitised HTML that keeps a script.
"""

from __future__ import annotations

import re

from inboxlink.errors import AppError
from inboxlink.mail.address import parse_email
from inboxlink.mail.body import SNIPPET_LENGTH, parse_body, sanitize_html
from inboxlink.mail.headers import MAX_MESSAGE_ID, normalize_email, parse_headers

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _storable(*texts: str) -> None:
    for text in texts:
        assert "\x00" not in text, f"NUL kept in {text[:80]!r}"
        text.encode("utf-8")  # raises on lone surrogates


def exercise(data: bytes) -> None:
    """Parse ``data`` as a message, its text as an address and as HTML; check the results."""
    headers = parse_headers(data)
    people = [*headers.to, *headers.cc, *([headers.sender] if headers.sender else [])]
    _storable(headers.subject, headers.message_id, headers.in_reply_to, *headers.references)
    # A reply reuses the subject: a control character in it would make the reply refused.
    assert not _CONTROL.search(headers.subject), repr(headers.subject)
    for mailbox in people:
        _storable(mailbox.email, mailbox.name)
        assert "@" in mailbox.email and normalize_email(mailbox.email) == mailbox.email
    for message_id in (headers.message_id, headers.in_reply_to, *headers.references):
        assert len(message_id) <= MAX_MESSAGE_ID
    assert headers.date is None or headers.date.tzinfo is not None

    body = parse_body(data)
    _storable(body.text, body.html, body.snippet)
    assert len(body.snippet) <= SNIPPET_LENGTH
    assert body.readable or not (body.text or body.html)

    text = data.decode("utf-8", "replace")
    try:
        address = parse_email(text[:400])
    except AppError as refused:
        assert refused.code == "invalid_email"
    else:
        assert "@" in address.address and address.domain.isascii()
    cleaned = sanitize_html(text)
    assert "<script" not in cleaned.lower()
