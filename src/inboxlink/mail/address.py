"""Email address syntax, checked in one place for the whole product.

Internal domain names are accepted (``.corp``, and the special-use ``.local`` and ``.test``
that email-validator refuses by default): inboxlink is self-hosted, and on-premises or
staging mail servers live under such names. ``.localhost``, ``.invalid``, ``.onion`` and
``.arpa`` stay refused. email-validator documents ``SPECIAL_USE_DOMAIN_NAMES`` as the knob.
"""

from __future__ import annotations

from dataclasses import dataclass

import email_validator
from email_validator import EmailNotValidError, validate_email

from inboxlink.errors import AppError

_INTERNAL_NAMES = {"local", "test"}
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in _INTERNAL_NAMES
]


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """``address`` keeps the user's local part; ``domain`` is lower-case ASCII (IDNA) for DNS."""

    address: str
    local_part: str
    domain: str


def parse_email(text: str) -> EmailAddress:
    """Validate syntax only (no DNS here: discovery does its own look-ups through the policy)."""
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AppError(
            "invalid_email",
            f"{text!r} is not a valid email address ({exc}). Type the full address, "
            "for example jane.doe@example.com.",
            status=422,
        ) from exc
    domain = result.ascii_domain.lower()
    return EmailAddress(f"{result.local_part}@{domain}", result.local_part, domain)
