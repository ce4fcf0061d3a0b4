"""TLS client contexts: verified by default (system CAs plus ``INBOXLINK_EXTRA_CA_FILE``),
or trusting any certificate when the user ticked *Trust any certificate* for an inbox.

One context per kind is shared by the whole process (the CA file is read once): loading the
CA store costs ~1 MB and a few ms, and every watched inbox would otherwise hold its own copy
(two: IMAP and SMTP). Contexts are never changed after they are made, so sharing them between
connections and threads is safe.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

from inboxlink.errors import causes


@lru_cache(maxsize=8)
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
