"""What this process is watching right now: the truth behind ``/status`` and the metrics.

Both engines record here the inboxes whose watcher actually runs in this process, so the ops
endpoint reports behaviour, not the engine's bookkeeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Holdings:
    def __init__(self) -> None:
        #: inbox id → when (epoch seconds) this process began to hold it
        self._held: dict[int, float] = {}

    @property
    def inbox_ids(self) -> frozenset[int]:
        return frozenset(self._held)

    def since(self) -> dict[int, float]:
        """When each inbox was taken: lets an observer tell a move from a double watch."""
        return dict(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def take_if_room(self, inbox_id: int, limit: int) -> bool:
        """Hold the inbox unless ``limit`` are held already. No await inside, so concurrent
        sessions of one event loop cannot both see the last free slot."""
        if len(self._held) >= limit:
            return False
        self._held[inbox_id] = time.time()
        return True

    def release_if_over(self, inbox_id: int, limit: int) -> bool:
        """Let go of the inbox when more than ``limit`` are held (atomic like take_if_room)."""
        if inbox_id not in self._held or len(self._held) <= limit:
            return False
        del self._held[inbox_id]
        return True

    def release(self, inbox_id: int) -> None:
        self._held.pop(inbox_id, None)

    @contextmanager
    def holding(self, inbox_id: int) -> Iterator[None]:
        self._held[inbox_id] = time.time()
        try:
            yield
        finally:
            self._held.pop(inbox_id, None)
