"""exchangelib's failures as the user meets them (P11): one code and fix for each cause.

exchangelib reports nearly everything as a ``TransportError`` subclass and keeps the original
``requests``/``ssl`` error only as the exception's context, so causes are told apart by the
exception chain and by the last HTTP status the pinned adapter saw.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from exchangelib import errors as ews

from inboxlink.net.tls import is_certificate_error
from inboxlink.providers.errors import ConnectorError, certificate_untrusted, protocol_error
from inboxlink.providers.exchange_http import Pin

#: Statuses an EWS endpoint answers with; anything else (a missing page, a redirect to the
#: webmail sign-in, a method the web server does not take) shows the URL is not EWS.
_EWS_STATUSES = frozenset({200, 401, 500, 503})


def auth_failed() -> ConnectorError:
    return ConnectorError(
        "auth_failed",
        "The Exchange server did not accept the username and password. Check them (the "
        "username may be the part before @, DOMAIN\\user or your full address); if the mailbox "
        "uses two-factor authentication, create an app password and use it here.",
    )


def version_unsupported(build: str) -> ConnectorError:
    return ConnectorError(
        "exchange_version_unsupported",
        f"This Exchange server runs version {build}, older than Exchange 2010 SP2, which "
        "inboxlink needs. Ask your IT department to upgrade, or connect the mailbox over IMAP.",
        server_version=build,
    )


def ews_url_not_found(url: str, detail: str) -> ConnectorError:
    return ConnectorError(
        "ews_url_not_found",
        f"{url} is not an Exchange Web Services address ({detail}). It usually looks like "
        "https://mail.your-company.com/EWS/Exchange.asmx; ask your IT department for it.",
    )


def ews_unreachable(url: str, reason: str) -> ConnectorError:
    return ConnectorError(
        "ews_unreachable",
        f"Could not reach the Exchange server at {url} ({reason}). Check the Exchange URL and "
        "that the server accepts connections from here; inboxlink will try again.",
        transient=True,
    )


def translate(exc: BaseException, url: str, pin: Pin | None) -> ConnectorError:
    """The ``ConnectorError`` for a failure of an EWS call to ``url``."""
    host = urlsplit(url).hostname or url
    status = pin.last_status if pin is not None else None
    if is_certificate_error(exc):
        return certificate_untrusted(host)
    if isinstance(exc, ews.UnauthorizedError) or status == 401:
        return auth_failed()
    if isinstance(
        exc, ews.ErrorInvalidServerVersion | ews.ErrorInvalidSchemaVersionForMailboxVersion
    ):
        return version_unsupported("older than Exchange 2007 SP1")
    if status is not None and status not in _EWS_STATUSES:
        return ews_url_not_found(url, f"the server answered HTTP {status}")
    if isinstance(exc, ews.MalformedResponseError | ews.SOAPError) and status == 200:
        return ews_url_not_found(url, "the server answered with something other than EWS")
    if isinstance(exc, ews.ErrorNonExistentMailbox):
        return ConnectorError(
            "mailbox_not_found",
            f"The Exchange server {host} has no mailbox for this address. Check the email "
            "address, or the Exchange URL if your company has several servers.",
        )
    if isinstance(exc, ews.ErrorAccessDenied):
        return ConnectorError(
            "access_denied",
            "The username signed in but may not open this mailbox. Use the mailbox's own "
            "username, or ask your IT department for access.",
        )
    if isinstance(exc, ews.ErrorServerBusy) or status == 503:
        return ConnectorError(
            "server_busy",
            f"The Exchange server {host} asked inboxlink to slow down; it will try again.",
            transient=True,
            retry_after=getattr(exc, "back_off", None) or (pin.last_retry_after if pin else None),
        )
    if isinstance(exc, ews.ErrorTimeoutExpired | requests.RequestException | OSError) or (
        isinstance(exc, ews.TransportError) and status is None
    ):
        return ews_unreachable(url, str(exc).split("\n")[0][:200] or type(exc).__name__)
    return protocol_error("Exchange", host, f"{type(exc).__name__}: {str(exc)[:200]}")
