"""Contacts of an account: the people whose correspondence is logged (keyed by address)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.permissions import Actor
from inboxlink.errors import Conflict, NotFound
from inboxlink.services.users import check_email
from inboxlink.store.tables import Contact


def contact_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "email": contact.email,
        "name": contact.name,
        "created_at": contact.created_at.isoformat(),
    }


async def create_contact(
    session: AsyncSession, actor: Actor, *, email: str, name: str = ""
) -> Contact:
    email = check_email(email)
    existing = await find_contact(session, actor, email)
    if existing is not None:
        raise Conflict("contact_exists", f"{email} is already a contact.", contact_id=existing.id)
    contact = Contact(account_id=actor.account_id, email=email, name=name.strip())
    session.add(contact)
    await session.flush()
    return contact


async def find_contact(session: AsyncSession, actor: Actor, email: str) -> Contact | None:
    return await session.scalar(
        select(Contact).where(
            Contact.account_id == actor.account_id, Contact.email == email.strip().lower()
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
