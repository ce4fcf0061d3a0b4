"""Talking to Microsoft for Outlook / Office 365 mailboxes: the identity platform (v2.0) OAuth
client, the cloud check that refuses US government tenants (SPEC P7), and the rules every
Graph request follows (bearer token, throttling, error codes). Mailbox semantics live in
``providers.graph``.

Every endpoint derives from ``INBOXLINK_MICROSOFT_LOGIN_URL`` (with the configured tenant) or
``INBOXLINK_MICROSOFT_GRAPH_URL``, so one emulator on loopback can stand in for Microsoft.

Microsoft offers users no per-application revocation endpoint: removing an inbox only forgets
the tokens here, and the user withdraws the grant in their account (D4,
``domain.provider_steps``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import httpx

from inboxlink.config import Settings
from inboxlink.providers.errors import ConnectorError, json_object
from inboxlink.providers.oauth import OAuthClient, TokenKeeper, TokenSet

GRAPH = "https://graph.microsoft.com"

#: Delegated permissions, asked for in one consent. ``offline_access`` yields the refresh
#: token; ``MailboxSettings.Read`` lets verification read ``userPurpose`` to recognise a
#: shared mailbox signed in to directly (P7).
SCOPES: tuple[str, ...] = (
    "openid",
    "email",
    "offline_access",
    f"{GRAPH}/Mail.ReadWrite",
    f"{GRAPH}/Mail.Send",
    f"{GRAPH}/User.Read",
    f"{GRAPH}/MailboxSettings.Read",
)

#: ``tenant_region_scope`` values of the US government clouds (both spellings are in use).
_GOVERNMENT_SCOPES = {"usgov", "usg"}
#: ``tenant_region_sub_scope`` of GCC High (DODCON) and DoD. Plain "GCC" runs in the
#: commercial cloud and is supported.
_GOVERNMENT_SUB_SCOPES = {"dodcon", "dod"}


def _login_base(settings: Settings, tenant: str) -> str:
    return f"{settings.microsoft_login_url.rstrip('/')}/{tenant}"


def microsoft_client(settings: Settings) -> OAuthClient:
    """This service as an application registered with the Microsoft identity platform."""
    base = _login_base(settings, settings.microsoft_tenant)
    return OAuthClient(
        client_id=settings.microsoft_client_id,
        client_secret=settings.microsoft_client_secret,
        authorize_url=f"{base}/oauth2/v2.0/authorize",
        token_url=f"{base}/oauth2/v2.0/token",
        revoke_url=None,
        scopes=SCOPES,
        extra_authorize_params={"response_mode": "query"},
        display_name="Microsoft",
    )


def _unreachable(what: str, detail: str) -> ConnectorError:
    """Microsoft could not be reached; retrying later can help."""
    return ConnectorError(
        "provider_unreachable",
        f"Microsoft ({what}) could not be reached ({detail}). inboxlink will try again; if it "
        "persists, check the server's internet connection.",
        transient=True,
    )


def tenant_of(token: TokenSet) -> str | None:
    """The directory (``tid`` claim) the user signed in to, from the ID token.

    The ID token came straight from the token endpoint over TLS, which OpenID Connect accepts
    in place of checking its signature; only this routing hint is read from it.
    """
    if not token.id_token or token.id_token.count(".") != 2:
        return None
    payload = token.id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    tenant = claims.get("tid") if isinstance(claims, dict) else None
    return tenant if isinstance(tenant, str) and tenant else None


def government_cloud_unsupported() -> ConnectorError:
    return ConnectorError(
        "government_cloud_unsupported",
        "This Microsoft 365 account belongs to a US government cloud (GCC High or DoD), which "
        "inboxlink cannot connect to. Connect a mailbox in the commercial Microsoft 365 cloud, "
        "or use another provider.",
    )


def _is_government(config: dict[str, Any]) -> bool:
    scope = str(config.get("tenant_region_scope") or "").lower()
    sub_scope = str(config.get("tenant_region_sub_scope") or "").lower()
    cloud = str(config.get("cloud_instance_name") or "").lower()
    return (
        scope in _GOVERNMENT_SCOPES
        or sub_scope in _GOVERNMENT_SUB_SCOPES
        or cloud == "microsoftonline.us"
        or cloud.endswith(".microsoftonline.us")
    )


async def check_tenant_cloud(settings: Settings, tenant: str, http: httpx.AsyncClient) -> None:
    """Refuse tenants of the GCC High and DoD clouds, recognised from their OpenID
    configuration (region scope or cloud instance), before anything is stored."""
    url = f"{_login_base(settings, tenant)}/v2.0/.well-known/openid-configuration"
    try:
        response = await http.get(url, timeout=settings.connect_timeout_seconds)
    except httpx.TransportError as exc:
        raise _unreachable("sign-in", type(exc).__name__) from exc
    if response.status_code >= 500:
        raise _unreachable("sign-in", f"HTTP {response.status_code}")
    try:
        config = response.json()
    except ValueError as exc:
        raise _unreachable("sign-in", "unexpected answer") from exc
    if response.status_code != 200 or not isinstance(config, dict):
        raise ConnectorError(
            "tenant_not_found",
            f"Microsoft does not know the organisation '{tenant}'. Check "
            "INBOXLINK_MICROSOFT_TENANT, or sign in with a work, school or Outlook.com account.",
        )
    if _is_government(config):
        raise government_cloud_unsupported()


#: Throttled requests (429, 503) are retried this often, waiting as ``Retry-After`` says.
THROTTLE_RETRIES = 4
#: A longer ``Retry-After`` ends the attempt as a transient failure; the worker's backoff waits.
MAX_RETRY_AFTER = 60.0
#: Error codes Graph uses for a delta token it no longer knows.
_EXPIRED_SYNC_STATE = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}


def _retry_after(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait: Graph's ``Retry-After`` when given, else exponential from 1 s."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return float(2 ** (attempt - 1))


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def _token_rejected() -> ConnectorError:
    return ConnectorError(
        "token_revoked",
        "Microsoft no longer accepts inboxlink's access to this mailbox (access was removed or "
        "the password changed). Reconnect the inbox to grant access again.",
    )


def _graph_failure(response: httpx.Response) -> ConnectorError:
    """The user-facing error for a Graph answer the caller could not use."""
    status, code = response.status_code, _error_code(response)
    if status in (429, 503):
        return ConnectorError(
            "provider_throttled",
            "Microsoft is limiting how fast inboxlink may read this mailbox. inboxlink waits "
            "and continues by itself.",
            transient=True,
            retry_after=_retry_after(response, 1),
        )
    if code == "MailboxNotEnabledForRESTAPI":
        return ConnectorError(
            "mailbox_not_enabled",
            "This Microsoft account has no Outlook mailbox that inboxlink can reach (no "
            "Exchange Online licence, or an on-premises mailbox). Use the Exchange connection "
            "for on-premises servers, or ask your administrator for a mailbox licence.",
        )
    if status == 403:
        return ConnectorError(
            "permission_denied",
            "Microsoft refused inboxlink access to this mailbox. Reconnect the inbox and accept "
            "every permission asked for; your administrator may have to approve inboxlink.",
        )
    return ConnectorError(
        "provider_error",
        f"Microsoft Graph answered HTTP {status}{f' ({code})' if code else ''}. inboxlink "
        "will try again.",
        transient=True,
    )


class GraphHttp:
    """Requests to Graph as one signed-in user: bearer token, one renewal after a 401, waits
    on throttling, and transport failures turned into ``provider_unreachable``.

    Only links under the configured Graph base are followed, so a stored or returned link
    never carries the user's token to another host.
    """

    def __init__(
        self, settings: Settings, keeper: TokenKeeper, http: httpx.AsyncClient | None = None
    ):
        self.base = f"{settings.microsoft_graph_url.rstrip('/')}/v1.0"
        self._keeper = keeper
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=settings.connect_timeout_seconds)

    def own_link(self, link: object) -> str | None:
        return link if isinstance(link, str) and link.startswith(f"{self.base}/") else None

    async def _send(
        self,
        method: str,
        target: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = f"{self.base}{target}" if target.startswith("/") else target
        token = await self._keeper.access_token()
        renewed = False
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=params,
                    content=content,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError as exc:
                raise _unreachable("Graph", type(exc).__name__) from exc
            if response.status_code == 401:
                if renewed:
                    raise _token_rejected()
                token, renewed = await self._keeper.refresh_after_rejection(token), True
                continue
            if response.status_code in (429, 503) and attempt < THROTTLE_RETRIES:
                attempt += 1
                wait = _retry_after(response, attempt)
                if wait > MAX_RETRY_AFTER:
                    raise _graph_failure(response)
                await asyncio.sleep(wait)
                continue
            return response

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = await self._send("GET", path, params=params)
        if response.status_code != 200:
            raise _graph_failure(response)
        return json_object(response, "Microsoft Graph")

    async def get_optional(self, path: str, params: Mapping[str, str]) -> Any:
        """The JSON answer, or None when this mailbox does not let us read it (403, 404)."""
        response = await self._send("GET", path, params=params)
        if response.status_code in (403, 404):
            return None
        if response.status_code != 200:
            raise _graph_failure(response)
        return json_object(response, "Microsoft Graph")

    async def get_bytes(self, path: str) -> bytes | None:
        """The body, or None when the resource is gone (404)."""
        response = await self._send("GET", path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _graph_failure(response)
        return response.content

    async def delta_page(
        self, target: str, page_size: int, params: Mapping[str, str] | None = None
    ) -> Any:
        """One page of a delta round, or None when Graph forgot the round's sync state."""
        response = await self._send(
            "GET", target, params=params, headers={"Prefer": f"odata.maxpagesize={page_size}"}
        )
        if response.status_code == 410 or _error_code(response).lower() in _EXPIRED_SYNC_STATE:
            return None
        if response.status_code != 200:
            raise _graph_failure(response)
        return json_object(response, "Microsoft Graph")

    async def post(self, path: str, content: bytes, content_type: str) -> None:
        response = await self._send(
            "POST", path, content=content, headers={"Content-Type": content_type}
        )
        if response.status_code not in (200, 202, 204):
            raise _graph_failure(response)

    async def close(self) -> None:
        if self._own_http:
            await self._http.aclose()
