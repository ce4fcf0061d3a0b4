"""Sequence pages: the list, the editor with a preview for a chosen contact, and a contact's
enrollments (status, enroll, unenroll) with the opens and clicks of tracked email to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from inboxlink.domain.enums import InboxKind
from inboxlink.domain.inbox_state import InboxState
from inboxlink.errors import AppError
from inboxlink.sequences.compose import compose
from inboxlink.sequences.definitions import (
    SequenceSpec,
    StepSpec,
    create_sequence,
    get_sequence,
    list_sequences,
    replace_sequence,
    sequence_dict,
    steps_of,
)
from inboxlink.sequences.enrollments import enroll, enrollment_dict, list_enrollments, sent_steps
from inboxlink.sequences.enrollments import unenroll as stop_enrollment
from inboxlink.sequences.tokens import TOKENS, Person
from inboxlink.services.contacts import get_contact, list_contacts
from inboxlink.services.inboxes import visible_inboxes
from inboxlink.store.tables import BouncingAddress, Contact
from inboxlink.tracking.events import contact_events
from inboxlink.web.api.sequences import minutes
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()
DAY = 86400


def _spec(form: FormData) -> SequenceSpec:
    """The editor's fields: one numbered group per step; empty groups are left out."""
    steps = []
    for n in range(int(str(form.get("step_count", "0")) or 0)):
        subject, body = str(form.get(f"subject_{n}", "")), str(form.get(f"body_{n}", ""))
        if not subject.strip() and not body.strip():
            continue
        try:
            delay = round(float(str(form.get(f"delay_days_{n}", "0")) or 0) * DAY)
            start = minutes(str(form.get(f"window_start_{n}", "")) or None)
            end = minutes(str(form.get(f"window_end_{n}", "")) or None)
        except ValueError as exc:
            raise AppError("invalid_step", f"Step {n + 1}: {exc}", status=422) from exc
        steps.append(
            StepSpec(
                subject=subject,
                body=body,
                delay_seconds=delay,
                business_days_only=form.get(f"business_{n}") == "on",
                window_start=start,
                window_end=end,
                new_thread=form.get(f"new_thread_{n}") == "on",
            )
        )
    return SequenceSpec(
        name=str(form.get("name", "")),
        steps=steps,
        time_zone=str(form.get("time_zone", "UTC")) or "UTC",
        track=form.get("track") == "on",
        stop_on_any_reply=form.get("stop_on_any_reply") == "on",
        auto_reply_pause_seconds=round(float(str(form.get("pause_days", "3")) or 3) * DAY),
    )


@router.get("/sequences")
async def sequences_page(request: Request, page: SignedIn, db: Db) -> Response:
    found = [
        sequence_dict(s, await steps_of(db, s.id)) for s in await list_sequences(db, page.actor)
    ]
    return render(
        request, "sequences.html", page.template_values(sequences=found, section="sequences")
    )


async def _editor(
    request: Request,
    page: PageContext,
    db: AsyncSession,
    sequence: dict[str, Any],
    *,
    preview_contact: int | None = None,
    error: AppError | None = None,
) -> Response:
    contacts = await list_contacts(db, page.actor)
    preview = None
    if preview_contact is not None and sequence.get("id"):
        contact = await get_contact(db, page.actor, preview_contact)
        steps = await steps_of(db, int(sequence["id"]))
        sender = Person(page.user.name, page.user.email)
        preview = {
            "contact": contact,
            "steps": [compose(steps, n, Person(contact.name, contact.email), sender)
                      for n in range(len(steps))],
        }  # fmt: skip
    context = page.template_values(
        sequence=sequence,
        contacts=contacts,
        preview=preview,
        tokens=TOKENS,
        error=error,
        section="sequences",
    )
    return render(request, "sequences_edit.html", context, status=error.status if error else 200)


_BLANK: dict[str, Any] = {
    "name": "",
    "time_zone": "UTC",
    "track": False,
    "steps": [],
    "stop_on_any_reply": False,
    "auto_reply_pause_seconds": 3 * DAY,
}


@router.get("/sequences/new")
async def new_sequence(request: Request, page: SignedIn, db: Db) -> Response:
    return await _editor(request, page, db, _BLANK)


@router.get("/sequences/{sequence_id}")
async def edit_sequence(
    request: Request,
    sequence_id: int,
    page: SignedIn,
    db: Db,
    preview_contact: int | None = Query(None),
) -> Response:
    sequence = await get_sequence(db, page.actor, sequence_id)
    shown = sequence_dict(sequence, await steps_of(db, sequence.id))
    return await _editor(request, page, db, shown, preview_contact=preview_contact)


@router.post("/sequences")
@router.post("/sequences/{sequence_id}")
async def save_sequence(
    request: Request, page: SignedIn, db: Db, sequence_id: int | None = None
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    try:
        spec = _spec(form)
        if sequence_id is None:
            sequence = await create_sequence(db, page.actor, spec)
        else:
            sequence = await replace_sequence(db, page.actor, sequence_id, spec)
    except AppError as error:
        await db.rollback()
        shown = {**_BLANK, "id": sequence_id, "name": str(form.get("name", ""))}
        return await _editor(request, page, db, shown, error=error)
    return redirect(f"/sequences/{sequence.id}")


async def _contact_sequences(
    request: Request, page: PageContext, db: AsyncSession, contact: Contact, **extra: Any
) -> Response:
    rows = await list_enrollments(db, page.actor, contact_id=contact.id)
    enrollments = [enrollment_dict(e, s, c, await sent_steps(db, e.id)) for e, s, c in rows]
    inboxes = [
        i
        for i in await visible_inboxes(db, page.actor, kind=InboxKind.PERSONAL)
        if i.owner_id == page.actor.user_id and i.state == InboxState.CONNECTED.value
    ]
    bouncing = await db.scalar(
        select(BouncingAddress).where(
            BouncingAddress.account_id == page.actor.account_id,
            BouncingAddress.email == contact.email,
        )
    )
    context = page.template_values(
        contact=contact,
        enrollments=enrollments,
        sequences=await list_sequences(db, page.actor),
        inboxes=inboxes,
        bouncing=bouncing,
        events=await contact_events(db, page.actor, contact),
        section="contacts",
        **extra,
    )
    status = extra["error"].status if extra.get("error") else 200
    return render(request, "sequences_contact.html", context, status=status)


@router.get("/contacts/{contact_id}/sequences")
async def contact_sequences(request: Request, contact_id: int, page: SignedIn, db: Db) -> Response:
    contact = await get_contact(db, page.actor, contact_id)
    return await _contact_sequences(request, page, db, contact)


@router.post("/contacts/{contact_id}/sequences")
async def enroll_contact(
    request: Request,
    contact_id: int,
    page: SignedIn,
    db: Db,
    csrf_token: Annotated[str, Form(max_length=200)],
    sequence_id: Annotated[int, Form()],
    inbox_id: Annotated[int, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    contact = await get_contact(db, page.actor, contact_id)
    try:
        await enroll(db, page.actor, sequence_id, contact.id, inbox_id)
    except AppError as error:
        await db.rollback()
        return await _contact_sequences(request, page, db, contact, error=error)
    return redirect(f"/contacts/{contact.id}/sequences")


@router.post("/contacts/{contact_id}/sequences/{enrollment_id}/stop")
async def unenroll_contact(
    request: Request,
    contact_id: int,
    enrollment_id: int,
    page: SignedIn,
    db: Db,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    check_csrf(request, csrf_token)
    await stop_enrollment(db, page.actor, enrollment_id)
    return redirect(f"/contacts/{contact_id}/sequences")
