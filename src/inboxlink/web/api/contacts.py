"""Contacts, their properties and their timelines (emails, captured details, opens and clicks)."""

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from inboxlink.automation.details import undo
from inboxlink.crm.timeline import MAX_LIMIT, read_timeline
from inboxlink.errors import NotFound
from inboxlink.services.contacts import (
    contact_dict,
    create_contact,
    find_contact,
    get_contact,
    update_contact,
)
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/contacts", tags=["contacts"])


class NewContact(BaseModel):
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)


class ContactEdit(BaseModel):
    """Only the properties sent change; an empty string empties one."""

    name: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    mobile: str | None = Field(default=None, max_length=40)
    job_title: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)


@router.post("", status_code=201)
async def add_contact(body: NewContact, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return contact_dict(await create_contact(db, caller.actor, email=body.email, name=body.name))


@router.get("")
async def contact_by_email(
    caller: ApiCaller, db: Db, email: str = Query(max_length=320)
) -> dict[str, Any]:
    contact = await find_contact(db, caller.actor, email)
    if contact is None:
        raise NotFound("contact")
    return contact_dict(contact)


@router.get("/{contact_id}")
async def read_contact(contact_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return contact_dict(await get_contact(db, caller.actor, contact_id))


@router.patch("/{contact_id}")
async def edit_contact(
    contact_id: int, body: ContactEdit, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    contact = await get_contact(db, caller.actor, contact_id)
    update_contact(contact, {k: v for k, v in body.model_dump().items() if v is not None})
    await db.flush()
    return contact_dict(contact)


@router.post("/{contact_id}/changes/{change_id}/undo")
async def undo_change(contact_id: int, change_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """Undo a property that inbox automation filled: it is empty again."""
    contact = await get_contact(db, caller.actor, contact_id)
    await undo(db, caller.actor, contact.id, change_id)
    await db.refresh(contact)
    return contact_dict(contact)


@router.get("/{contact_id}/timeline")
async def contact_timeline(
    contact_id: int,
    caller: ApiCaller,
    db: Db,
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    await get_contact(db, caller.actor, contact_id)
    return await read_timeline(db, caller.actor, contact_id, limit=limit, cursor=cursor)
