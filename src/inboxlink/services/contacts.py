"""Contacts of an account: the people whose correspondence is logged (keyed by address)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError, Conflict, NotFound
from inboxlink.mail.headers import normalize_email
from inboxlink.services.users import check_email
from inboxlink.store.tables import Contact

#: Properties a person may edit; inbox automation fills them only while they are empty.
#: Each with its longest value.
PROPERTIES = {
    "name": 200,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "mobile": 40,
    "job_title": 200,
    "company": 200,
}


def contact_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "email": contact.email,
        **{field: getattr(contact, field) for field in PROPERTIES},
        #: First day back that the contact's latest out-of-office reply stated.
        "back_on": contact.back_on.isoformat() if contact.back_on else None,
        "created_at": contact.created_at.isoformat(),
    }


def update_contact(contact: Contact, values: dict[str, str]) -> None:
    """A person's edit: what they enter is theirs and automation never overwrites it."""
    for field in PROPERTIES:
        if field in values:
            setattr(contact, field, checked_property(field, values[field]))


def checked_property(field: str, value: str) -> str:
    """Any script, emoji or combining mark is fine; control characters and more than the
    column holds are refused with the fix (a form has no length limit of its own)."""
    value, limit = value.strip(), PROPERTIES[field]
    label = field.replace("_", " ")
    if len(value) > limit:
        raise AppError(
            f"{field}_too_long",
            f"A {label} has at most {limit} characters; shorten it.",
            status=422,
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise AppError(
            f"invalid_{field}",
            f"The {label} contains a line break or control character. Remove it and save again.",
            status=422,
        )
    return value


async def create_contact(
    session: AsyncSession, actor: Actor, *, email: str, name: str = ""
) -> Contact:
    email = check_email(email)
    name = checked_property("name", name)
    existing = await find_contact(session, actor, email)
    if existing is not None:
        raise Conflict("contact_exists", f"{email} is already a contact.", contact_id=existing.id)
    contact = Contact(account_id=actor.account_id, email=email, name=name)
    session.add(contact)
    await session.flush()
    return contact


async def find_contact(session: AsyncSession, actor: Actor, email: str) -> Contact | None:
    return await session.scalar(
        select(Contact).where(
            Contact.account_id == actor.account_id, Contact.email == normalize_email(email)
        )
    )


async def get_contact(session: AsyncSession, actor: Actor, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.account_id != actor.account_id:
        raise NotFound("contact")
    return contact


async def list_contacts(session: AsyncSession, actor: Actor, *, limit: int = 200) -> list[Contact]:
    rows = await session.scalars(
        select(Contact)
        .where(Contact.account_id == actor.account_id)
        .order_by(Contact.name, Contact.email)
        .limit(limit)
    )
    return list(rows)
