"""A small asyncio TCP proxy on loopback for fault tests: between inboxlink and Dovecot/Postfix.

It runs its own event loop in a thread, so synchronous tests (a ``LiveServer`` process) and
async tests (the in-process ``Runner``) drive it the same way. Faults, all opt-in:

* ``cut_all()`` closes every open connection at once (a NAT timeout, a server crash);
* ``cut_when(pattern, extra=n)`` closes a connection once the server has sent ``pattern`` and
  ``n`` more bytes of it -- e.g. ``b"BODY[] {"`` cuts mid-FETCH, in the middle of a literal;
* ``cut_after(n)`` closes a connection after ``n`` more bytes from the server;
* ``hold_after(client_pattern)`` stops passing the server's bytes once the client has sent
  ``client_pattern`` (``b"\\r\\n.\\r\\n"``: the end of SMTP DATA), so the server's "250" waits
  in the proxy -- ``held`` is set when it arrives; ``release()`` lets it through;
* ``delay`` seconds before each forwarded chunk; ``garbage(data)`` sent to the client as if
  from the server; ``refuse`` closes new connections as soon as they are accepted;
* ``answer_with(data, after=client_pattern)`` replaces, on every connection, the server's
  reply to the command containing ``client_pattern`` (``b" LOGIN "``, ``b" SELECT "``) by
  ``data``; without ``after``, the greeting: a server that answers nonsense.

Patterns only work on plaintext connections (security "none"); byte counts work on TLS too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 16 * 1024


@dataclass
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    from_client: bytearray = field(default_factory=bytearray)
    from_server: bytearray = field(default_factory=bytearray)
    holding: bool = False
    answered: bool = False  # the ``answer_with`` reply was sent on this link

    def close(self) -> None:
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # RST-like: no polite FIN handshake


@dataclass
class _CutRule:
    pattern: bytes | None  # None: count from now
    extra: int
    once: bool
    #: link id -> offset in the server's stream where the cut falls
    start: dict[int, int] = field(default_factory=dict)


class TcpProxy:
    """Forward ``127.0.0.1:port`` to ``target_host:target_port`` with injectable faults."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.delay = 0.0
        self.refuse = False
        self.connections = 0
        self.cuts = 0
        self.held = threading.Event()
        self._links: dict[int, _Link] = {}
        self._rules: list[_CutRule] = []
        self._hold_pattern: bytes | None = None
        self._answer: tuple[bytes, bytes | None] | None = None
        self._release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Close the listener and every connection, then end the loop (idempotent)."""
        if not self._thread.is_alive():
            return

        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            self._close_links()
            await asyncio.sleep(0.1)  # let the aborted transports really close their sockets

        self._call(shut())
        self._release.set()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _on_loop(self, function: Callable[[], None]) -> None:
        async def run() -> None:
            function()

        self._call(run())

    # -- faults ----------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return len(self._links)

    @property
    def pending_rules(self) -> int:
        """Cut rules armed and not yet triggered."""
        return len(self._rules)

    def cut_all(self) -> int:
        """Close every open connection now; returns how many were cut."""
        count = len(self._links)
        self._on_loop(self._close_links)
        return count

    def cut_when(self, pattern: bytes, extra: int = 0, *, once: bool = True) -> None:
        """Cut a connection ``extra`` bytes after the server sent ``pattern``."""
        rule = _CutRule(pattern, extra, once)
        self._on_loop(lambda: self._rules.append(rule))

    def cut_after(self, count: int, *, once: bool = True) -> None:
        """Cut each open (or next) connection after ``count`` more bytes from the server."""
        rule = _CutRule(None, count, once)

        def arm() -> None:
            for key, link in self._links.items():
                rule.start[key] = len(link.from_server) + count
            self._rules.append(rule)

        self._on_loop(arm)

    def clear_rules(self) -> None:
        self._on_loop(self._rules.clear)

    def hold_after(self, client_pattern: bytes) -> None:
        """Hold the server's replies once the client sent ``client_pattern`` (until release)."""
        self.held.clear()
        self._release.clear()
        self._hold_pattern = client_pattern

    def answer_with(self, data: bytes | None, *, after: bytes | None = None) -> None:
        """From now on, answer ``data`` (once per connection) instead of the server's reply to
        the client's ``after`` pattern, or instead of its greeting; ``None`` stops it."""
        self._answer = None if data is None else (data, after)

    def release(self) -> None:
        self._hold_pattern = None
        self._release.set()

    def garbage(self, data: bytes) -> int:
        """Send ``data`` to every connected client as if the server had sent it."""
        links = list(self._links.values())

        def send() -> None:
            for link in links:
                link.client.write(data)

        self._on_loop(send)
        return len(links)

    def wait_for_connections(self, count: int = 1, timeout: float = 30.0) -> None:
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self._links) >= count:
                return
            deadline.wait(0.05)
        raise TimeoutError(f"{count} connection(s) through the proxy never opened")

    def sent_by_server(self, pattern: bytes) -> bool:
        """True when any open connection's server side has sent ``pattern``."""
        return any(pattern in link.from_server for link in list(self._links.values()))

    def sent_by_client(self, pattern: bytes) -> bool:
        return any(pattern in link.from_client for link in list(self._links.values()))

    def count_by_client(self, pattern: bytes) -> int:
        """How often the open connections' clients have sent ``pattern`` (commands issued)."""
        return sum(link.from_client.count(pattern) for link in list(self._links.values()))

    # -- plumbing --------------------------------------------------------------------------

    def _close_links(self) -> None:
        for link in list(self._links.values()):
            link.close()
            self.cuts += 1
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        link = _Link(writer, up_writer)
        key = self.connections
        self._links[key] = link
        for rule in self._rules:
            if rule.pattern is None:
                rule.start[key] = rule.extra
        link.tasks = [
            asyncio.create_task(self._pump(key, link, reader, up_writer, upstream=True)),
            asyncio.create_task(self._pump(key, link, up_reader, writer, upstream=False)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        link.close()
        self._links.pop(key, None)

    def _replace(self, link: _Link, writer: asyncio.StreamWriter) -> bool:
        """Send the ``answer_with`` reply instead of this server chunk when it is due."""
        answer = self._answer
        if answer is None or link.answered:
            return False
        data, after = answer
        if after is not None and after not in link.from_client:
            return False
        link.answered = True
        writer.write(data)
        return True

    def _cut_point(self, key: int, link: _Link, before: int, size: int) -> int | None:
        """How many of the chunk's ``size`` bytes (stream offset ``before``) may pass before a
        rule cuts the connection, or None when none does."""
        for rule in list(self._rules):
            if key not in rule.start:
                assert rule.pattern is not None
                found = link.from_server.find(rule.pattern, max(0, before - len(rule.pattern)))
                if found < 0:
                    continue
                rule.start[key] = found + len(rule.pattern) + rule.extra
            if rule.start[key] <= before + size:
                if rule.once:
                    self._rules.remove(rule)
                return max(rule.start[key] - before, 0)
        return None

    async def _pump(
        self,
        key: int,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        upstream: bool,
    ) -> None:
        try:
            while data := await reader.read(CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if upstream:
                    link.from_client += data
                    pattern = self._hold_pattern
                    if pattern is not None and pattern in link.from_client:
                        link.holding = True
                    writer.write(data)
                    await writer.drain()
                    continue
                if self._replace(link, writer):
                    continue
                if link.holding:
                    self.held.set()
                    await asyncio.to_thread(self._release.wait)
                    link.holding = False
                before = len(link.from_server)
                link.from_server += data
                cut = self._cut_point(key, link, before, len(data)) if self._rules else None
                if cut is not None:
                    writer.write(data[:cut])
                    with contextlib.suppress(Exception):
                        await writer.drain()
                    self.cuts += 1
                    link.close()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            link.close()
