"""What a recorded signal does to enrollments: a reply stops, an auto-reply pauses until the
person is back, a bounce stops and marks the address as bouncing. Only mail received after
the enrollment started counts; with ``stop_on_any_reply`` off, only mail in its thread."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.details import note_back_on
from inboxlink.clock import as_utc, utcnow
from inboxlink.notifications.inbox import notify
from inboxlink.runtime import Runtime
from inboxlink.sequences.enrollments import (
    LIVE,
    EnrollmentState,
    Reason,
    sent_steps,
    set_state,
)
from inboxlink.sequences.schedule import zone
from inboxlink.store.tables import BouncingAddress, Contact, Enrollment, MailSignal, Sequence


async def mark_bouncing(session: AsyncSession, account_id: int, email: str, detail: str) -> None:
    known = await session.scalar(
        select(BouncingAddress.id).where(
            BouncingAddress.account_id == account_id, BouncingAddress.email == email
        )
    )
    if known is None:
        session.add(BouncingAddress(account_id=account_id, email=email, detail=detail))


async def _affected(
    session: AsyncSession, signal: MailSignal
) -> list[tuple[Enrollment, Sequence, Contact]]:
    rows = await session.execute(
        select(Enrollment, Sequence, Contact)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .join(Contact, Contact.id == Enrollment.contact_id)
        .where(
            Enrollment.account_id == signal.account_id,
            Contact.email == signal.address,
            Enrollment.state.in_(LIVE),
        )
    )
    affected = []
    for enrollment, sequence, contact in rows.all():
        if as_utc(signal.received_at) < as_utc(enrollment.started_at):
            continue
        if signal.kind != "bounce" and not sequence.stop_on_any_reply:
            sent = {e.message_id for e in await sent_steps(session, enrollment.id)}
            if not sent & set(signal.answers):
                continue
        affected.append((enrollment, sequence, contact))
    return affected


def _resume_at(signal: MailSignal, sequence: Sequence) -> datetime:
    if signal.return_on is not None:
        day = as_utc(signal.return_on).date()
        return datetime.combine(day, time(0), tzinfo=zone(sequence.time_zone)).astimezone(UTC)
    return as_utc(signal.received_at) + timedelta(seconds=sequence.auto_reply_pause_seconds)


async def _apply(session: AsyncSession, signal: MailSignal) -> None:
    if signal.kind == "bounce":
        await mark_bouncing(session, signal.account_id, signal.address, signal.message_key)
    for enrollment, sequence, contact in await _affected(session, signal):
        if signal.kind == "auto_reply":
            note_back_on(contact, as_utc(signal.return_on).date() if signal.return_on else None)
            if enrollment.state == EnrollmentState.ACTIVE.value:
                until = max(_resume_at(signal, sequence), utcnow())
                set_state(enrollment, EnrollmentState.PAUSED, Reason.AUTO_REPLY, paused_until=until)
            continue
        reason = Reason.BOUNCED if signal.kind == "bounce" else Reason.REPLIED
        set_state(enrollment, EnrollmentState.STOPPED, reason)
        what = "bounced" if reason is Reason.BOUNCED else "replied"
        await notify(
            session,
            account_id=enrollment.account_id,
            user_ids={enrollment.user_id},
            kind=f"sequence_{what}",
            title=f"{contact.name or contact.email} {what}: “{sequence.name}” stopped",
            body=(
                f"Mail to {contact.email} bounced; the address is marked as bouncing."
                if reason is Reason.BOUNCED
                else f"{contact.email} replied, so no more steps of “{sequence.name}” go out."
            ),
            inbox_id=enrollment.inbox_id,
        )


async def apply_pending(runtime: Runtime) -> int:
    """Apply every signal not applied yet, each in its own transaction."""
    async with runtime.sessions() as session:
        ids = list(
            await session.scalars(
                select(MailSignal.id).where(MailSignal.applied.is_(False)).order_by(MailSignal.id)
            )
        )
    for signal_id in ids:
        async with runtime.sessions() as session, session.begin():
            signal = await session.get(MailSignal, signal_id, with_for_update=True)
            if signal is None or signal.applied:
                continue
            await _apply(session, signal)
            signal.applied = True
    return len(ids)
