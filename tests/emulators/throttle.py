"""The throttling/outage knob the emulators share: the next N API requests are refused with
a status and a ``Retry-After``, and the emulator counts what a client did with that answer."""

from __future__ import annotations

import threading
import time

#: Timers may fire a hair early; a retry this close to the deadline still honoured it.
_SLACK_SECONDS = 0.05


class Throttle:
    """``refused`` counts the refusals; ``too_early`` the requests that came back to the same
    URL before its ``Retry-After`` had passed (a client that does not honour it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left = 0
        self._status = 429
        self._retry_after = "1"
        self._not_before: dict[str, float] = {}
        self.refused = 0
        #: the requests that came back too early, as "key after N s"
        self.early: list[str] = []

    def arm(self, count: int, retry_after: str = "1", status: int = 429) -> None:
        with self._lock:
            self._left, self._retry_after, self._status = count, retry_after, status

    def take(self, key: str) -> tuple[int, str] | None:
        """Called for every API request (``key``: method and URL): the refusal to answer
        with, or None to serve the request."""
        now = time.monotonic()
        with self._lock:
            if now < (deadline := self._not_before.get(key, 0.0)):
                self.early.append(f"{key} {deadline - now:.2f} s early")
            if self._left <= 0:
                return None
            self._left -= 1
            self.refused += 1
            if self._retry_after.isdigit():
                self._not_before[key] = now + int(self._retry_after) - _SLACK_SECONDS
            return self._status, self._retry_after

    @property
    def too_early(self) -> int:
        return len(self.early)
