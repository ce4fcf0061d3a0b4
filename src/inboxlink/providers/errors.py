"""Connection failures as the user meets them: a code, the fix in plain words, and whether
retrying later can help (``transient``) or the user must act (wrong password, revoked access)."""

from __future__ import annotations

from typing import Any

import httpx

from inboxlink.errors import AppError
from inboxlink.mail.text import one_line


class ConnectorError(AppError):
    """``retry_after``: seconds the server asked to be left alone (throttling), which the
    worker's retry must not undercut."""

    status = 422

    def __init__(
        self,
        code: str,
        message: str,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        **extra: object,
    ):
        # Messages often quote what a server said, and they are stored and shown: a NUL or
        # control character from a hostile server must not fail the write (PostgreSQL).
        super().__init__(code, one_line(message), status=None, **extra)
        self.transient = transient
        self.retry_after = retry_after


def auth_failed(server: str = "incoming mail (IMAP)") -> ConnectorError:
    return ConnectorError(
        "auth_failed" if "IMAP" in server else "smtp_auth_failed",
        f"The {server} server did not accept the username and password. Check them; if the "
        "mailbox uses two-factor authentication, create an app password and use it here.",
    )


def unreachable(kind: str, host: str, port: int, reason: str) -> ConnectorError:
    code = "imap_unreachable" if kind == "IMAP" else "smtp_unreachable"
    return ConnectorError(
        code,
        f"Could not reach the {kind} server {host}:{port} ({reason}). Check the host name and "
        "port under Advanced options, and that the server accepts connections.",
        transient=True,
    )


def certificate_untrusted(host: str) -> ConnectorError:
    return ConnectorError(
        "certificate_untrusted",
        f"The certificate of {host} is not trusted (self-signed, expired or for another name). "
        "If you know this server, tick 'Trust any certificate' under Advanced options.",
    )


def protocol_error(kind: str, host: str, detail: str) -> ConnectorError:
    return ConnectorError(
        "server_error",
        f"The {kind} server {host} answered in a way inboxlink did not understand ({detail}). "
        "Try again later; if it persists, contact your mail administrator.",
        transient=True,
    )


def json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    """A successful API answer's JSON object. Anything else -- a proxy's HTML error page, cut
    or broken JSON, a bare value -- is a transient ``provider_error``, not a crash."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise ConnectorError(
            "provider_error",
            f"{service} answered with something that is not the data inboxlink asked for "
            f"(HTTP {response.status_code}, {kind}). inboxlink will try again; if it "
            "persists, a proxy or firewall may be in the way.",
            transient=True,
        )
    return body
