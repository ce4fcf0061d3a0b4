"""Tracked emails and their events: instrumenting at send time, recording opens and clicks,
telling the sender (rate-limited), and listing events for an email or a contact.

An open from a mail-privacy proxy (Apple Mail Privacy Protection, Google's image proxy,
Yahoo's) or from a link scanner, or one within seconds of sending, is recorded as
*probably automatic* and notifies no one: those are machines, not the person.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.permissions import Actor
from inboxlink.errors import NotFound
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.notifications.inbox import notify
from inboxlink.runtime import Runtime
from inboxlink.store.batching import slices
from inboxlink.store.tables import Contact, OutboundEmail, TrackedEmail, TrackingEvent
from inboxlink.tracking.instrument import html_from_text, instrument
from inboxlink.tracking.tokens import Target, sign, tracking_keys, verify

_MACHINES = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|^Mozilla/5\.0$|bot\b|crawler|spider|preview"
    r"|Barracuda|Proofpoint|Mimecast|safelinks|Microsoft Office Existence Discovery",
    re.I,
)


def track_email(session: AsyncSession, row: OutboundEmail) -> None:
    """Mark a queued email as tracked; its HTML is instrumented when it is sent."""
    recipient = row.to_addrs[0] if row.to_addrs else ""
    session.add(
        TrackedEmail(
            account_id=row.account_id,
            user_id=row.user_id,
            outbound_email_id=row.id,
            recipient=recipient,
        )
    )


async def tracked_among(session: AsyncSession, email_ids: Sequence[int]) -> dict[int, int]:
    """The tracking id of each of these queued emails that is tracked (one query)."""
    found: dict[int, int] = {}
    for chunk in slices(email_ids):
        rows = await session.execute(
            select(TrackedEmail.outbound_email_id, TrackedEmail.id).where(
                TrackedEmail.outbound_email_id.in_(chunk)
            )
        )
        found.update((email_id, tracked_id) for email_id, tracked_id in rows)
    return found


def with_tracking(
    runtime: Runtime, tracked_id: int | None, message: OutgoingMessage
) -> OutgoingMessage:
    """The message with pixel and signed links when it is tracked; as it was otherwise.

    Deterministic for a given email, so a retried send carries the same URLs."""
    if tracked_id is None:
        return message
    key = tracking_keys(runtime.settings.secret_keys())[0]
    base = runtime.settings.public_url
    html = instrument(
        message.html or html_from_text(message.text),
        f"{base}/t/o/{sign(Target('open', tracked_id), key)}",
        lambda url: f"{base}/t/c/{sign(Target('click', tracked_id, url), key)}",
    )
    return dataclasses.replace(message, html=html)


def _probably_automatic(runtime: Runtime, user_agent: str, row: OutboundEmail) -> bool:
    if _MACHINES.search(user_agent.strip()) or not user_agent.strip():
        return True
    window = timedelta(seconds=runtime.settings.tracking_automatic_seconds)
    return row.sent_at is None or utcnow() - as_utc(row.sent_at) < window


async def _should_notify(runtime: Runtime, session: AsyncSession, tracked_id: int) -> bool:
    since = utcnow() - timedelta(seconds=runtime.settings.tracking_notify_seconds)
    recent = await session.scalar(
        select(TrackingEvent.id).where(
            TrackingEvent.tracked_email_id == tracked_id,
            TrackingEvent.notified.is_(True),
            TrackingEvent.at >= since,
        )
    )
    return recent is None


async def record(runtime: Runtime, token: str, kind: str, user_agent: str) -> Target | None:
    """Record the event a genuine token stands for; None (record nothing) for any other."""
    target = verify(token, tracking_keys(runtime.settings.secret_keys()))
    if target is None or target.kind != kind:
        return None
    async with runtime.sessions() as session, session.begin():
        tracked = await session.get(TrackedEmail, target.tracked_email_id)
        row = await session.get(OutboundEmail, tracked.outbound_email_id) if tracked else None
        if tracked is None or row is None:
            return None
        automatic = _probably_automatic(runtime, user_agent, row)
        notifies = not automatic and await _should_notify(runtime, session, tracked.id)
        session.add(
            TrackingEvent(
                tracked_email_id=tracked.id,
                kind=kind,
                url=target.url,
                user_agent=user_agent[:500],
                automatic=automatic,
                notified=notifies,
            )
        )
        if notifies:
            who = tracked.recipient or "Someone"
            action = f"clicked {target.url} in" if kind == "click" else "opened"
            await notify(
                session,
                account_id=tracked.account_id,
                user_ids={tracked.user_id},
                kind=f"email_{kind}",
                title=f"{who} {action} “{row.subject or '(no subject)'}”",
                inbox_id=row.inbox_id,
            )
    return target


def event_dict(event: TrackingEvent, row: OutboundEmail) -> dict[str, Any]:
    return {
        "type": "tracking",
        "event": "opened" if event.kind == "open" else "clicked",
        "url": event.url or None,
        "probably_automatic": event.automatic,
        "at": as_utc(event.at).isoformat(),
        "email": {"id": row.id, "subject": row.subject, "message_id": row.message_id},
    }


async def _events(session: AsyncSession, *conditions: Any) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(TrackingEvent, OutboundEmail)
        .join(TrackedEmail, TrackedEmail.id == TrackingEvent.tracked_email_id)
        .join(OutboundEmail, OutboundEmail.id == TrackedEmail.outbound_email_id)
        .where(*conditions)
        .order_by(TrackingEvent.at.desc(), TrackingEvent.id.desc())
        .limit(500)
    )
    return [event_dict(event, row) for event, row in rows.all()]


async def email_events(session: AsyncSession, actor: Actor, email_id: int) -> dict[str, Any]:
    row = await session.get(OutboundEmail, email_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound("email")
    tracked = await session.scalar(
        select(TrackedEmail.id).where(TrackedEmail.outbound_email_id == row.id)
    )
    events = await _events(session, TrackedEmail.outbound_email_id == row.id)
    return {"email_id": row.id, "tracked": tracked is not None, "events": events}


async def contact_events(session: AsyncSession, actor: Actor, contact: Contact) -> list[Any]:
    """Opens and clicks of tracked email to the contact (tracked mail is account-visible)."""
    return await _events(
        session,
        TrackedEmail.account_id == actor.account_id,
        TrackedEmail.recipient == contact.email,
    )
