"""The HTTP layer under exchangelib: every EWS request goes to one policy-checked address.

exchangelib speaks HTTP through ``requests`` and lets a protocol class choose its adapter
(``BaseProtocol.HTTP_ADAPTER_CLS``). ``PinnedAdapter`` sends each request to the address the
network policy checked when the connector started, while TLS verifies the certificate for the
real host name (SNI and ``Host``), so DNS rebinding cannot move the session to an internal
service after the check. It refuses any other host, and remembers the last HTTP status (and
Retry-After) so the connector can tell "this is not an EWS endpoint" from "the server is down".

exchangelib also caches protocols process-wide by (endpoint, credentials) and remembers
connection failures there for ever; ``pinned_protocol`` builds an uncached protocol per
connector instead, so a server that was down once is tried again and pins never leak between
inboxes.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib.protocol import CachingProtocol, Protocol
from urllib3 import HTTPSConnectionPool


@dataclass(slots=True)
class Pin:
    """The EWS host, the checked address to reach it at, and the TLS context to verify it with."""

    host: str
    port: int
    address: str
    context: ssl.SSLContext
    timeout: float
    last_status: int | None = None
    #: the last answer's Retry-After in seconds (a 503 while the server is overloaded)
    last_retry_after: float | None = None

    @property
    def netloc(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"


class PinnedAdapter(requests.adapters.HTTPAdapter):
    """A ``requests`` adapter with one connection pool: to the pinned address, TLS for the host."""

    def __init__(self, pin: Pin, **kwargs: Any):
        self._pin = pin
        self._pool: HTTPSConnectionPool | None = None
        super().__init__(**kwargs)

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPSConnectionPool:
        target = urlsplit(request.url or "")
        if target.scheme != "https" or (target.hostname, target.port or 443) != (
            self._pin.host,
            self._pin.port,
        ):
            raise requests.exceptions.InvalidURL(
                f"{request.url} is not on the checked EWS host {self._pin.netloc}"
            )
        if self._pool is None:
            self._pool = HTTPSConnectionPool(
                self._pin.address,
                self._pin.port,
                timeout=self._pin.timeout,
                maxsize=1,
                ssl_context=self._pin.context,
                server_hostname=self._pin.host,
            )
        return self._pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Nothing: the pinned TLS context already says what to trust (never ``requests``' CAs)."""

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        request.headers["Host"] = self._pin.netloc

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        self._pin.last_status = int(resp.status)
        asked = str(resp.headers.get("Retry-After", "")).strip()
        self._pin.last_retry_after = float(asked) if asked.isdigit() else None
        return super().build_response(req, resp)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        super().close()


class _Uncached(CachingProtocol):  # type: ignore[misc]
    """Plain instantiation, skipping exchangelib's process-wide protocol cache."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return type.__call__(cls, *args, **kwargs)


def pinned_protocol(config: Any, pin: Pin) -> Any:
    """An exchangelib ``Protocol`` for ``config`` whose every request goes through ``pin``."""

    class PinnedProtocol(Protocol, metaclass=_Uncached):  # type: ignore[misc]
        HTTP_ADAPTER_CLS = functools.partial(PinnedAdapter, pin)
        TIMEOUT = pin.timeout
        USERAGENT = "inboxlink"

    return PinnedProtocol(config=config)
