"""Periodic jobs, listed once for both engines: the in-process runner loops over them, the
procrastinate worker turns each into a periodic task that runs once per tick across workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from inboxlink.automation.jobs import run_automation
from inboxlink.config import Settings
from inboxlink.notifications.email import deliver_pending
from inboxlink.runtime import Runtime
from inboxlink.sequences.scheduler import run_once as run_sequences
from inboxlink.services.migration import check_migration, due_for_check


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: Callable[[Settings], float]
    run: Callable[[Runtime], Awaitable[object]]


async def run_migration_checks(runtime: Runtime) -> None:
    """G2: the daily MX re-check of every inbox that is due for one."""
    for inbox_id in await due_for_check(runtime):
        await check_migration(runtime, inbox_id)


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("migration_checks", lambda _settings: 30.0, run_migration_checks),
    # Before notification emails, so a digest made in this pass is mailed in it.
    PeriodicJob("inbox_automation", lambda _settings: 30.0, run_automation),
    PeriodicJob("notification_emails", lambda _settings: 30.0, deliver_pending),
    PeriodicJob("sequences", lambda settings: settings.sequence_tick_seconds, run_sequences),
)
