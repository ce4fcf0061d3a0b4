"""Connection failures as the user meets them: a code, the fix in plain words, and whether
retrying later can help (``transient``) or the user must act (wrong password, revoked access)."""

from __future__ import annotations

from inboxlink.errors import AppError


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
        super().__init__(code, message, status=None, **extra)
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
