"""Contacts, a contact's timeline, and the composer that sends through a personal inbox (P10).

The composer posts to a page route that calls the outbox directly (no API token in pages). A
random idempotency key is put in the form when it is rendered, so a double submit sends once.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.details import LABELS, undo
from inboxlink.clock import utcnow
from inboxlink.crm.timeline import read_timeline
from inboxlink.domain.enums import InboxKind
from inboxlink.domain.inbox_state import InboxState
from inboxlink.errors import AppError, NotFound
from inboxlink.outbox.queue import SendRequest, enqueue
from inboxlink.services.contacts import (
    PROPERTIES,
    create_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from inboxlink.services.inboxes import aliases_of, visible_inboxes
from inboxlink.store.tables import Contact, OutboundEmail
from inboxlink.web.deps import Db, RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()

#: What the composer says about a queued email, by outbox state.
SEND_STATES = {
    "queued": "Queued — sending…",
    "sending": "Queued — sending…",
    "sent": "Sent",
    "failed": "Not sent",
}


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


async def _senders(db: AsyncSession, page: PageContext) -> list[dict[str, str]]:
    """The From choices: each connected inbox of the user, then its aliases (P4, P6)."""
    own = [
        inbox
        for inbox in await visible_inboxes(db, page.actor, kind=InboxKind.PERSONAL)
        if inbox.owner_id == page.actor.user_id and inbox.state == InboxState.CONNECTED.value
    ]
    aliases = await aliases_of(db, [i.id for i in own])
    choices: list[dict[str, str]] = []
    for inbox in own:
        choices.append({"value": f"{inbox.id}:{inbox.email}", "label": inbox.email})
        for alias in aliases[inbox.id]:
            label = f"{alias.name} <{alias.email}>" if alias.name else alias.email
            choices.append(
                {"value": f"{inbox.id}:{alias.email}", "label": f"{label} (alias of {inbox.email})"}
            )
    return choices


async def _sent_email(db: AsyncSession, page: PageContext, email_id: int) -> OutboundEmail:
    row = await db.get(OutboundEmail, email_id)
    if row is None or row.user_id != page.actor.user_id:
        raise NotFound("email")
    return row


def _send_status(row: OutboundEmail) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "label": SEND_STATES.get(row.state, row.state),
        "subject": row.subject,
        "to": row.to_addrs,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
    }


async def _contact_page(
    request: Request,
    page: PageContext,
    db: AsyncSession,
    contact: Contact,
    *,
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    timeline = await read_timeline(db, page.actor, contact.id, limit=50, cursor=cursor)
    compose = {"to": contact.email, "cc": "", "subject": "", "text": "", "sender": ""}
    compose.update(extra.pop("compose", {}))
    context = page.template_values(
        contact=contact,
        timeline=timeline,
        section="contacts",
        senders=await _senders(db, page),
        compose=compose,
        labels={"name": "Name", **LABELS},
        properties=PROPERTIES,
        today=utcnow().date(),
        idempotency_key=extra.pop("idempotency_key", None) or secrets.token_urlsafe(18),
        **extra,
    )
    return render(request, "contact.html", context, status=status)


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request,
    contact_id: int,
    page: SignedIn,
    db: Db,
    cursor: str | None = Query(None, max_length=200),
    sent: int | None = Query(None),
) -> Response:
    contact = await get_contact(db, page.actor, contact_id)
    sent_status = None
    if sent is not None:
        try:
            sent_status = _send_status(await _sent_email(db, page, sent))
        except NotFound:
            sent_status = None
    return await _contact_page(request, page, db, contact, cursor=cursor, sent=sent_status)


@router.post("/contacts/{contact_id}/details")
async def edit_details(contact_id: int, request: Request, page: SignedIn, db: Db) -> Response:
    """A person's edit of the contact's properties: theirs, never overwritten by automation."""
    form = await request.form(max_files=0, max_fields=20)
    check_csrf(request, str(form.get("csrf_token", "")))
    contact = await get_contact(db, page.actor, contact_id)
    values = {f: str(form[f]) for f in PROPERTIES if isinstance(form.get(f), str)}
    update_contact(contact, values)
    return redirect(f"/contacts/{contact.id}#details")


@router.post("/contacts/{contact_id}/changes/{change_id}/undo")
async def undo_change(
    request: Request,
    contact_id: int,
    change_id: int,
    page: SignedIn,
    db: Db,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    check_csrf(request, csrf_token)
    contact = await get_contact(db, page.actor, contact_id)
    try:
        await undo(db, page.actor, contact.id, change_id)
    except AppError as error:
        return await _contact_page(
            request, page, db, contact, details_error=error, status=error.status
        )
    return redirect(f"/contacts/{contact.id}#timeline-title")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


@router.post("/contacts/{contact_id}/emails")
async def send_email(
    request: Request,
    contact_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)],
    idempotency_key: Annotated[str, Form(min_length=8, max_length=200)],
    sender: Annotated[str, Form(max_length=400)],
    to: Annotated[str, Form(max_length=10_000)],
    subject: Annotated[str, Form(max_length=998)] = "",
    cc: Annotated[str, Form(max_length=10_000)] = "",
    text: Annotated[str, Form(max_length=1_000_000)] = "",
) -> Response:
    """Queue the email; the worker sends it through the chosen inbox's SMTP server."""
    check_csrf(request, csrf_token)
    contact = await get_contact(db, page.actor, contact_id)
    inbox_part, _, address = sender.partition(":")
    try:
        if not inbox_part.isdigit() or not address:
            raise AppError("invalid_from", "Choose the address to send from.", status=422)
        row = await enqueue(
            db,
            page.actor,
            SendRequest(
                inbox_id=int(inbox_part),
                to=_split(to),
                cc=_split(cc),
                subject=subject.strip(),
                text=text,
                sender=address,
            ),
            idempotency_key,
        )
    except AppError as error:
        values = {"to": to, "cc": cc, "subject": subject, "text": text, "sender": sender}
        return await _contact_page(
            request,
            page,
            db,
            contact,
            compose=values,
            compose_error=error,
            idempotency_key=idempotency_key,
            status=error.status,
        )
    await db.commit()
    await runtime.scheduler.outbox_changed()
    return redirect(f"/contacts/{contact.id}?sent={row.id}#composer")


@router.get("/contacts/{contact_id}/emails/{email_id}")
async def email_status(contact_id: int, email_id: int, page: SignedIn, db: Db) -> JSONResponse:
    """The state of an email the user queued, polled by the composer until sent or failed."""
    await get_contact(db, page.actor, contact_id)
    row = await _sent_email(db, page, email_id)
    return JSONResponse(_send_status(row), headers={"Cache-Control": "no-store"})
