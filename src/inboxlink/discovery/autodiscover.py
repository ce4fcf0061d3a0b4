"""Exchange Autodiscover (POX): find a mailbox's EWS URL from its address, every attempt recorded.

The candidates, in the order Microsoft documents for clients outside the domain: POST to
``https://<domain>/autodiscover/autodiscover.xml``, then ``https://autodiscover.<domain>/…``,
then the unauthenticated ``GET http://autodiscover.<domain>/autodiscover/autodiscover.xml``
whose redirect names an HTTPS endpoint, then the ``_autodiscover._tcp.<domain>`` SRV record.
Each POST carries the POX request with the address and the user's credentials (basic auth),
so it only ever goes over HTTPS. Every host, including redirect targets, is resolved and
checked by the network policy, and the connection goes to the checked address while TLS
verifies the real name, as ``safe_http`` does for GETs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import httpx
from defusedxml.ElementTree import ParseError, fromstring

from inboxlink.config import Settings
from inboxlink.discovery.model import Outcome, StepRecord
from inboxlink.errors import AppError
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.net.tls import client_context, is_certificate_error

Source = Literal["domain", "autodiscover_host", "redirect", "srv"]
PATH = "/autodiscover/autodiscover.xml"
_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
_RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
_MAX_BYTES = 256 * 1024
#: HTTP redirects followed from one candidate, and Autodiscover redirects (redirectAddr/Url).
_MAX_HOPS = 3


@dataclass(frozen=True, slots=True)
class AutodiscoverStep(StepRecord):
    """One attempt: ``target`` is the URL or DNS name tried."""

    source: Source
    target: str
    outcome: Outcome
    detail: str
    #: True when the server answered but refused the username and password.
    credentials_refused: bool = False


@dataclass(slots=True)
class Autodiscovery:
    """The EWS URL found (``None``: Autodiscover failed) and every step on the way."""

    ews_url: str | None = None
    steps: list[AutodiscoverStep] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one POX response said: an EWS URL, a redirect, or an error."""

    ews_url: str | None = None
    redirect_url: str | None = None
    redirect_address: str | None = None
    error: str | None = None


class _Failed(Exception):
    """One candidate failed; the message says why (recorded as the step's detail)."""

    def __init__(self, message: str, *, credentials_refused: bool = False):
        super().__init__(message)
        self.credentials_refused = credentials_refused


def pox_request(email: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Autodiscover xmlns="{_REQUEST_NS}"><Request>'
        f"<EMailAddress>{escape(email)}</EMailAddress>"
        f"<AcceptableResponseSchema>{_RESPONSE_SCHEMA}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _find(root: Element, name: str) -> Element | None:
    return next((e for e in root.iter() if _local(e) == name), None)


def _text(root: Element | None, name: str) -> str:
    found = _find(root, name) if root is not None else None
    return (found.text or "").strip() if found is not None else ""


def parse_pox(body: bytes) -> _Answer:
    """Read a POX response: ``EwsUrl`` of the ``EXCH`` protocol (else ``EXPR``), or the
    ``redirectUrl`` / ``redirectAddr`` action, or the server's error message."""
    try:
        root = fromstring(body)
    except ParseError as exc:
        return _Answer(error=f"the answer is not Autodiscover XML ({exc})")
    error = _find(root, "Error")
    if error is not None:
        code, message = _text(error, "ErrorCode"), _text(error, "Message")
        return _Answer(error=f"Autodiscover error {code}: {message}".strip(": "))
    account = _find(root, "Account")
    action = _text(account, "Action").lower()
    if action == "redirecturl":
        return _Answer(redirect_url=_text(account, "RedirectUrl"))
    if action == "redirectaddr":
        return _Answer(redirect_address=_text(account, "RedirectAddr"))
    urls = {
        _text(p, "Type").upper(): _text(p, "EwsUrl")
        for p in (account.iter() if account is not None else [])
        if _local(p) == "Protocol"
    }
    url = urls.get("EXCH") or urls.get("EXPR")
    return _Answer(ews_url=url) if url else _Answer(error="the answer names no EWS URL")


async def autodiscover(
    email: str,
    *,
    username: str,
    password: str,
    settings: Settings,
    policy: NetworkPolicy,
    resolver: Resolver,
) -> Autodiscovery:
    """The EWS URL of ``email``'s mailbox by Autodiscover, with every step tried."""
    runner = Autodiscover(settings, policy, resolver, username=username, password=password)
    return await runner.run(email)


class Autodiscover:
    """Runs the Autodiscover sequence for one address with the user's credentials."""

    def __init__(
        self,
        settings: Settings,
        policy: NetworkPolicy,
        resolver: Resolver,
        *,
        username: str,
        password: str,
    ):
        self._policy = policy
        self._resolver = resolver
        self._auth = httpx.BasicAuth(username, password)
        self._context = client_context(extra_ca_file=settings.extra_ca_file)
        self._timeout = httpx.Timeout(
            settings.connect_timeout_seconds, connect=settings.probe_timeout_seconds
        )

    async def run(self, email: str) -> Autodiscovery:
        result = Autodiscovery()
        async with httpx.AsyncClient(
            verify=self._context, timeout=self._timeout, trust_env=False
        ) as client:
            address = email
            for _ in range(_MAX_HOPS):
                found = await self._sequence(client, address, result)
                if found is None or found.redirect_address is None:
                    result.ews_url = found.ews_url if found else None
                    return result
                address = found.redirect_address
        return result

    async def _sequence(
        self, client: httpx.AsyncClient, email: str, result: Autodiscovery
    ) -> _Answer | None:
        """The candidates in order; the first answer that names an EWS URL or a new address."""
        domain = email.rpartition("@")[2].lower()
        candidates: list[tuple[Source, str]] = [
            ("domain", f"https://{domain}{PATH}"),
            ("autodiscover_host", f"https://autodiscover.{domain}{PATH}"),
        ]
        for source, url in candidates:
            if (answer := await self._try(client, source, url, email, result)) is not None:
                return answer
        redirect = await self._http_redirect(client, domain, result)
        if redirect is not None and (
            answer := await self._try(client, "redirect", redirect, email, result)
        ):
            return answer
        srv_name = f"_autodiscover._tcp.{domain}"
        targets = await self._resolver.srv(srv_name)
        if not targets:
            result.steps.append(AutodiscoverStep("srv", srv_name, "not_found", "no SRV record"))
        for host, port in targets:
            if port != 443:
                detail = f"{host}:{port} is not HTTPS on port 443"
                result.steps.append(AutodiscoverStep("srv", srv_name, "skipped", detail))
                continue
            if answer := await self._try(client, "srv", f"https://{host}{PATH}", email, result):
                return answer
        return None

    async def _try(
        self, client: httpx.AsyncClient, source: Source, url: str, email: str, result: Autodiscovery
    ) -> _Answer | None:
        """POST the request to ``url`` (following HTTPS redirects and ``redirectUrl``)."""
        target = httpx.URL(url)
        for _ in range(_MAX_HOPS):
            try:
                body_or_next = await self._post(client, target, email)
            except (_Failed, AppError) as exc:
                detail = exc.message if isinstance(exc, AppError) else str(exc)
                outcome: Outcome = "not_found" if isinstance(exc, AppError) else "error"
                refused = isinstance(exc, _Failed) and exc.credentials_refused
                result.steps.append(AutodiscoverStep(source, str(target), outcome, detail, refused))
                return None
            if isinstance(body_or_next, httpx.URL):
                detail = f"redirected to {body_or_next}"
                result.steps.append(AutodiscoverStep(source, str(target), "skipped", detail))
                target = body_or_next
                continue
            answer = parse_pox(body_or_next)
            if answer.redirect_url:
                detail = f"Autodiscover points to {answer.redirect_url}"
                result.steps.append(AutodiscoverStep(source, str(target), "skipped", detail))
                target = httpx.URL(answer.redirect_url)
                continue
            if answer.error:
                result.steps.append(AutodiscoverStep(source, str(target), "error", answer.error))
                return None
            detail = (
                f"EWS at {answer.ews_url}"
                if answer.ews_url
                else f"the mailbox is {answer.redirect_address}"
            )
            result.steps.append(AutodiscoverStep(source, str(target), "found", detail))
            return answer
        result.steps.append(AutodiscoverStep(source, url, "error", "too many redirects"))
        return None

    async def _post(
        self, client: httpx.AsyncClient, url: httpx.URL, email: str
    ) -> bytes | httpx.URL:
        if url.scheme != "https":
            raise _Failed(f"{url} is not HTTPS; credentials are only sent over HTTPS")
        addresses = await self._policy.resolve(url.host)
        return await _exchange(
            client,
            "POST",
            url,
            addresses,
            content=pox_request(email),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            auth=self._auth,
        )

    async def _http_redirect(
        self, client: httpx.AsyncClient, domain: str, result: Autodiscovery
    ) -> str | None:
        """The unauthenticated GET over HTTP whose redirect names the HTTPS endpoint."""
        url = httpx.URL(f"http://autodiscover.{domain}{PATH}")
        try:
            addresses = await self._policy.resolve(url.host)
            answer = await _exchange(client, "GET", url, addresses)
        except AppError as exc:
            result.steps.append(AutodiscoverStep("redirect", str(url), "not_found", exc.message))
            return None
        except _Failed as exc:
            result.steps.append(AutodiscoverStep("redirect", str(url), "error", str(exc)))
            return None
        if not isinstance(answer, httpx.URL) or answer.scheme != "https":
            detail = "no redirect to an HTTPS Autodiscover address"
            result.steps.append(AutodiscoverStep("redirect", str(url), "not_found", detail))
            return None
        result.steps.append(
            AutodiscoverStep("redirect", str(url), "found", f"redirects to {answer}")
        )
        return str(answer)


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    addresses: list[str],
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> bytes | httpx.URL:
    """One request to ``url`` at the first checked address that answers: the body of a 200,
    or the next URL of a redirect (never followed here: the caller re-checks it)."""
    last_error: Exception | None = None
    for address in addresses:
        try:
            async with client.stream(
                method,
                url.copy_with(host=address),
                content=content,
                headers={**(headers or {}), "Host": url.netloc.decode("ascii")},
                auth=auth,
                extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
            ) as response:
                if response.is_redirect:
                    return url.join(response.headers.get("location", ""))
                if response.status_code == httpx.codes.UNAUTHORIZED:
                    raise _Failed(
                        "the server did not accept the username and password",
                        credentials_refused=True,
                    )
                if response.status_code != httpx.codes.OK:
                    raise _Failed(f"the server answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > _MAX_BYTES:
                        raise _Failed(f"the answer is larger than {_MAX_BYTES} bytes")
                return bytes(body)
        except httpx.TransportError as exc:
            if is_certificate_error(exc):
                raise _Failed(f"the certificate of {url.host} is not trusted") from exc
            last_error = exc
    raise _Failed(f"could not connect to {url.host} ({last_error})")
