"""Build a connector for an inbox from its stored settings and vault-sealed credentials.

Part of the composition root: the only place that maps a provider kind to its connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inboxlink.config import Settings
from inboxlink.domain.enums import Provider
from inboxlink.domain.servers import Credentials, ServerSettings
from inboxlink.errors import AppError
from inboxlink.providers.base import Connector, Folder
from inboxlink.providers.exchange import ExchangeConnector, ExchangeOptions, ExchangeSetup
from inboxlink.providers.gmail import GmailConnector
from inboxlink.providers.google import google_client
from inboxlink.providers.graph import GraphConnector
from inboxlink.providers.imap import ImapConnector
from inboxlink.providers.imap_smtp import ImapSmtpConnector
from inboxlink.providers.microsoft import microsoft_client
from inboxlink.providers.oauth import OAuthClient, RefreshHook, TokenKeeper, TokenSet
from inboxlink.providers.smtp import SmtpSender
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox


@dataclass(frozen=True, slots=True)
class ImapSmtpSetup:
    """Everything needed to reach an IMAP/SMTP mailbox (what connect verifies and stores)."""

    imap: ServerSettings
    smtp: ServerSettings
    imap_credentials: Credentials
    smtp_credentials: Credentials
    trust_any_certificate: bool

    def settings_dict(self, folders: list[Folder]) -> dict[str, Any]:
        return {
            "imap": self.imap.as_dict(),
            "smtp": self.smtp.as_dict(),
            "trust_any_certificate": self.trust_any_certificate,
            "folders": [{"name": f.name, "role": f.role} for f in folders],
        }

    def secrets_dict(self) -> dict[str, Any]:
        return {
            "imap": {
                "username": self.imap_credentials.username,
                "password": self.imap_credentials.password,
            },
            "smtp": {
                "username": self.smtp_credentials.username,
                "password": self.smtp_credentials.password,
            },
        }


def vault_context(inbox_id: int) -> str:
    return f"inbox:{inbox_id}"


def imap_smtp_connector(
    runtime: Runtime, setup: ImapSmtpSetup, *, sent_folder: str | None = None
) -> ImapSmtpConnector:
    settings = runtime.settings
    imap = ImapConnector(
        setup.imap,
        setup.imap_credentials,
        runtime.policy,
        trust_any_certificate=setup.trust_any_certificate,
        extra_ca_file=settings.extra_ca_file,
        timeout=settings.connect_timeout_seconds,
        backfill_days=settings.backfill_days,
        batch_size=settings.sync_batch_size,
    )
    smtp = SmtpSender(
        setup.smtp,
        setup.smtp_credentials,
        runtime.policy,
        trust_any_certificate=setup.trust_any_certificate,
        extra_ca_file=settings.extra_ca_file,
        timeout=settings.connect_timeout_seconds,
    )
    return ImapSmtpConnector(imap, smtp, sent_folder=sent_folder)


def folders_of(inbox: Inbox) -> list[Folder]:
    return [Folder(f["name"], f["role"]) for f in inbox.settings.get("folders", [])]


def oauth_client(settings: Settings, provider: Provider, *, reconnect: bool) -> OAuthClient:
    if provider is Provider.GMAIL:
        return google_client(settings, reconnect=reconnect)
    return microsoft_client(settings)


def _token_saver(runtime: Runtime, inbox_id: int) -> RefreshHook:
    """Re-seal refreshed tokens at once, so a restart never uses a spent refresh token."""

    async def save(tokens: TokenSet) -> None:
        async with runtime.sessions() as session, session.begin():
            inbox = await session.get(Inbox, inbox_id)
            if inbox is not None and inbox.credentials is not None:
                inbox.credentials = runtime.vault.seal(
                    {"token": tokens.to_dict()}, context=vault_context(inbox_id)
                )

    return save


def oauth_connector(
    runtime: Runtime,
    provider: Provider,
    tokens: TokenSet,
    *,
    expected_email: str | None,
    inbox_id: int | None = None,
) -> Connector:
    """A Gmail or Graph connector; with ``inbox_id`` refreshed tokens are saved to the vault."""
    settings = runtime.settings
    keeper = TokenKeeper(
        oauth_client(settings, provider, reconnect=False),
        tokens,
        timeout=settings.connect_timeout_seconds,
        on_refresh=_token_saver(runtime, inbox_id) if inbox_id is not None else None,
    )
    if provider is Provider.GMAIL:
        return GmailConnector(settings, keeper)
    return GraphConnector(settings, keeper, expected_email=expected_email)


def exchange_options(runtime: Runtime) -> ExchangeOptions:
    settings = runtime.settings
    return ExchangeOptions(
        extra_ca_file=settings.extra_ca_file,
        timeout=settings.connect_timeout_seconds,
        backfill_days=settings.backfill_days,
        batch_size=settings.sync_batch_size,
        poll_seconds=settings.ews_poll_seconds,
    )


def exchange_connector_for(
    runtime: Runtime, inbox: Inbox, secrets: dict[str, Any]
) -> ExchangeConnector:
    """The connector of a stored Exchange inbox (``secrets``: its opened vault entry)."""
    setup = ExchangeSetup(
        ews_url=str(inbox.settings["ews_url"]),
        email=inbox.email,
        username=str(secrets["username"]),
        password=str(secrets["password"]),
        trust_any_certificate=bool(inbox.settings.get("trust_any_certificate")),
    )
    return ExchangeConnector(setup, runtime.policy, exchange_options(runtime))


def connector_for(runtime: Runtime, inbox: Inbox) -> Connector:
    """The connector of a stored inbox."""
    if inbox.credentials is None:
        raise AppError("inbox_removed", "This inbox was removed; connect it again to use it.")
    secrets = runtime.vault.open(inbox.credentials, context=vault_context(inbox.id))
    provider = Provider(inbox.provider)
    if provider in (Provider.GMAIL, Provider.MICROSOFT):
        return oauth_connector(
            runtime,
            provider,
            TokenSet.from_dict(secrets["token"]),
            expected_email=inbox.email,
            inbox_id=inbox.id,
        )
    if provider is Provider.EXCHANGE:
        return exchange_connector_for(runtime, inbox, secrets)
    if provider is Provider.IMAP:
        setup = ImapSmtpSetup(
            imap=ServerSettings.from_dict(inbox.settings["imap"]),
            smtp=ServerSettings.from_dict(inbox.settings["smtp"]),
            imap_credentials=Credentials(**secrets["imap"]),
            smtp_credentials=Credentials(**secrets["smtp"]),
            trust_any_certificate=bool(inbox.settings.get("trust_any_certificate")),
        )
        sent = [f.name for f in folders_of(inbox) if f.role == "sent"]
        return imap_smtp_connector(runtime, setup, sent_folder=sent[0] if sent else None)
    raise AppError("provider_not_available", f"Unknown provider {inbox.provider}.")
