"""Loopback ports for servers the tests start, so parallel instances never collide."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS just reported free on ``host`` (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout: float = 10.0, alive: Callable[[], bool] = lambda: True
) -> None:
    """Block until ``host:port`` accepts connections: servers listen a moment after launch.

    ``alive`` reports whether the server process still runs, to fail at once when it died.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if not alive() or time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.05)


def wait_until_closed(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` refuses connections, so a restart can bind it again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                pass
        except OSError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} still accepts connections after {timeout} s")
