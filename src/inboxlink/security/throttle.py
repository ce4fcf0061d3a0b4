"""Sign-in throttling: failed passwords per (address, IP) and per IP, in a sliding window.

Kept in the web process's memory: each ``serve`` process counts on its own, so with N web
processes an attacker gets at most N times the limit -- still a few guesses a minute, not
the thousands a second that an unthrottled form allows. (A table shared by the processes
would make it exact; the numbers below leave room for that.)
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

#: Failed sign-ins allowed for one address from one IP within ``WINDOW_SECONDS``.
PER_ACCOUNT = 5
#: Failed sign-ins allowed from one IP (any addresses) within ``WINDOW_SECONDS``.
PER_IP = 30
WINDOW_SECONDS = 15 * 60.0
_MAX_KEYS = 100_000


class LoginThrottle:
    def __init__(
        self,
        per_account: int = PER_ACCOUNT,
        per_ip: int = PER_IP,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": per_account, "ip": per_ip}
        self._window = window
        self._clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}

    def _keys(self, email: str, ip: str) -> dict[str, tuple[str, ...]]:
        return {"account": ("account", email.strip().lower(), ip), "ip": ("ip", ip)}

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def retry_after(self, email: str, ip: str) -> int | None:
        """Whole seconds to wait before this address may be tried from this IP, or None."""
        now = self._clock()
        waits = []
        for kind, key in self._keys(email, ip).items():
            times = self._recent(key, now)
            if len(times) >= self._limits[kind]:
                waits.append(times[0] + self._window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, email: str, ip: str) -> None:
        now = self._clock()
        if len(self._failures) > _MAX_KEYS:  # bounded memory under a spray of addresses
            self._failures = {k: v for k, v in self._failures.items() if self._recent(k, now)}
        for key in self._keys(email, ip).values():
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str, ip: str) -> None:
        self._failures.pop(self._keys(email, ip)["account"], None)
