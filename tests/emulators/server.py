"""Serve an emulator's ASGI app on loopback from a background thread (uvicorn)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class BackgroundServer:
    """One uvicorn server in a daemon thread; ``start()`` returns once it accepts requests."""

    def __init__(self, app: Any, *, host: str, port: int, name: str, **options: Any):
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", **options
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._name = name

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self._name} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
