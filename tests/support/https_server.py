"""A real HTTPS server on a loopback address, serving fixed documents and redirects.

Runs in a thread (``http.server``), so it answers whatever event loop the test uses. It records
each request's path and ``Host`` header, so tests can check what the product asked for.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status, b"", (("Location", location),))


@dataclass
class HttpsServer:
    """Serves ``routes`` (path without query → response) on ``address:port`` with TLS."""

    address: str
    certificate: tuple[Path, Path]
    port: int = 443
    routes: dict[str, Response] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Host", "")))
                response = owner.routes.get(self.path.split("?", 1)[0], Response(404, b"no"))
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self.certificate)
        server = ThreadingHTTPServer((self.address, self.port), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
