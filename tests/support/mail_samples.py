"""Realistic sample messages for sync tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def sample_message(
    sender: str,
    to: str,
    *,
    message_id: str,
    subject: str = "Hello",
    days_ago: float = 1.0,
    in_reply_to: str = "",
    body: str = "Hello, this is a test message.",
) -> bytes:
    date = datetime.now(UTC) - timedelta(days=days_ago)
    reply = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(date)}\r\nMessage-ID: {message_id}\r\n{reply}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()
