"""OAuth 2.0 for mailbox providers: authorization code + PKCE (S256), refresh, revoke.

Provider-neutral: Google and Microsoft differ only in their ``OAuthClient`` (endpoints,
scopes, extra authorize parameters). The protocol work is Authlib's; this module turns its
outcomes into the ``ConnectorError`` codes users meet, so a revoked grant (``invalid_grant``)
stops retries at once while an unreachable provider stays a transient failure.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]

from inboxlink.clock import as_utc, utcnow
from inboxlink.providers.errors import ConnectorError

with warnings.catch_warnings():
    # Authlib prefers the ``httpx2`` fork and warns when it falls back to httpx, which is the
    # HTTP client this project standardises on (DESIGN.md); the fallback is what we want.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.common.security import generate_token  # type: ignore[import-untyped]
    from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
    )
    from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
        prepare_grant_uri,
    )
    from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

#: Token-endpoint errors that mean our client registration is wrong, not a passing problem.
_CLIENT_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_request", "unsupported_grant_type"}
)
#: Refresh this long before the access token expires, so no request races the expiry.
REFRESH_AHEAD = timedelta(minutes=5)


@dataclass(frozen=True)
class OAuthClient:
    """This service as a registered OAuth client of one provider."""

    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    revoke_url: str | None
    scopes: tuple[str, ...]
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    #: How users know the provider ("Google"), for error messages.
    display_name: str = "The provider"


@dataclass(frozen=True)
class TokenSet:
    """A grant's tokens. ``repr`` hides them: they end up in logs and tracebacks otherwise."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scope: str
    id_token: str | None = field(default=None, repr=False)

    def expires_within(self, margin: timedelta) -> bool:
        return self.expires_at - margin <= utcnow()

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-able form for the secret vault."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "scope": self.scope,
            "id_token": self.id_token,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=as_utc(datetime.fromisoformat(str(data["expires_at"]))),
            scope=str(data.get("scope") or ""),
            id_token=data.get("id_token"),
        )


def new_pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)``; the challenge is S256 of the verifier."""
    verifier = generate_token(64)
    return verifier, create_s256_code_challenge(verifier)


def authorization_url(
    client: OAuthClient,
    *,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    login_hint: str | None = None,
    prompt: str | None = None,
) -> str:
    """Where to send the browser to ask the user's consent."""
    extra: dict[str, str] = dict(client.extra_authorize_params)
    extra.update(code_challenge=code_challenge, code_challenge_method="S256")
    if login_hint:
        extra["login_hint"] = login_hint
    if prompt:
        extra["prompt"] = prompt
    url: str = prepare_grant_uri(
        client.authorize_url,
        client_id=client.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=" ".join(client.scopes),
        state=state,
        **extra,
    )
    return url


def _token_set(data: Mapping[str, Any], previous: TokenSet | None = None) -> TokenSet:
    """Read a token response; a refresh answer may omit the refresh token and the scope."""
    if "expires_at" in data:
        expires_at = datetime.fromtimestamp(int(data["expires_at"]), tz=UTC)
    else:
        expires_at = utcnow() + timedelta(seconds=int(data.get("expires_in", 3600)))
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=data.get("refresh_token") or (previous.refresh_token if previous else None),
        expires_at=expires_at,
        scope=str(data.get("scope") or (previous.scope if previous else "")),
        id_token=data.get("id_token") or (previous.id_token if previous else None),
    )


def _unreachable(client: OAuthClient, detail: str) -> ConnectorError:
    return ConnectorError(
        "provider_unreachable",
        f"{client.display_name} could not be reached to sign in ({detail}). "
        "inboxlink will try again; if it persists, check the server's internet connection.",
        transient=True,
    )


def _session(client: OAuthClient, timeout: float) -> Any:
    return AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope=" ".join(client.scopes),
        timeout=timeout,
    )


async def _call(
    client: OAuthClient, request: Callable[[Any], Awaitable[Any]], timeout: float
) -> Any:
    """Run one token-endpoint request, translating transport failures (never OAuth errors)."""
    async with _session(client, timeout) as session:
        try:
            return await request(session)
        except httpx.TransportError as exc:
            raise _unreachable(client, type(exc).__name__) from exc
        except httpx.HTTPStatusError as exc:
            raise _unreachable(client, f"HTTP {exc.response.status_code}") from exc
        except ValueError as exc:  # a body that is not a token response (a gateway's page)
            raise _unreachable(client, "unexpected answer") from exc


async def exchange_code(
    client: OAuthClient, *, code: str, redirect_uri: str, code_verifier: str, timeout: float
) -> TokenSet:
    """Trade the callback's code for tokens, proving possession of the PKCE verifier."""
    try:
        data = await _call(
            client,
            lambda s: s.fetch_token(
                client.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            ),
            timeout,
        )
    except OAuthError as exc:
        raise ConnectorError(
            "oauth_failed",
            f"{client.display_name} refused to complete the connection ({exc.error}). "
            "Start connecting again; if it keeps failing, an administrator should check the "
            "OAuth client id, secret and redirect URI.",
        ) from exc
    return _token_set(data)


async def refresh_tokens(client: OAuthClient, token: TokenSet, *, timeout: float) -> TokenSet:
    """A new access token from the refresh token; ``invalid_grant`` means access is gone."""
    if not token.refresh_token:
        raise _revoked(client)
    try:
        data = await _call(
            client,
            lambda s: s.refresh_token(client.token_url, refresh_token=token.refresh_token),
            timeout,
        )
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            raise _revoked(client) from exc
        if exc.error not in _CLIENT_ERRORS:  # temporarily_unavailable, rate limits …
            raise _unreachable(client, exc.error) from exc
        raise ConnectorError(
            "oauth_failed",
            f"{client.display_name} refused to renew access ({exc.error}). An administrator "
            "should check the OAuth client id and secret.",
        ) from exc
    return _token_set(data, token)


def _revoked(client: OAuthClient) -> ConnectorError:
    return ConnectorError(
        "token_revoked",
        f"{client.display_name} no longer accepts inboxlink's access to this mailbox (access "
        "was removed or the password changed). Reconnect the inbox to grant access again.",
        transient=False,
    )


async def revoke_token(client: OAuthClient, token: str, *, timeout: float) -> None:
    """Give the grant back. A token the provider already forgot counts as revoked."""
    if client.revoke_url is None:
        return
    url = client.revoke_url
    response = await _call(client, lambda s: s.revoke_token(url, token=token), timeout)
    if response.status_code >= 500:
        raise _unreachable(client, f"HTTP {response.status_code}")
    already_gone = _error_of(response) in ("invalid_token", "invalid_grant")
    if response.status_code >= 400 and not already_gone:
        raise ConnectorError(
            "revoke_failed",
            f"{client.display_name} did not revoke inboxlink's access (HTTP "
            f"{response.status_code}). Remove it from the account's security settings instead.",
        )


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


RefreshHook = Callable[[TokenSet], Awaitable[None]]


class TokenKeeper:
    """The live tokens of one mailbox: refreshed ahead of expiry, at most once at a time.

    ``on_refresh`` is awaited with every new ``TokenSet`` so the caller can re-seal it in the
    vault. Once the provider answered ``invalid_grant`` the keeper remembers it and fails fast,
    so a revoked grant costs one token request, not one per sync attempt.
    """

    def __init__(
        self,
        client: OAuthClient,
        token: TokenSet,
        *,
        timeout: float,
        on_refresh: RefreshHook | None = None,
        refresh_ahead: timedelta = REFRESH_AHEAD,
    ):
        self.client = client
        self.on_refresh = on_refresh
        self._token = token
        self._timeout = timeout
        self._ahead = refresh_ahead
        self._lock = asyncio.Lock()
        self._failure: ConnectorError | None = None

    @property
    def token(self) -> TokenSet:
        return self._token

    async def access_token(self) -> str:
        """A bearer token valid for at least ``refresh_ahead``, refreshing when needed."""
        if self._failure is None and not self._token.expires_within(self._ahead):
            return self._token.access_token
        return await self._refresh(stale=self._token)

    async def refresh_after_rejection(self, rejected: str) -> str:
        """The provider refused ``rejected`` before its expiry (401): renew once."""
        stale = self._token if self._token.access_token == rejected else None
        return await self._refresh(stale=stale)

    async def _refresh(self, *, stale: TokenSet | None) -> str:
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if stale is not None and self._token is stale:  # nobody refreshed while we waited
                try:
                    fresh = await refresh_tokens(self.client, self._token, timeout=self._timeout)
                except ConnectorError as exc:
                    if not exc.transient:
                        self._failure = exc
                    raise
                self._token = fresh
                if self.on_refresh is not None:
                    await self.on_refresh(fresh)
            return self._token.access_token
