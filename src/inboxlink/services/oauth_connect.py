"""Connecting Gmail and Microsoft 365 inboxes with OAuth 2.0 (P6, P7, R2).

``start`` stores a single-use ``state`` bound to the user who asked (and, for the browser,
to their session) together with the sealed PKCE verifier, and returns the provider's
consent URL. ``complete`` runs when the provider sends the browser back: it checks the
state, exchanges the code, verifies the mailbox and saves (or reconnects) the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import delete, select

from inboxlink.clock import as_utc, utcnow
from inboxlink.connectors import oauth_client, oauth_connector, vault_context
from inboxlink.conversations.channels import attach_channel, remember_destination, require_admin
from inboxlink.domain.enums import InboxKind, Provider
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.providers.base import AccountInfo
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.google import authorization_error
from inboxlink.providers.microsoft import check_tenant_cloud, tenant_of
from inboxlink.providers.oauth import TokenSet, authorization_url, exchange_code, new_pkce_pair
from inboxlink.runtime import Runtime
from inboxlink.security.tokens import new_token, token_hash
from inboxlink.services.connect import NewInbox, save_inbox
from inboxlink.services.inboxes import get_inbox, transition
from inboxlink.services.users import actor_of, check_email
from inboxlink.store.tables import Alias, Inbox, OAuthState, User

STATE_LIFETIME = timedelta(minutes=15)
OAUTH_PROVIDERS = (Provider.GMAIL, Provider.MICROSOFT)


def verifier_context(state_hash: str) -> str:
    """What a pending state's sealed PKCE verifier is bound to: its row, which key rotation
    can name without knowing the state itself."""
    return f"oauth:{state_hash}"


def redirect_uri(runtime: Runtime, provider: Provider) -> str:
    return f"{runtime.settings.public_url}/oauth/{provider.value}/callback"


async def start(
    runtime: Runtime,
    actor: Actor,
    provider: Provider,
    *,
    email_hint: str = "",
    inbox_automation: bool = False,
    via_api: bool,
    reconnect_inbox_id: int | None = None,
    kind: InboxKind = InboxKind.PERSONAL,
    destination: str = "",
) -> str:
    """Remember a pending authorization and return the consent page URL.

    A team inbox (``kind=team``, admins only) also remembers its channel ``destination``.
    """
    if provider not in OAUTH_PROVIDERS:
        raise AppError("invalid_provider", "OAuth connects only Gmail and Microsoft inboxes.")
    if kind is InboxKind.TEAM:
        require_admin(actor)
    hint = check_email(email_hint) if email_hint else ""
    client = oauth_client(runtime.settings, provider, reconnect=reconnect_inbox_id is not None)
    state = new_token()
    verifier, challenge = new_pkce_pair()
    async with runtime.sessions() as session, session.begin():
        if reconnect_inbox_id is not None:
            inbox = await get_inbox(session, actor, reconnect_inbox_id)
            hint = inbox.email
        await session.execute(delete(OAuthState).where(OAuthState.expires_at < utcnow()))
        session.add(
            OAuthState(
                state_hash=token_hash(state),
                user_id=actor.user_id,
                provider=provider.value,
                kind=kind.value,
                email_hint=hint,
                inbox_automation=inbox_automation,
                code_verifier=runtime.vault.seal(
                    {"v": verifier}, context=verifier_context(token_hash(state))
                ),
                reconnect_inbox_id=reconnect_inbox_id,
                via_api=via_api,
                expires_at=utcnow() + STATE_LIFETIME,
            )
        )
        if kind is InboxKind.TEAM:
            await remember_destination(session, token_hash(state), destination)
    return authorization_url(
        client,
        redirect_uri=redirect_uri(runtime, provider),
        state=state,
        code_challenge=challenge,
        login_hint=hint or None,
    )


@dataclass(frozen=True, slots=True)
class Callback:
    provider: Provider
    state: str
    code: str = ""
    error: str = ""
    error_description: str = ""


def _state_invalid() -> AppError:
    return AppError(
        "oauth_state_invalid",
        "This sign-in link has expired or was already used. Start connecting your inbox again.",
    )


def _refusal(provider: Provider, error: str, description: str) -> ConnectorError:
    if provider is Provider.GMAIL:
        return authorization_error(error, description)
    if error == "access_denied":
        return ConnectorError(
            "consent_denied",
            "Microsoft did not give inboxlink access because the permissions were not accepted. "
            "Connect again and choose Accept to connect your inbox.",
        )
    return ConnectorError(
        "oauth_failed", f"Microsoft refused the sign-in ({error}). Try connecting again."
    )


async def _claim_state(
    runtime: Runtime, callback: Callback, session_user_id: int | None
) -> tuple[OAuthState, str]:
    """Take the pending state out of the store (single use) and check who completes it."""
    async with runtime.sessions() as session, session.begin():
        row = await session.scalar(
            select(OAuthState).where(OAuthState.state_hash == token_hash(callback.state))
        )
        if row is None:
            raise _state_invalid()
        await session.delete(row)
    if row.provider != callback.provider.value or as_utc(row.expires_at) < utcnow():
        raise _state_invalid()
    # A browser flow must come back to the session that started it. An API flow may finish
    # in any browser, but never in another user's session: that user would be sent to a
    # mailbox connected for someone else (or tricked into connecting theirs to a stranger).
    started_elsewhere = session_user_id != row.user_id
    if started_elsewhere and (not row.via_api or session_user_id is not None):
        raise _state_invalid()
    verifier = runtime.vault.open(row.code_verifier, context=verifier_context(row.state_hash))["v"]
    return row, str(verifier)


@dataclass(frozen=True, slots=True)
class Completed:
    inbox: Inbox
    reconnected: bool


async def complete(runtime: Runtime, callback: Callback, session_user_id: int | None) -> Completed:
    """Finish the connection the provider sent the browser back for."""
    pending, verifier = await _claim_state(runtime, callback, session_user_id)
    if callback.error:
        raise _refusal(callback.provider, callback.error, callback.error_description)
    if not callback.code:
        raise _state_invalid()
    settings = runtime.settings
    client = oauth_client(
        settings, callback.provider, reconnect=pending.reconnect_inbox_id is not None
    )
    tokens = await exchange_code(
        client,
        code=callback.code,
        redirect_uri=redirect_uri(runtime, callback.provider),
        code_verifier=verifier,
        timeout=settings.connect_timeout_seconds,
    )
    if callback.provider is Provider.MICROSOFT:
        tenant = tenant_of(tokens)
        if tenant:
            async with httpx.AsyncClient(timeout=settings.connect_timeout_seconds) as http:
                await check_tenant_cloud(settings, tenant, http)
    connector = oauth_connector(
        runtime, callback.provider, tokens, expected_email=pending.email_hint or None
    )
    try:
        info = await connector.verify()
    finally:
        await connector.close()
    async with runtime.sessions() as session:
        user = await session.get(User, pending.user_id)
    if user is None:
        raise _state_invalid()
    actor = actor_of(user)
    kind = InboxKind(pending.kind)
    if kind is InboxKind.TEAM:
        require_admin(actor)  # the role may have changed during the consent
    if pending.reconnect_inbox_id is not None:
        inbox = await _reconnect(runtime, actor, pending.reconnect_inbox_id, info, tokens)
        return Completed(inbox, reconnected=True)
    inbox = await save_inbox(
        runtime,
        actor,
        NewInbox(
            email=info.email,
            provider=callback.provider,
            settings={"folders": _folders(info)},
            secrets={"token": tokens.to_dict()},
            aliases=info.aliases,
            inbox_automation=pending.inbox_automation,
            detail=f"{callback.provider.value} OAuth",
            kind=kind,
        ),
    )
    if kind is InboxKind.TEAM:
        async with runtime.sessions() as session, session.begin():
            await attach_channel(session, inbox.id, pending.state_hash)
    return Completed(inbox, reconnected=False)


def _folders(info: AccountInfo) -> list[dict[str, str]]:
    return [{"name": f.name, "role": f.role} for f in info.folders]


async def _reconnect(
    runtime: Runtime, actor: Actor, inbox_id: int, info: AccountInfo, tokens: TokenSet
) -> Inbox:
    """Same inbox id, history and checkpoints; fresh tokens and aliases (P6: refreshed)."""
    async with runtime.sessions() as session, session.begin():
        inbox = await get_inbox(session, actor, inbox_id)
        if info.email != inbox.email:
            raise AppError(
                "wrong_account",
                f"You signed in as {info.email}, but this inbox is {inbox.email}. Reconnect "
                f"and choose {inbox.email}.",
            )
        inbox.credentials = runtime.vault.seal(
            {"token": tokens.to_dict()}, context=vault_context(inbox.id)
        )
        inbox.settings = {**inbox.settings, "folders": _folders(info)}
        if inbox.state != InboxState.CONNECTED.value:
            transition(
                session, inbox, InboxState.CONNECTED, actor_id=actor.user_id, reason="reconnected"
            )
        inbox.sync_state = "pending"
        inbox.last_error_code = inbox.last_error_message = None
        await session.execute(delete(Alias).where(Alias.inbox_id == inbox.id))
        session.add_all(Alias(inbox_id=inbox.id, email=a.email, name=a.name) for a in info.aliases)
        return inbox
