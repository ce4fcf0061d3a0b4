"""Personalisation tokens in step subjects and bodies: ``{{contact.first_name|there}}``.

Unknown tokens are refused when a step is saved, so a typo never reaches a customer as
``{{contact.frist_name}}``; a token whose value is empty uses the fallback after ``|``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from inboxlink.errors import AppError

TOKENS = ("contact.first_name", "contact.last_name", "contact.name", "contact.email", "sender.name")
_TOKEN = re.compile(r"\{\{\s*([\w.]+)\s*(?:\|([^{}]*))?\}\}")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


def values_for(contact: Person, sender: Person) -> dict[str, str]:
    """Token values; names fall back to what the address offers, never to a blank greeting."""
    first, _, last = contact.name.strip().partition(" ")
    return {
        "contact.first_name": first,
        "contact.last_name": last.strip(),
        "contact.name": contact.name.strip(),
        "contact.email": contact.email,
        "sender.name": sender.name.strip() or sender.email.partition("@")[0],
    }


def check_template(field: str, template: str) -> str:
    unknown = sorted({m.group(1) for m in _TOKEN.finditer(template)} - set(TOKENS))
    if unknown:
        raise AppError(
            "unknown_token",
            f"The {field} uses {', '.join('{{' + u + '}}' for u in unknown)}, which is not a "
            f"token. Use one of: {', '.join('{{' + t + '}}' for t in TOKENS)}.",
            status=422,
        )
    return template


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill the tokens in; an empty value takes the fallback, else the empty string."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return value or (match.group(2) or "").strip()

    return _TOKEN.sub(fill, template)
