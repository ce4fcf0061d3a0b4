"""Notifications by email through the system SMTP server an admin configured
(``INBOXLINK_SMTP_URL``, e.g. ``smtp://user:pass@mail.acme.com:587?starttls=1`` or
``smtps://…:465``). Without one, notifications stay in-app only.

The server is the operator's own, configured by them, so the user-host network policy
does not apply to it.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy import select

from inboxlink.clock import utcnow
from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Notification, User

log = logging.getLogger(__name__)

BATCH = 50


def smtp_client(url: str, timeout: float) -> aiosmtplib.SMTP:
    parts = urlsplit(url)
    implicit = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    return aiosmtplib.SMTP(
        hostname=parts.hostname or "127.0.0.1",
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit,
        start_tls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        timeout=timeout,
    )


def sender_address(settings: Settings) -> str:
    parts = urlsplit(settings.smtp_url or "")
    query = parse_qs(parts.query)
    return query.get("from", [f"inboxlink@{parts.hostname or 'localhost'}"])[0]


async def deliver_pending(runtime: Runtime) -> int:
    """Email notifications not yet emailed; returns how many were sent."""
    settings = runtime.settings
    if not settings.smtp_url:
        return 0
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Notification, User.email)
                .join(User, User.id == Notification.user_id)
                .where(Notification.emailed_at.is_(None))
                .order_by(Notification.id)
                .limit(BATCH)
            )
        ).all()
    if not rows:
        return 0
    sent: list[int] = []
    client = smtp_client(settings.smtp_url, settings.connect_timeout_seconds)
    async with client:
        for note, address in rows:
            message = EmailMessage()
            message["From"] = sender_address(settings)
            message["To"] = address
            message["Subject"] = f"[inboxlink] {note.title}"
            message["Message-ID"] = make_msgid(domain="inboxlink.invalid")
            message.set_content(f"{note.body}\n\n{settings.public_url}/notifications\n")
            await client.send_message(message)
            sent.append(note.id)
    async with runtime.sessions() as session, session.begin():
        for note_id in sent:
            emailed = await session.get(Notification, note_id)
            if emailed is not None:
                emailed.emailed_at = utcnow()
    return len(sent)
