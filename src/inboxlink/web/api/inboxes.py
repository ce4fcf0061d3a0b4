"""Inboxes: list and read (connect, lifecycle and detection routes join this router)."""

from typing import Any

from fastapi import APIRouter

from inboxlink.services.inboxes import aliases_of, get_inbox, inbox_dict, visible_inboxes
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/inboxes", tags=["inboxes"])


@router.get("")
async def list_inboxes(caller: ApiCaller, db: Db) -> dict[str, Any]:
    found = await visible_inboxes(db, caller.actor)
    aliases = await aliases_of(db, [i.id for i in found])
    return {"items": [inbox_dict(i, aliases[i.id]) for i in found]}


@router.get("/{inbox_id}")
async def read_inbox(inbox_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    inbox = await get_inbox(db, caller.actor, inbox_id)
    aliases = await aliases_of(db, [inbox.id])
    return inbox_dict(inbox, aliases[inbox.id])
