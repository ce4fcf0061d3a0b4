"""Inboxes: detect settings, connect, read, change, disable, enable, remove."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from inboxlink.discovery.recommend import recommend
from inboxlink.domain.enums import Provider, Visibility
from inboxlink.domain.servers import ServerSettings
from inboxlink.errors import AppError
from inboxlink.services import lifecycle, oauth_connect
from inboxlink.services.connect import (
    ImapConnectRequest,
    connect_imap_inbox,
    reconnect_imap_inbox,
    run_detection,
)
from inboxlink.services.connect_exchange import ExchangeConnectRequest, connect_exchange_inbox
from inboxlink.services.inboxes import aliases_of, get_inbox, inbox_dict, visible_inboxes
from inboxlink.web.deps import ApiCaller, Db, RuntimeDep

router = APIRouter(prefix="/inboxes", tags=["inboxes"])

Email = Field(max_length=320)
Secret = Field(default="", max_length=1000)


class ServerIn(BaseModel):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"

    def settings(self) -> ServerSettings:
        return ServerSettings(self.host.strip(), self.port, self.security)


class SmtpIn(ServerIn):
    username: str = Field(default="", max_length=320)
    password: str = Secret


class DetectIn(BaseModel):
    email: str = Email


class ConnectIn(BaseModel):
    kind: Literal["personal"] = "personal"
    provider: Literal["imap", "gmail", "microsoft", "exchange"]
    email: str = Email
    password: str = Secret
    username: str = Field(default="", max_length=320)
    imap: ServerIn | None = None
    smtp: SmtpIn | None = None
    smtp_uses_imap_credentials: bool = True
    trust_any_certificate: bool = False
    inbox_automation: bool = False
    ews_url: str = Field(default="", max_length=2000, description="Exchange only; optional.")


class InboxPatch(BaseModel):
    inbox_automation: bool | None = None
    visibility_crm_sent: Visibility | None = None
    visibility_other: Visibility | None = None


async def _answer(db: Db, inbox_id: int, caller: ApiCaller) -> dict[str, Any]:
    inbox = await get_inbox(db, caller.actor, inbox_id)
    aliases = await aliases_of(db, [inbox.id])
    return inbox_dict(inbox, aliases[inbox.id])


@router.get("")
async def list_inboxes(caller: ApiCaller, db: Db) -> dict[str, Any]:
    found = await visible_inboxes(db, caller.actor)
    aliases = await aliases_of(db, [i.id for i in found])
    return {"items": [inbox_dict(i, aliases[i.id]) for i in found]}


@router.post("/detect")
async def detect_settings(body: DetectIn, caller: ApiCaller, runtime: RuntimeDep) -> dict[str, Any]:
    """Provider recommendation and IMAP/SMTP settings, with every step tried (P3, P9, G3)."""
    return (await run_detection(runtime, caller.actor, body.email)).to_dict()


@router.post("/recommend")
async def recommend_provider(
    body: DetectIn, caller: ApiCaller, runtime: RuntimeDep
) -> dict[str, Any]:
    """Only the provider recommendation (P3): fast, for the connect dialog's first step."""
    return (await recommend(body.email, runtime.resolver)).to_dict()


class OAuthStartIn(BaseModel):
    provider: Literal["gmail", "microsoft"]
    kind: Literal["personal"] = "personal"
    email: str = Field(default="", max_length=320)
    inbox_automation: bool = False


@router.post("/oauth/start")
async def oauth_start(body: OAuthStartIn, caller: ApiCaller, runtime: RuntimeDep) -> dict[str, str]:
    """Start connecting Gmail or Microsoft: open ``authorization_url`` in a browser; the
    provider returns to ``/oauth/<provider>/callback``, which completes the connection."""
    url = await oauth_connect.start(
        runtime,
        caller.actor,
        Provider(body.provider),
        email_hint=body.email,
        inbox_automation=body.inbox_automation,
        via_api=True,
    )
    return {"authorization_url": url}


@router.post("", status_code=201)
async def connect(
    body: ConnectIn, caller: ApiCaller, db: Db, runtime: RuntimeDep
) -> dict[str, Any]:
    """Verify the mailbox (IMAP login and SMTP AUTH, or EWS) and save it; nothing is stored
    on failure. Gmail and Microsoft connect through ``/inboxes/oauth/start``."""
    if body.provider in ("gmail", "microsoft"):
        raise AppError(
            "use_oauth",
            f"{body.provider} inboxes connect with OAuth: POST /api/v1/inboxes/oauth/start and "
            "open the authorization_url it returns.",
            status=422,
        )
    if not body.password:
        raise AppError(
            "password_required", "Enter the mailbox password (or an app password).", status=422
        )
    if body.provider == "exchange":
        exchange = await connect_exchange_inbox(
            runtime,
            caller.actor,
            ExchangeConnectRequest(
                email=body.email,
                password=body.password,
                username=body.username,
                ews_url=body.ews_url,
                trust_any_certificate=body.trust_any_certificate,
                inbox_automation=body.inbox_automation,
            ),
        )
        await runtime.scheduler.inbox_changed(exchange.id)
        return await _answer(db, exchange.id, caller)
    request = ImapConnectRequest(
        email=body.email,
        password=body.password,
        username=body.username,
        imap=body.imap.settings() if body.imap else None,
        smtp=body.smtp.settings() if body.smtp else None,
        smtp_uses_imap_credentials=body.smtp_uses_imap_credentials,
        smtp_username=body.smtp.username if body.smtp else "",
        smtp_password=body.smtp.password if body.smtp else "",
        trust_any_certificate=body.trust_any_certificate,
        inbox_automation=body.inbox_automation,
    )
    inbox = await connect_imap_inbox(runtime, caller.actor, request)
    await runtime.scheduler.inbox_changed(inbox.id)
    return await _answer(db, inbox.id, caller)


@router.get("/{inbox_id}")
async def read_inbox(inbox_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _answer(db, inbox_id, caller)


@router.patch("/{inbox_id}")
async def change_inbox(
    inbox_id: int, body: InboxPatch, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    """Inbox automation (P2) and how much of the owner's logged mail colleagues see."""
    await lifecycle.change_options(
        db,
        caller.actor,
        inbox_id,
        inbox_automation=body.inbox_automation,
        visibility_crm_sent=body.visibility_crm_sent,
        visibility_other=body.visibility_other,
    )
    return await _answer(db, inbox_id, caller)


class ReconnectIn(BaseModel):
    password: str = Field(min_length=1, max_length=1000)
    smtp_password: str = Secret


@router.post("/{inbox_id}/reconnect")
async def reconnect(
    inbox_id: int, body: ReconnectIn, caller: ApiCaller, db: Db, runtime: RuntimeDep
) -> dict[str, Any]:
    """Sign in again after the server refused the stored password (``needs_reconnect``)."""
    await reconnect_imap_inbox(runtime, caller.actor, inbox_id, body.password, body.smtp_password)
    await runtime.scheduler.inbox_changed(inbox_id)
    return await _answer(db, inbox_id, caller)


@router.post("/{inbox_id}/disable")
async def disable(inbox_id: int, caller: ApiCaller, db: Db, runtime: RuntimeDep) -> dict[str, Any]:
    await lifecycle.disable(db, caller.actor, inbox_id)
    await db.commit()  # before the engine looks: a worker in another process reads the state
    await runtime.scheduler.inbox_changed(inbox_id)
    return await _answer(db, inbox_id, caller)


@router.post("/{inbox_id}/enable")
async def enable(inbox_id: int, caller: ApiCaller, db: Db, runtime: RuntimeDep) -> dict[str, Any]:
    await lifecycle.enable(db, caller.actor, inbox_id)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    return await _answer(db, inbox_id, caller)


@router.delete("/{inbox_id}")
async def remove(inbox_id: int, caller: ApiCaller, db: Db, runtime: RuntimeDep) -> dict[str, Any]:
    """Remove a disabled inbox (409 ``inbox_not_disabled`` otherwise); answers the D4 steps."""
    steps = await lifecycle.remove(db, runtime, caller.actor, inbox_id)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    return {"removed": True, "provider_steps": steps}
