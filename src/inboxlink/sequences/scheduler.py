"""One scheduler pass: pause what cannot send, watch for replies, resume, send what is due.

Every step goes through ``outbox.queue.enqueue`` with the key ``seq:<enrollment>:<step>``
in the same transaction that advances the enrollment, so a crash or a second worker at any
point sends each step at most once. A step waits until the previous one has left the outbox;
one that failed stops the enrollment (a refused recipient counts as a bounce).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.enums import OutboundState
from inboxlink.domain.inbox_state import InboxState
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import notify
from inboxlink.outbox.queue import SendRequest, enqueue
from inboxlink.runtime import Runtime
from inboxlink.sequences.compose import compose
from inboxlink.sequences.definitions import steps_of
from inboxlink.sequences.enrollments import (
    LIVE,
    EnrollmentState,
    Reason,
    idempotency_key,
    set_state,
    window_of,
)
from inboxlink.sequences.limits import remaining_today
from inboxlink.sequences.schedule import add_delay, next_window_start, place, zone
from inboxlink.sequences.signals import apply_pending, mark_bouncing
from inboxlink.sequences.tokens import Person
from inboxlink.sequences.watch import watch_inbox
from inboxlink.services.users import actor_of
from inboxlink.store.tables import (
    Alias,
    Contact,
    Enrollment,
    Inbox,
    OutboundEmail,
    Sequence,
    User,
)

log = logging.getLogger(__name__)
BATCH = 100
#: Enqueue refusals that mean "this inbox cannot send now", not "this step is wrong".
_INBOX_ERRORS = frozenset({"inbox_not_connected", "not_your_inbox", "not_found"})


async def run_once(runtime: Runtime) -> None:
    await pause_for_unavailable_inboxes(runtime)
    await watch_all(runtime)
    await apply_pending(runtime)
    await resume_due(runtime)
    if await send_due(runtime):
        await runtime.scheduler.outbox_changed()


async def pause_for_unavailable_inboxes(runtime: Runtime) -> None:
    """Pause enrollments whose inbox is disabled or gone (telling the owner); resume them
    when it is connected again."""
    connected = InboxState.CONNECTED.value
    async with runtime.sessions() as session, session.begin():
        rows = await session.execute(
            select(Enrollment, Inbox)
            .outerjoin(Inbox, Inbox.id == Enrollment.inbox_id)
            .where(Enrollment.state.in_(LIVE))
        )
        paused: dict[tuple[int, int, str], int] = defaultdict(int)
        now = utcnow()
        for enrollment, inbox in rows.all():
            unavailable = inbox is None or inbox.state != connected
            if unavailable and enrollment.state == EnrollmentState.ACTIVE.value:
                set_state(enrollment, EnrollmentState.PAUSED, Reason.INBOX_UNAVAILABLE)
                address = inbox.email if inbox else enrollment.sender
                paused[(enrollment.account_id, enrollment.user_id, address)] += 1
            elif not unavailable and enrollment.reason == Reason.INBOX_UNAVAILABLE.value:
                await _resume(session, enrollment, now)
        for (account_id, user_id, address), count in paused.items():
            await notify(
                session,
                account_id=account_id,
                user_ids={user_id},
                kind="sequences_paused",
                title=f"{count} sequence enrollment(s) paused: {address} is not connected",
                body=f"Enable or reconnect {address} in Settings → General → Email; the "
                "enrollments continue where they stopped.",
            )


async def watch_all(runtime: Runtime) -> None:
    """Look for replies and bounces in each connected inbox that has enrollments under way."""
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Enrollment.inbox_id, Contact.email)
            .join(Contact, Contact.id == Enrollment.contact_id)
            .join(Inbox, Inbox.id == Enrollment.inbox_id)
            .where(Enrollment.state.in_(LIVE), Inbox.state == InboxState.CONNECTED.value)
        )
        contacts: dict[int, set[str]] = defaultdict(set)
        for inbox_id, email in rows.all():
            if inbox_id is not None:
                contacts[inbox_id].add(email)
    for inbox_id, emails in contacts.items():
        try:
            await watch_inbox(runtime, inbox_id, emails)
        except Exception:  # one unreachable mailbox must not hold up the others' sends
            log.exception("watching inbox %s for replies failed; trying again", inbox_id)


async def resume_due(runtime: Runtime) -> None:
    """Enrollments paused by an auto-reply whose pause is over go on."""
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        rows = await session.scalars(
            select(Enrollment).where(
                Enrollment.state == EnrollmentState.PAUSED.value,
                Enrollment.reason == Reason.AUTO_REPLY.value,
                Enrollment.paused_until <= now,
            )
        )
        for enrollment in list(rows):
            await _resume(session, enrollment, now)


async def _resume(session: AsyncSession, enrollment: Enrollment, now: datetime) -> None:
    """Active again; a step that fell due meanwhile goes at the next moment its window allows."""
    sequence = await session.get(Sequence, enrollment.sequence_id)
    steps = await steps_of(session, enrollment.sequence_id)
    due = max(as_utc(enrollment.next_due_at or now), now)
    if sequence is not None and enrollment.next_step < len(steps):
        due = place(due, zone(sequence.time_zone), window_of(steps[enrollment.next_step]))
    set_state(enrollment, EnrollmentState.ACTIVE, None, due=due)


async def send_due(runtime: Runtime) -> int:
    """Queue every due step (up to a batch); returns how many were queued."""
    async with runtime.sessions() as session:
        ids = list(
            await session.scalars(
                select(Enrollment.id)
                .where(
                    Enrollment.state == EnrollmentState.ACTIVE.value,
                    Enrollment.next_due_at <= utcnow(),
                )
                .order_by(Enrollment.next_due_at)
                .limit(BATCH)
            )
        )
    queued = 0
    for enrollment_id in ids:
        async with runtime.sessions() as session, session.begin():
            queued += await _send_step(session, enrollment_id)
    return queued


async def _previous(session: AsyncSession, enrollment: Enrollment) -> OutboundEmail | None:
    if enrollment.next_step == 0:
        return None
    return await session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.user_id == enrollment.user_id,
            OutboundEmail.idempotency_key
            == idempotency_key(enrollment.id, enrollment.next_step - 1),
        )
    )


async def _failed(session: AsyncSession, enrollment: Enrollment, previous: OutboundEmail) -> None:
    contact = await session.get(Contact, enrollment.contact_id)
    assert contact is not None
    if previous.error_code == "recipient_refused":
        await mark_bouncing(session, enrollment.account_id, contact.email, previous.message_id)
        set_state(enrollment, EnrollmentState.STOPPED, Reason.BOUNCED)
    else:
        set_state(enrollment, EnrollmentState.STOPPED, Reason.SEND_FAILED)
    await notify(
        session,
        account_id=enrollment.account_id,
        user_ids={enrollment.user_id},
        kind="sequence_send_failed",
        title=f"A sequence step to {contact.email} was not sent; the enrollment stopped",
        body=previous.error_message or "",
        inbox_id=enrollment.inbox_id,
    )


async def _sender_person(session: AsyncSession, enrollment: Enrollment, user: User) -> Person:
    alias_name = await session.scalar(
        select(Alias.name).where(
            Alias.inbox_id == enrollment.inbox_id, Alias.email == enrollment.sender
        )
    )
    return Person(alias_name or user.name, enrollment.sender)


async def _send_step(session: AsyncSession, enrollment_id: int) -> int:
    enrollment = await session.get(Enrollment, enrollment_id, with_for_update=True)
    now = utcnow()
    if (
        enrollment is None
        or enrollment.state != EnrollmentState.ACTIVE.value
        or enrollment.inbox_id is None
        or as_utc(enrollment.next_due_at or now) > now
    ):
        return 0
    sequence = await session.get(Sequence, enrollment.sequence_id)
    contact = await session.get(Contact, enrollment.contact_id)
    user = await session.get(User, enrollment.user_id)
    assert sequence is not None and contact is not None and user is not None
    steps = await steps_of(session, sequence.id)
    if enrollment.next_step >= len(steps):  # steps were removed from the sequence meanwhile
        set_state(enrollment, EnrollmentState.FINISHED, Reason.LAST_STEP_SENT)
        return 0
    previous = await _previous(session, enrollment)
    if previous is not None and previous.state != OutboundState.SENT.value:
        if previous.state == OutboundState.FAILED.value:
            await _failed(session, enrollment, previous)
        return 0  # still in the outbox: the next step waits for it
    step = steps[enrollment.next_step]
    tz = zone(sequence.time_zone)
    if await remaining_today(session, enrollment.inbox_id) <= 0:
        enrollment.next_due_at = next_window_start(now, tz, window_of(step))
        return 0
    composed = compose(
        steps, enrollment.next_step, Person(contact.name, contact.email),
        await _sender_person(session, enrollment, user),
    )  # fmt: skip
    request = SendRequest(
        inbox_id=enrollment.inbox_id,
        to=[contact.email],
        subject=composed.subject,
        text=composed.text,
        sender=enrollment.sender,
        in_reply_to=previous.message_id if previous and composed.in_thread else "",
        track=sequence.track,
    )
    try:
        await enqueue(
            session, actor_of(user), request, idempotency_key(enrollment.id, enrollment.next_step)
        )
    except AppError as error:
        log.info("sequence step of enrollment %s not queued: %s", enrollment.id, error.code)
        if error.code in _INBOX_ERRORS:
            set_state(enrollment, EnrollmentState.PAUSED, Reason.INBOX_UNAVAILABLE)
        else:
            set_state(enrollment, EnrollmentState.STOPPED, Reason.SEND_FAILED)
        return 0
    enrollment.next_step += 1
    enrollment.updated_at = now
    if enrollment.next_step >= len(steps):
        set_state(enrollment, EnrollmentState.FINISHED, Reason.LAST_STEP_SENT)
    else:
        upcoming = steps[enrollment.next_step]
        delayed = add_delay(now, upcoming.delay_seconds, tz, upcoming.business_days_only)
        enrollment.next_due_at = place(delayed, tz, window_of(upcoming))
    return 1
