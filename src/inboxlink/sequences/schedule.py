"""When a step may go out: its delay, business days and the send window in the sender's zone.

Pure functions over aware datetimes. Delays of whole days count business days when the step
says so; the result is then moved to the next moment inside the window (and off weekends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inboxlink.errors import AppError

DAY = 86400


@dataclass(frozen=True, slots=True)
class Window:
    """Minutes after midnight; ``start == end`` or both None means any time."""

    start: int | None = None
    end: int | None = None
    business_days_only: bool = False

    def allows_any_time(self) -> bool:
        return self.start is None or self.end is None or self.start == self.end


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AppError(
            "invalid_time_zone", f"{name!r} is not a time zone; use e.g. Europe/Rome.", status=422
        ) from exc


def _is_business_day(moment: datetime) -> bool:
    return moment.weekday() < 5


def add_delay(start: datetime, seconds: int, tz: ZoneInfo, business_days_only: bool) -> datetime:
    """``start`` plus the delay; with business days, each whole day skips Saturday and Sunday."""
    if not business_days_only:
        return start + timedelta(seconds=seconds)
    local = start.astimezone(tz)
    days, rest = divmod(seconds, DAY)
    while days:
        local += timedelta(days=1)
        if _is_business_day(local):
            days -= 1
    return (local + timedelta(seconds=rest)).astimezone(start.tzinfo)


def _at(day: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    clock = time(minutes // 60, minutes % 60)
    return datetime.combine(day.date(), clock, tzinfo=tz)


def place(moment: datetime, tz: ZoneInfo, window: Window) -> datetime:
    """The first moment at or after ``moment`` that is inside the window (and a workday)."""
    local = moment.astimezone(tz)
    for _ in range(8):  # a week covers every weekend
        if window.business_days_only and not _is_business_day(local):
            local = _at(local + timedelta(days=1), window.start or 0, tz)
            continue
        if window.allows_any_time():
            return local.astimezone(moment.tzinfo)
        assert window.start is not None and window.end is not None
        minute = local.hour * 60 + local.minute
        overnight = window.start > window.end  # e.g. 22:00 to 06:00
        inside = (
            window.start <= minute or minute < window.end
            if overnight
            else window.start <= minute < window.end
        )
        if inside:
            return local.astimezone(moment.tzinfo)
        if minute < window.start and not overnight:
            local = _at(local, window.start, tz)
        else:
            local = _at(local + timedelta(days=0 if overnight else 1), window.start, tz)
    return local.astimezone(moment.tzinfo)


def next_window_start(moment: datetime, tz: ZoneInfo, window: Window) -> datetime:
    """The start of the next day's window: where a step over the daily limit is carried."""
    tomorrow = moment.astimezone(tz) + timedelta(days=1)
    return place(_at(tomorrow, window.start or 0, tz), tz, window)
