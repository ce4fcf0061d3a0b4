"""Account settings for admins: domain IMAP/SMTP settings, never-log list, logging policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from inboxlink.domain.enums import LoggingPolicy
from inboxlink.services import account_settings as account
from inboxlink.web.api.inboxes import ServerIn
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/admin", tags=["account settings"])


class DomainSettingsIn(BaseModel):
    domain: str = Field(max_length=253)
    imap: ServerIn
    smtp: ServerIn


class NeverLogIn(BaseModel):
    entry: str = Field(max_length=320, description="An address or a whole domain.")


class PolicyIn(BaseModel):
    logging_policy: LoggingPolicy


@router.get("/domain-settings")
async def list_domain_settings(caller: ApiCaller, db: Db) -> dict[str, Any]:
    rows = await account.list_domain_settings(db, caller.actor)
    return {"items": [account.domain_settings_dict(r) for r in rows]}


@router.put("/domain-settings")
async def save_domain_settings(body: DomainSettingsIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """IMAP/SMTP settings filled in for every address of the domain (P9)."""
    row = await account.save_domain_settings(
        db, caller.actor, body.domain, body.imap.settings(), body.smtp.settings()
    )
    return account.domain_settings_dict(row)


@router.delete("/domain-settings/{settings_id}", status_code=204)
async def delete_domain_settings(settings_id: int, caller: ApiCaller, db: Db) -> None:
    await account.delete_domain_settings(db, caller.actor, settings_id)


@router.get("/never-log")
async def never_log(caller: ApiCaller, db: Db) -> dict[str, Any]:
    return {"items": await account.never_log_list(db, caller.actor)}


@router.post("/never-log", status_code=201)
async def add_never_log(body: NeverLogIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return {"entry": await account.add_never_log(db, caller.actor, body.entry)}


@router.delete("/never-log/{entry}", status_code=204)
async def remove_never_log(entry: str, caller: ApiCaller, db: Db) -> None:
    await account.remove_never_log(db, caller.actor, entry)


@router.get("/logging-policy")
async def get_policy(caller: ApiCaller, db: Db) -> dict[str, Any]:
    return {"logging_policy": (await account.logging_policy(db, caller.actor)).value}


@router.put("/logging-policy")
async def set_policy(body: PolicyIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """``all``: all correspondence with contacts; ``replies``: only replies to CRM threads."""
    await account.set_logging_policy(db, caller.actor, body.logging_policy)
    return {"logging_policy": body.logging_policy.value}
