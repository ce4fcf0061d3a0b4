"""The scheduling interface the rest of the product calls, and its in-process implementation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol


class Scheduler(Protocol):
    """Tells the engine that work appeared; the engine finds the details in the database."""

    async def inbox_changed(self, inbox_id: int) -> None:
        """The inbox was connected, reconnected, enabled, disabled, removed or reconfigured:
        watch it (again) as its new state says, promptly."""

    async def outbox_changed(self) -> None:
        """Emails were queued: send the due ones now instead of at the next sweep."""

    async def close(self) -> None:
        """Release connections the scheduler holds."""


@dataclass
class Signals:
    """In-process nudges to the embedded runner (it also polls, so a lost nudge only delays)."""

    inboxes_changed: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class InProcessScheduler:
    """The embedded engine's side of the interface: wake the runner in this process."""

    signals: Signals = field(default_factory=Signals)

    async def inbox_changed(self, inbox_id: int) -> None:
        self.signals.inboxes_changed.set()

    async def outbox_changed(self) -> None:
        self.signals.outbox_changed.set()

    async def close(self) -> None:
        return None
