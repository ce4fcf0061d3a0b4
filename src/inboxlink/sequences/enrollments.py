"""Enrolling contacts, unenrolling them, and the states an enrollment moves through.

active → paused (auto-reply, inbox unavailable) → active; active/paused → stopped (replied,
bounced, unenrolled, send failed) or finished (every step sent). A stopped or finished
enrollment stays as the record of what happened; the same contact is not enrolled twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor, is_admin
from inboxlink.errors import AppError, Conflict, Forbidden, NotFound
from inboxlink.sequences.definitions import get_sequence, steps_of
from inboxlink.sequences.schedule import Window, add_delay, place, zone
from inboxlink.sequences.watch import ensure_watch
from inboxlink.services.contacts import get_contact
from inboxlink.services.inboxes import get_inbox
from inboxlink.store.tables import (
    Alias,
    BouncingAddress,
    Contact,
    Enrollment,
    Inbox,
    OutboundEmail,
    Sequence,
    SequenceStep,
)


class EnrollmentState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class Reason(StrEnum):
    REPLIED = "replied"
    BOUNCED = "bounced"
    UNENROLLED = "unenrolled"
    SEND_FAILED = "send_failed"
    AUTO_REPLY = "auto_reply"
    INBOX_UNAVAILABLE = "inbox_unavailable"
    LAST_STEP_SENT = "last_step_sent"


LIVE = (EnrollmentState.ACTIVE.value, EnrollmentState.PAUSED.value)


def idempotency_key(enrollment_id: int, position: int) -> str:
    """One outbox row per (enrollment, step): a crash or a second worker never sends twice."""
    return f"seq:{enrollment_id}:{position}"


def window_of(step: SequenceStep) -> Window:
    return Window(step.window_start, step.window_end, step.business_days_only)


def first_due(sequence: Sequence, step: SequenceStep, now: datetime) -> datetime:
    tz = zone(sequence.time_zone)
    return place(
        add_delay(now, step.delay_seconds, tz, step.business_days_only), tz, window_of(step)
    )


async def _check_sender(
    session: AsyncSession, actor: Actor, inbox_id: int, sender: str | None
) -> tuple[Inbox, str]:
    inbox = await get_inbox(session, actor, inbox_id)
    if inbox.owner_id != actor.user_id:
        raise AppError("not_your_inbox", "Sequences go out from your own inboxes.", status=403)
    if inbox.state != InboxState.CONNECTED.value:
        raise AppError(
            "inbox_not_connected",
            f"{inbox.email} is {inbox.state.replace('_', ' ')}; enable or reconnect it first.",
            status=409,
        )
    address = (sender or inbox.email).strip().lower()
    aliases = set(await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id)))
    if address not in {inbox.email, *aliases}:
        raise AppError(
            "invalid_from",
            f"{address} is neither {inbox.email} nor one of its aliases.",
            status=422,
        )
    return inbox, address


async def enroll(
    session: AsyncSession,
    actor: Actor,
    sequence_id: int,
    contact_id: int,
    inbox_id: int,
    sender: str | None = None,
) -> Enrollment:
    sequence = await get_sequence(session, actor, sequence_id)
    contact = await get_contact(session, actor, contact_id)
    inbox, address = await _check_sender(session, actor, inbox_id, sender)
    existing = await session.scalar(
        select(Enrollment).where(
            Enrollment.sequence_id == sequence.id, Enrollment.contact_id == contact.id
        )
    )
    if existing is not None:
        raise Conflict(
            "already_enrolled",
            f"{contact.email} is already in “{sequence.name}” ({existing.state}).",
            enrollment_id=existing.id,
        )
    bouncing = await session.scalar(
        select(BouncingAddress.id).where(
            BouncingAddress.account_id == actor.account_id, BouncingAddress.email == contact.email
        )
    )
    if bouncing is not None:
        raise AppError(
            "address_bouncing",
            f"Mail to {contact.email} bounces; correct the address before enrolling it.",
            status=409,
        )
    watched = await session.scalar(
        select(Enrollment.id).where(Enrollment.inbox_id == inbox.id, Enrollment.state.in_(LIVE))
    )
    await ensure_watch(session, inbox, restart=watched is None)
    steps = await steps_of(session, sequence.id)
    now = utcnow()
    enrollment = Enrollment(
        account_id=actor.account_id,
        sequence_id=sequence.id,
        contact_id=contact.id,
        user_id=actor.user_id,
        inbox_id=inbox_id,
        sender=address,
        state=EnrollmentState.ACTIVE.value,
        next_step=0,
        next_due_at=first_due(sequence, steps[0], now),
        started_at=now,
        updated_at=now,
    )
    session.add(enrollment)
    await session.flush()
    return enrollment


async def get_enrollment(session: AsyncSession, actor: Actor, enrollment_id: int) -> Enrollment:
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.account_id != actor.account_id:
        raise NotFound("enrollment")
    return enrollment


def set_state(
    enrollment: Enrollment,
    state: EnrollmentState,
    reason: Reason | None,
    *,
    due: datetime | None = None,
    paused_until: datetime | None = None,
) -> None:
    enrollment.state = state.value
    enrollment.reason = reason.value if reason else ""
    enrollment.next_due_at = due if state is EnrollmentState.ACTIVE else enrollment.next_due_at
    enrollment.paused_until = paused_until
    enrollment.updated_at = utcnow()


async def unenroll(session: AsyncSession, actor: Actor, enrollment_id: int) -> Enrollment:
    enrollment = await get_enrollment(session, actor, enrollment_id)
    if enrollment.user_id != actor.user_id and not is_admin(actor):
        raise Forbidden("Only the user who enrolled the contact or an admin can unenroll it.")
    if enrollment.state in LIVE:
        set_state(enrollment, EnrollmentState.STOPPED, Reason.UNENROLLED)
    return enrollment


async def list_enrollments(
    session: AsyncSession,
    actor: Actor,
    *,
    contact_id: int | None = None,
    sequence_id: int | None = None,
    state: str | None = None,
) -> list[tuple[Enrollment, Sequence, Contact]]:
    query = (
        select(Enrollment, Sequence, Contact)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .join(Contact, Contact.id == Enrollment.contact_id)
        .where(Enrollment.account_id == actor.account_id)
        .order_by(Enrollment.id.desc())
        .limit(500)
    )
    if contact_id is not None:
        query = query.where(Enrollment.contact_id == contact_id)
    if sequence_id is not None:
        query = query.where(Enrollment.sequence_id == sequence_id)
    if state is not None:
        query = query.where(Enrollment.state == state)
    return [(e, s, c) for e, s, c in (await session.execute(query)).all()]


async def sent_steps(session: AsyncSession, enrollment_id: int) -> list[OutboundEmail]:
    """The outbox rows of the enrollment's steps, in step order."""
    rows = await session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.idempotency_key.like(f"seq:{enrollment_id}:%"))
        .order_by(OutboundEmail.id)
    )
    return list(rows)


def _moment(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def enrollment_dict(
    enrollment: Enrollment, sequence: Sequence, contact: Contact, emails: list[OutboundEmail]
) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "sequence": {"id": sequence.id, "name": sequence.name},
        "contact": {"id": contact.id, "email": contact.email, "name": contact.name},
        "inbox_id": enrollment.inbox_id,
        "from": enrollment.sender,
        "state": enrollment.state,
        "reason": enrollment.reason or None,
        "steps_sent": enrollment.next_step,
        "next_due_at": _moment(enrollment.next_due_at)
        if enrollment.state == EnrollmentState.ACTIVE.value
        else None,
        "paused_until": _moment(enrollment.paused_until),
        "started_at": _moment(enrollment.started_at),
        "emails": [
            {
                "id": e.id,
                "step": int((e.idempotency_key or "::0").rsplit(":", 1)[1]),
                "state": e.state,
                "subject": e.subject,
                "message_id": e.message_id,
                "sent_at": _moment(e.sent_at),
            }
            for e in emails
        ],
    }
