"""Connecting a personal IMAP/SMTP inbox (P1-P5, P9): detect, verify both servers, then save.

Nothing is stored unless IMAP login and SMTP authentication both succeed. Secrets go only
into the vault; the inbox row keeps hosts, ports and folder names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inboxlink.connectors import ImapSmtpSetup, imap_smtp_connector, vault_context
from inboxlink.discovery.detect import detect
from inboxlink.discovery.model import Detection, DomainServers
from inboxlink.discovery.recommend import recommend
from inboxlink.domain.enums import InboxKind, Provider
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor, can_manage_inbox
from inboxlink.domain.servers import Credentials, ServerSettings
from inboxlink.errors import AppError, Conflict, Forbidden
from inboxlink.providers.base import Address
from inboxlink.runtime import Runtime
from inboxlink.services.account_settings import admin_servers
from inboxlink.services.inboxes import get_inbox, inbox_ref, record, transition
from inboxlink.services.users import check_email
from inboxlink.store.tables import Alias, Inbox


@dataclass(frozen=True, slots=True)
class ImapConnectRequest:
    email: str
    password: str
    username: str = ""
    imap: ServerSettings | None = None
    smtp: ServerSettings | None = None
    smtp_uses_imap_credentials: bool = True
    smtp_username: str = ""
    smtp_password: str = ""
    trust_any_certificate: bool = False
    inbox_automation: bool = False

    def __repr__(self) -> str:  # keep passwords out of logs and tracebacks
        return f"ImapConnectRequest(email={self.email!r}, imap={self.imap}, smtp={self.smtp})"


async def run_detection(runtime: Runtime, actor: Actor, email: str) -> Detection:
    async def lookup(domain: str) -> DomainServers | None:
        async with runtime.sessions() as session:
            return await admin_servers(session, actor.account_id, domain)

    return await detect(
        email,
        settings=runtime.settings,
        resolver=runtime.resolver,
        policy=runtime.policy,
        admin_lookup=lookup,
    )


async def check_address_free(
    runtime: Runtime, actor: Actor, email: str, kind: InboxKind = InboxKind.PERSONAL
) -> None:
    """P4: one owner per personal address; a team address is not a personal inbox (T1)."""
    async with runtime.sessions() as session:
        existing = await session.scalar(
            select(Inbox).where(Inbox.account_id == actor.account_id, Inbox.active_email == email)
        )
    if existing is None:
        return
    if kind is InboxKind.TEAM:
        if existing.kind == InboxKind.TEAM.value:
            raise Conflict("already_connected", f"{email} is already connected as a team inbox.")
        raise Conflict(
            "address_is_personal_inbox",
            f"{email} is connected as a personal inbox, so it cannot also be a team inbox. "
            "Its owner has to remove it first.",
        )
    if existing.kind == InboxKind.TEAM.value:
        raise Conflict(
            "address_is_team_inbox",
            f"{email} is connected as a team inbox, so it cannot also be a personal inbox.",
        )
    if existing.owner_id == actor.user_id:
        raise Conflict("already_connected", f"You have already connected {email}.")
    raise Conflict(
        "already_connected_by_another_user",
        f"{email} is already connected as another user's personal inbox. A personal inbox "
        "belongs to one user; ask them to remove it first, or connect it as a team inbox.",
    )


def _servers(
    request: ImapConnectRequest, detection: Detection | None
) -> tuple[ServerSettings, ServerSettings]:
    imap = request.imap or (detection.imap if detection else None)
    smtp = request.smtp or (detection.smtp if detection else None)
    if imap is None or smtp is None:
        missing = " and ".join(n for n, s in (("IMAP", imap), ("SMTP", smtp)) if s is None)
        raise AppError(
            "settings_not_found",
            f"We could not find the {missing} server settings for this address. Open "
            "Advanced options and enter the host names and ports your mail provider gives.",
            status=422,
            steps=[s.to_dict() for s in detection.steps] if detection else [],
        )
    return imap, smtp


def build_setup(request: ImapConnectRequest, detection: Detection | None) -> ImapSmtpSetup:
    imap, smtp = _servers(request, detection)
    username = request.username.strip() or imap.username or request.email
    imap_credentials = Credentials(username, request.password)
    if request.smtp_uses_imap_credentials:
        smtp_credentials = imap_credentials
    else:
        smtp_credentials = Credentials(
            request.smtp_username.strip() or smtp.username or request.email, request.smtp_password
        )
    return ImapSmtpSetup(
        imap=ServerSettings(imap.host, imap.port, imap.security, imap_credentials.username),
        smtp=ServerSettings(smtp.host, smtp.port, smtp.security, smtp_credentials.username),
        imap_credentials=imap_credentials,
        smtp_credentials=smtp_credentials,
        trust_any_certificate=request.trust_any_certificate,
    )


async def connect_imap_inbox(runtime: Runtime, actor: Actor, request: ImapConnectRequest) -> Inbox:
    email = check_email(request.email)
    request = replace(request, email=email)
    await check_address_free(runtime, actor, email)
    if request.imap is not None and request.smtp is not None:
        # Servers given: only the recommendation matters (Amazon SES/WorkMail is refused).
        recommendation = await recommend(email, runtime.resolver)
        if recommendation.provider == "unsupported":
            raise AppError("unsupported_provider", recommendation.message, status=422)
        setup = build_setup(request, None)
    else:
        detection = await run_detection(runtime, actor, email)
        if detection.provider == "unsupported":
            raise AppError("unsupported_provider", detection.message, status=422)
        setup = build_setup(request, detection)

    connector = imap_smtp_connector(runtime, setup)
    try:
        info = await connector.verify()
    finally:
        await connector.close()

    return await save_inbox(
        runtime,
        actor,
        NewInbox(
            email=email,
            provider=Provider.IMAP,
            settings=setup.settings_dict(list(info.folders)),
            secrets=setup.secrets_dict(),
            aliases=(),
            inbox_automation=request.inbox_automation,
            detail=f"IMAP {setup.imap.host}:{setup.imap.port}; SMTP {setup.smtp.host}",
        ),
    )


@dataclass(frozen=True, slots=True)
class NewInbox:
    """A verified mailbox, ready to be saved; ``secrets`` go only into the vault."""

    email: str
    provider: Provider
    settings: dict[str, Any]
    secrets: dict[str, Any]
    aliases: tuple[Address, ...]
    inbox_automation: bool
    detail: str
    #: A team inbox belongs to the account (no owner) and records who connected it (T1).
    kind: InboxKind = InboxKind.PERSONAL

    def __repr__(self) -> str:
        return f"NewInbox(email={self.email!r}, provider={self.provider.value})"


async def save_inbox(runtime: Runtime, actor: Actor, new: NewInbox) -> Inbox:
    """Store a verified inbox, its aliases and sealed secrets; history and audit."""
    await check_address_free(runtime, actor, new.email, new.kind)
    async with runtime.sessions() as session:
        inbox = Inbox(
            account_id=actor.account_id,
            kind=new.kind.value,
            provider=new.provider.value,
            email=new.email,
            active_email=new.email,
            owner_id=actor.user_id if new.kind is InboxKind.PERSONAL else None,
            connected_by_id=actor.user_id,
            inbox_automation=new.inbox_automation,
            state=InboxState.CONNECTING.value,
            settings=new.settings,
        )
        session.add(inbox)
        try:
            await session.flush()
        except IntegrityError as exc:  # connected by someone else a moment ago
            await session.rollback()
            await check_address_free(runtime, actor, new.email, new.kind)
            raise Conflict("already_connected", f"{new.email} is already connected.") from exc
        inbox.credentials = runtime.vault.seal(new.secrets, context=vault_context(inbox.id))
        for alias in new.aliases:
            session.add(Alias(inbox_id=inbox.id, email=alias.email, name=alias.name))
        transition(session, inbox, InboxState.CONNECTED, actor_id=actor.user_id, reason="connected")
        record(session, inbox, actor_id=actor.user_id, action="inbox.connect", detail=new.detail)
        await session.commit()
        return inbox


async def reconnect_imap_inbox(
    runtime: Runtime, actor: Actor, inbox_id: int, password: str, smtp_password: str = ""
) -> Inbox:
    """``needs_reconnect → connected`` with a new password: same inbox id, history and
    checkpoints, so sync resumes where it stopped without logging anything twice."""
    async with runtime.sessions() as session:
        inbox = await get_inbox(session, actor, inbox_id)
        if not can_manage_inbox(actor, inbox_ref(inbox)) or inbox.provider != Provider.IMAP.value:
            raise Forbidden("Only the inbox's owner can reconnect it.")
        stored = (
            runtime.vault.open(inbox.credentials, context=vault_context(inbox.id))
            if inbox.credentials
            else {}
        )
        imap, smtp = inbox.settings["imap"], inbox.settings["smtp"]
        shared = stored.get("smtp") == stored.get("imap")
        request = ImapConnectRequest(
            email=inbox.email,
            password=password,
            username=imap.get("username", ""),
            imap=ServerSettings.from_dict(imap),
            smtp=ServerSettings.from_dict(smtp),
            # SMTP keeps its own stored password unless a new one is given.
            smtp_uses_imap_credentials=shared and not smtp_password,
            smtp_username=smtp.get("username", ""),
            smtp_password=smtp_password or stored.get("smtp", {}).get("password", ""),
            trust_any_certificate=bool(inbox.settings.get("trust_any_certificate")),
        )
    setup = build_setup(request, None)
    connector = imap_smtp_connector(runtime, setup)
    try:
        info = await connector.verify()
    finally:
        await connector.close()
    async with runtime.sessions() as session:
        inbox = await get_inbox(session, actor, inbox_id)
        inbox.credentials = runtime.vault.seal(
            setup.secrets_dict(), context=vault_context(inbox.id)
        )
        inbox.settings = setup.settings_dict(list(info.folders))
        if inbox.state != InboxState.CONNECTED.value:
            transition(
                session, inbox, InboxState.CONNECTED, actor_id=actor.user_id, reason="reconnected"
            )
        inbox.sync_state = "pending"
        inbox.last_error_code = inbox.last_error_message = None
        await session.commit()
        return inbox
