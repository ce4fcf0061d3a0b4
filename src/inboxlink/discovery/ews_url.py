"""What a user typed into *Exchange URL*: an EWS endpoint, or something to correct (P8).

Users often paste the webmail page from their browser (``https://mail.acme.com/owa/#path=/mail``,
``…/owa/auth/logon.aspx?…``) or just a host name. EWS lives on the same host at a fixed path,
so those become a recommendation of ``https://<host>/EWS/Exchange.asmx`` that connect probes.
Exchange Online answers EWS too, but only with OAuth: it belongs to the Microsoft Outlook
connection (P7), so its hosts are refused here with a pointer there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from inboxlink.errors import AppError

EWS_PATH = "/EWS/Exchange.asmx"

#: Host suffixes of Exchange Online (worldwide, GCC High / DoD, operated by 21Vianet).
_EXCHANGE_ONLINE = (
    "outlook.office365.com",
    "outlook.office.com",
    "office365.com",
    "outlook.com",
    "office365.us",
    "partner.outlook.cn",
)


@dataclass(frozen=True, slots=True)
class EwsUrl:
    """``url`` as typed (normalised); ``recommended`` is set when it is not an EWS endpoint."""

    url: str
    host: str
    recommended: str | None = None

    @property
    def is_ews(self) -> bool:
        return self.recommended is None


def is_exchange_online(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == suffix or host.endswith("." + suffix) for suffix in _EXCHANGE_ONLINE)


def use_microsoft_connection(host: str) -> AppError:
    return AppError(
        "use_microsoft_connection",
        f"{host} is Exchange Online (Microsoft 365), which signs in with modern authentication "
        "only. Go back and choose Microsoft Outlook to connect this mailbox.",
        status=422,
    )


def invalid_url(text: str) -> AppError:
    return AppError(
        "invalid_ews_url",
        f"'{text}' is not a web address. Enter the Exchange URL your IT department gives, "
        f"usually https://mail.your-company.com{EWS_PATH}.",
        status=422,
    )


def check_ews_url(text: str) -> EwsUrl:
    """Classify a typed URL or host; refuse Exchange Online and what is not a web address."""
    raw = text.strip()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or not host or any(c in host for c in " @"):
        raise invalid_url(text)
    if is_exchange_online(host):
        raise use_microsoft_connection(host)
    netloc = host if parts.port in (None, 443) else f"{host}:{parts.port}"
    if parts.scheme.lower() == "https" and parts.path.lower().rstrip("/").endswith(
        EWS_PATH.lower()
    ):
        return EwsUrl(f"https://{netloc}{parts.path.rstrip('/')}", host)
    # An OWA page, an http:// address, the bare host or anything else on it: EWS sits at the
    # fixed path over HTTPS (port 80 is never EWS: credentials would travel in clear text).
    https_netloc = host if parts.scheme.lower() == "http" else netloc
    return EwsUrl(raw, host, recommended=f"https://{https_netloc}{EWS_PATH}")
