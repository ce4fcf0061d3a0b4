"""HTTPS GETs to user-derived hosts that cannot be turned against internal services (SSRF).

Every host, including every redirect target, is resolved and checked by the network policy;
the request then goes to the checked address while TLS verifies the certificate for the real
name (SNI + ``Host``), so DNS rebinding cannot swap the address after the check.
"""

from __future__ import annotations

import httpx

from inboxlink.config import Settings
from inboxlink.net.policy import NetworkPolicy
from inboxlink.net.tls import client_context, is_certificate_error

HTTPS_PORT = 443
MAX_REDIRECTS = 3


class FetchError(Exception):
    """The document could not be fetched; the message says why in plain words."""

    def __init__(self, message: str, *, untrusted: bool = False):
        super().__init__(message)
        self.untrusted = untrusted


async def fetch_https(
    url: str, *, settings: Settings, policy: NetworkPolicy, max_bytes: int
) -> bytes:
    """The body of ``url`` (HTTPS on port 443 only, ≤ ``max_bytes``), following few redirects.

    Raises ``FetchError``, or the policy's ``AppError`` when a host is not allowed or unknown.
    """
    context = client_context(extra_ca_file=settings.extra_ca_file)
    timeout = httpx.Timeout(settings.probe_timeout_seconds)
    async with httpx.AsyncClient(verify=context, timeout=timeout, trust_env=False) as client:
        target = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(target)
            addresses = await policy.resolve(target.host)
            response_or_next = await _get(client, target, addresses, max_bytes)
            if isinstance(response_or_next, bytes):
                return response_or_next
            target = response_or_next
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times")


def _check_url(url: httpx.URL) -> None:
    if url.scheme != "https" or (url.port or HTTPS_PORT) != HTTPS_PORT:
        raise FetchError(f"{url} is not an HTTPS address on port {HTTPS_PORT}; not fetched")


async def _get(
    client: httpx.AsyncClient, url: httpx.URL, addresses: list[str], max_bytes: int
) -> bytes | httpx.URL:
    """Try each checked address in turn; return the body, or the next URL of a redirect."""
    last_error: Exception | None = None
    for address in addresses:
        pinned = url.copy_with(host=address)
        try:
            async with client.stream(
                "GET",
                pinned,
                headers={"Host": url.host},
                extensions={"sni_hostname": url.host},
            ) as response:
                if response.is_redirect:
                    return url.join(response.headers.get("location", ""))
                if response.status_code != httpx.codes.OK:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                return await _read_bounded(response, url, max_bytes)
        except httpx.TransportError as exc:
            if _caused_by_certificate(exc):
                raise FetchError(
                    f"the certificate of {url.host} is not trusted", untrusted=True
                ) from exc
            last_error = exc
    raise FetchError(f"could not connect to {url.host}: {last_error}")


async def _read_bounded(response: httpx.Response, url: httpx.URL, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise FetchError(f"{url} is larger than {max_bytes} bytes; not read")
    return bytes(body)


def _caused_by_certificate(exc: BaseException | None) -> bool:
    while exc is not None:
        if is_certificate_error(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
