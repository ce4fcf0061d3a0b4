"""Opens and clicks of tracked emails: per email (its sender) and per contact (the account)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from inboxlink.services.contacts import get_contact
from inboxlink.tracking.events import contact_events, email_events
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/tracking", tags=["tracking"])


@router.get("/emails/{email_id}")
async def read_email_events(email_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await email_events(db, caller.actor, email_id)


@router.get("/contacts/{contact_id}")
async def read_contact_events(contact_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    contact = await get_contact(db, caller.actor, contact_id)
    return {"contact_id": contact.id, "events": await contact_events(db, caller.actor, contact)}
