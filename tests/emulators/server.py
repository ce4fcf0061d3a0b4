"""Serve an emulator's ASGI app on loopback from a background thread (uvicorn)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from starlette.responses import Response

#: What a proxy or a half-deployed API answers instead of JSON.
HTML_ERROR_PAGE = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
BROKEN_JSON = b'{"messages": [{"id": "1", "threadId": '


class Garbler:
    """A switch of an emulator: its next API requests answer this body with a 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left = 0
        self._body = b""
        self._type = ""
        self.served = 0

    def arm(self, count: int, body: bytes, content_type: str) -> None:
        with self._lock:
            self._left, self._body, self._type = count, body, content_type

    def take(self) -> Response | None:
        """The garbled answer while armed (counted), else None."""
        with self._lock:
            if self._left <= 0:
                return None
            self._left -= 1
            self.served += 1
            return Response(self._body, status_code=200, media_type=self._type)


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
