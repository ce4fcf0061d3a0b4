"""Google as an OAuth provider: endpoints, the one consent for every feature, refusals.

Endpoints derive from ``INBOXLINK_GOOGLE_ACCOUNTS_URL`` and ``INBOXLINK_GOOGLE_API_URL`` only,
so one emulator (or proxy) can stand in for Google as a whole.
"""

from __future__ import annotations

from inboxlink.config import Settings
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.oauth import OAuthClient

#: Everything the mailbox features need: read and label (modify), send, read send-as aliases;
#: ``openid email`` identify the account that consented.
GMAIL_SCOPES = (
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.settings.basic",
)


def google_client(settings: Settings, *, reconnect: bool) -> OAuthClient:
    """The OAuth client for Google.

    R2: one consent asks for the mail scopes and every configured extra feature's scopes, and
    ``include_granted_scopes`` keeps what was granted before. ``access_type=offline`` gets a
    refresh token; on reconnect ``prompt=consent`` makes Google ask again (and issue a new
    refresh token) instead of silently reusing a grant that may lack the new scopes.
    """
    if not settings.google_client_id or not settings.google_client_secret:
        raise ConnectorError(
            "provider_not_configured",
            "Gmail connections are not set up on this server. An administrator must create an "
            "OAuth client in Google Cloud and set INBOXLINK_GOOGLE_CLIENT_ID and "
            "INBOXLINK_GOOGLE_CLIENT_SECRET.",
        )
    extra_scopes = tuple(s for s in settings.google_extra_scopes.split() if s not in GMAIL_SCOPES)
    accounts = settings.google_accounts_url.rstrip("/")
    api = settings.google_api_url.rstrip("/")
    return OAuthClient(
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret,
        authorize_url=f"{accounts}/o/oauth2/v2/auth",
        token_url=f"{api}/token",
        revoke_url=f"{api}/revoke",
        scopes=GMAIL_SCOPES + extra_scopes,
        extra_authorize_params={
            "access_type": "offline",
            "include_granted_scopes": "true",
            "prompt": "consent" if reconnect else "select_account",
        },
        display_name="Google",
    )


def authorization_error(error: str, description: str | None = None) -> ConnectorError:
    """The error a user meets when Google sent the browser back without a code.

    Accounts in the Advanced Protection Program refuse apps Google has not approved for them
    (``policy_enforced``); that gets its own code and message (P6), since no retry helps.
    """
    text = (description or "").lower()
    if error == "policy_enforced" or "advanced protection" in text:
        return ConnectorError(
            "advanced_protection",
            "This Google account is enrolled in Google's Advanced Protection Program, which does "
            "not let apps like inboxlink read or send its mail (only Google's own apps and a few "
            "approved mail programs). Connect an inbox of another account instead.",
        )
    if error == "admin_policy_enforced":
        return ConnectorError(
            "admin_policy_enforced",
            "The administrator of this Google Workspace account does not allow inboxlink to "
            "access it. Ask them to allow the app in the Google Admin console.",
        )
    if error == "access_denied":
        return ConnectorError(
            "consent_denied",
            "Google did not give inboxlink access because the permissions were not allowed. "
            "Connect again and choose Allow to connect the inbox.",
        )
    return ConnectorError(
        "oauth_failed",
        f"Google refused the connection ({error}). Try again; if it keeps failing, an "
        "administrator should check the Google OAuth client settings.",
    )
