"""What this process is watching right now: the truth behind ``/status`` and the metrics.

Both engines record here the inboxes whose watcher actually runs in this process, so the ops
endpoint reports behaviour, not the engine's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Holdings:
    def __init__(self) -> None:
        self._held: set[int] = set()

    @property
    def inbox_ids(self) -> frozenset[int]:
        return frozenset(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def take_if_room(self, inbox_id: int, limit: int) -> bool:
        """Hold the inbox unless ``limit`` are held already. No await inside, so concurrent
        sessions of one event loop cannot both see the last free slot."""
        if len(self._held) >= limit:
            return False
        self._held.add(inbox_id)
        return True

    def release_if_over(self, inbox_id: int, limit: int) -> bool:
        """Let go of the inbox when more than ``limit`` are held (atomic like take_if_room)."""
        if inbox_id not in self._held or len(self._held) <= limit:
            return False
        self._held.discard(inbox_id)
        return True

    def release(self, inbox_id: int) -> None:
        self._held.discard(inbox_id)

    @contextmanager
    def holding(self, inbox_id: int) -> Iterator[None]:
        self._held.add(inbox_id)
        try:
            yield
        finally:
            self._held.discard(inbox_id)
