"""Extract the readable text, the HTML and a snippet from a full message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import nh3

SNIPPET_LENGTH = 200
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Body:
    text: str
    html: str
    snippet: str


def _part_content(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def html_to_text(html: str) -> str:
    return _SPACE.sub(" ", nh3.clean(html, tags=set())).strip()


def parse_body(raw: bytes) -> Body:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = _part_content(message, "plain")
    html = _part_content(message, "html")
    readable = text or html_to_text(html)
    return Body(text=text, html=html, snippet=_SPACE.sub(" ", readable).strip()[:SNIPPET_LENGTH])


def sanitize_html(html: str) -> str:
    """HTML of received mail made safe to show: no scripts, handlers, or remote loads."""
    return nh3.clean(
        html,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        tags=nh3.ALLOWED_TAGS - {"img"},
    )
