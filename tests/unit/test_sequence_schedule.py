"""When a sequence step may go out: delays in business days and the send window, both read
in the sender's time zone (pure arithmetic over aware datetimes, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import pytest

from inboxlink.errors import AppError
from inboxlink.sequences.schedule import DAY, Window, add_delay, next_window_start, place, zone

ROME = zone("Europe/Rome")
NEW_YORK = zone("America/New_York")


def at(text: str, tz: tzinfo = UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def test_plain_delay_counts_every_day() -> None:
    friday = at("2026-11-27T10:00")
    assert add_delay(friday, 2 * DAY, ROME, business_days_only=False) == at("2026-11-29T10:00")


def test_business_days_skip_the_weekend_in_the_senders_zone() -> None:
    friday = at("2026-11-27T10:00")
    assert add_delay(friday, 1 * DAY, ROME, business_days_only=True) == at("2026-11-30T10:00")
    assert add_delay(friday, 3 * DAY, ROME, business_days_only=True) == at("2026-12-02T10:00")
    # 23:30 UTC on Friday is 00:30 on Saturday in Rome: one business day on is Monday 00:30
    # in Rome (Sunday 23:30 UTC), not Monday 23:30 UTC as counting in UTC would give.
    late = at("2026-11-27T23:30")
    assert add_delay(late, 1 * DAY, ROME, business_days_only=True) == at("2026-11-30T00:30", ROME)


def test_business_days_keep_the_hours_beyond_whole_days() -> None:
    thursday = at("2026-11-26T09:00")
    later = add_delay(thursday, DAY + 3600, ROME, business_days_only=True)
    assert later == at("2026-11-27T10:00")


def test_inside_the_window_sends_now() -> None:
    window = Window(9 * 60, 17 * 60)
    moment = at("2026-11-25T10:00", ROME)
    assert place(moment, ROME, window) == moment


def test_before_and_after_the_window_in_the_senders_zone() -> None:
    window = Window(9 * 60, 17 * 60)
    # 06:00 UTC is 07:00 in Rome: wait until 09:00 Rome (08:00 UTC) the same day.
    assert place(at("2026-11-25T06:00"), ROME, window) == at("2026-11-25T08:00")
    # 17:30 in New York is after the window: 09:00 New York the next day (14:00 UTC).
    assert place(at("2026-11-25T22:30"), NEW_YORK, window) == at("2026-11-26T14:00")


def test_window_with_business_days_moves_off_the_weekend() -> None:
    window = Window(9 * 60, 17 * 60, business_days_only=True)
    saturday = at("2026-11-28T11:00", ROME)
    assert place(saturday, ROME, window) == at("2026-11-30T09:00", ROME)
    friday_evening = at("2026-11-27T18:00", ROME)
    assert place(friday_evening, ROME, window) == at("2026-11-30T09:00", ROME)


def test_overnight_window() -> None:
    window = Window(22 * 60, 6 * 60)
    assert place(at("2026-11-25T23:00", ROME), ROME, window) == at("2026-11-25T23:00", ROME)
    assert place(at("2026-11-25T03:00", ROME), ROME, window) == at("2026-11-25T03:00", ROME)
    assert place(at("2026-11-25T12:00", ROME), ROME, window) == at("2026-11-25T22:00", ROME)


def test_any_time_window_and_daylight_saving() -> None:
    assert place(at("2026-11-25T03:00"), ROME, Window()) == at("2026-11-25T03:00")
    # Rome leaves summer time on 25 October 2026: 09:00 local is 07:00 UTC before, 08:00 after.
    window = Window(9 * 60, 17 * 60)
    assert place(at("2026-10-24T05:00"), ROME, window) == at("2026-10-24T07:00")
    assert place(at("2026-10-26T05:00"), ROME, window) == at("2026-10-26T08:00")


def test_carry_over_goes_to_the_next_days_window() -> None:
    window = Window(9 * 60, 17 * 60, business_days_only=True)
    friday = at("2026-11-27T15:00", ROME)
    assert next_window_start(friday, ROME, window) == at("2026-11-30T09:00", ROME)


def test_unknown_zone_is_a_plain_error() -> None:
    with pytest.raises(AppError) as caught:
        zone("Mars/Olympus")
    assert caught.value.code == "invalid_time_zone"
