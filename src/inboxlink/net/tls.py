"""TLS client contexts: verified by default (system CAs plus ``INBOXLINK_EXTRA_CA_FILE``),
or trusting any certificate when the user ticked *Trust any certificate* for an inbox."""

from __future__ import annotations

import ssl
from pathlib import Path

from inboxlink.errors import causes


def client_context(*, trust_any: bool = False, extra_ca_file: Path | None = None) -> ssl.SSLContext:
    if trust_any:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    return context


def is_certificate_error(exc: BaseException) -> bool:
    """True when a failed connection was about trust (not a dropped connection), also when a
    client library wrapped the TLS error (its text still names the verification failure)."""
    return any(
        isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in causes(exc)
    )
