"""Extract the readable text, the HTML and a snippet from a full message.

Parsed with the compat32 policy and a small body finder that follows the same rules as
``EmailMessage.get_body``: the modern policy built header objects for every part and made
this the slowest step of storing mail (0.9 ms against 0.15 ms a message, bench/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

import nh3

from inboxlink.mail.mime_tree import quick_message
from inboxlink.mail.text import storable

SNIPPET_LENGTH = 200
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Body:
    text: str
    html: str
    snippet: str
    #: False when the parser could not walk the message: kept raw and flagged instead.
    readable: bool = True


def _candidates(part: Message, subtype: str) -> Iterator[Message]:
    """Parts that ``get_body(preferencelist=(subtype,))`` would consider, in its order."""
    if part.get_content_disposition() == "attachment":
        return
    maintype, _, found = part.get_content_type().partition("/")
    if maintype == "text":
        if found == subtype:
            yield part
        return
    if maintype != "multipart" or not part.is_multipart():
        return
    parts = [p for p in part.get_payload() if isinstance(p, Message)]
    if found != "related":
        for sub in parts:
            yield from _candidates(sub, subtype)
        return
    start = part.get_param("start")
    chosen = next((p for p in parts if start and p.get("content-id") == start), None)
    if chosen is None and parts:
        chosen = parts[0]
    if chosen is not None:
        yield from _candidates(chosen, subtype)


def _part_content(message: Message, subtype: str) -> str:
    part = next(_candidates(message, subtype), None)
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_param("charset", "ascii")
    if not isinstance(charset, str):
        charset = part.get_content_charset("ascii") or "ascii"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def html_to_text(html: str) -> str:
    return _SPACE.sub(" ", nh3.clean(html, tags=set())).strip()


UNREADABLE = "(inboxlink could not read the content of this message)"


def _message(raw: bytes) -> Message:
    """The email package's Message of ``raw``: built by ``mime_tree`` when the message has
    the usual shape (the feed parser reading mail line by line was most of parse_body,
    bench/profile_sync --all-contacts), by ``message_from_bytes`` otherwise."""
    quick = quick_message(raw)  # not ``or``: a Message without headers has len() 0
    return message_from_bytes(raw) if quick is None else quick


def parse_body(raw: bytes) -> Body:
    """The readable parts of a message. Never raises: a message whose structure defeats the
    parser (e.g. a thousand nested multiparts) gets an empty body, an explaining snippet and
    ``readable=False``, so one hostile message cannot stop an inbox's sync. The text is
    storable (no NULs, no lone surrogates from a UTF-7 part)."""
    try:
        message = _message(raw)
        text = storable(_part_content(message, "plain"))
        html = storable(_part_content(message, "html"))
    except (RecursionError, LookupError, ValueError, TypeError, AssertionError):
        return Body(text="", html="", snippet=UNREADABLE, readable=False)
    return Body(text=text, html=html, snippet=snippet_of(text or html_to_text(html)))


def snippet_of(text: str) -> str:
    """The first SNIPPET_LENGTH characters of ``text`` with whitespace runs made one space.

    Only as much of the text as that needs is looked at: normalising the whole of a long
    body was a fifth of parsing it (bench/profile_sync --all-contacts)."""
    size = SNIPPET_LENGTH * 2
    while size < len(text):
        words = text[:size].split()
        if not text[size].isspace():
            words = words[:-1]  # the last word may go on past the cut
        joined = " ".join(words)
        if len(joined) > SNIPPET_LENGTH:
            return joined[:SNIPPET_LENGTH]
        size *= 4
    return " ".join(text.split())[:SNIPPET_LENGTH]


def sanitize_html(html: str) -> str:
    """HTML of received mail made safe to show: no scripts, handlers, or remote loads."""
    return nh3.clean(
        html,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        tags=nh3.ALLOWED_TAGS - {"img"},
    )
