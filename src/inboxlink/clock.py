"""Time in one convention: timezone-aware UTC everywhere (SQLite returns naive UTC values)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC for a value read back from the store (naive means UTC) or parsed from mail."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
