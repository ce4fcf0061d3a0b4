"""Contacts and a contact's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from inboxlink.crm.timeline import read_timeline
from inboxlink.errors import AppError
from inboxlink.services.contacts import create_contact, get_contact, list_contacts
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import SignedIn, check_csrf, redirect, render

router = APIRouter()


@router.get("/contacts")
async def contacts(request: Request, page: SignedIn, db: Db) -> Response:
    found = await list_contacts(db, page.actor)
    return render(
        request, "contacts.html", page.template_values(contacts=found, section="contacts")
    )


@router.post("/contacts")
async def add_contact(
    request: Request,
    page: SignedIn,
    db: Db,
    csrf_token: Annotated[str, Form()],
    email: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        contact = await create_contact(db, page.actor, email=email, name=name)
    except AppError as error:
        found = await list_contacts(db, page.actor)
        context = page.template_values(contacts=found, section="contacts", error=error)
        return render(request, "contacts.html", context, status=error.status)
    return redirect(f"/contacts/{contact.id}")


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request, contact_id: int, page: SignedIn, db: Db, cursor: str | None = Query(None)
) -> Response:
    contact = await get_contact(db, page.actor, contact_id)
    timeline = await read_timeline(db, page.actor, contact.id, limit=50, cursor=cursor)
    context = page.template_values(contact=contact, timeline=timeline, section="contacts")
    return render(request, "contact.html", context)
