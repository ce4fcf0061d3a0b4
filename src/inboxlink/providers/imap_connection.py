"""One logged-in IMAP connection, made safely, and the session that keeps it alive.

imapclient was chosen by measurement (docs/imap-library.md). It blocks, so every call runs in a
worker thread. Two things it does not do for us live here:

* it connects to the host name it is given; we must connect to the address the network policy
  checked (no DNS rebinding) while verifying TLS -- implicit or STARTTLS -- against the name;
* its failures are sockets, TLS and IMAP errors; users need a ``ConnectorError`` that says what
  to do, and never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import imapclient
from imapclient.exceptions import CapabilityError, LoginError

from inboxlink.domain.servers import Credentials, ServerSettings
from inboxlink.net.policy import NetworkPolicy
from inboxlink.net.tls import is_certificate_error
from inboxlink.providers.errors import (
    ConnectorError,
    auth_failed,
    certificate_untrusted,
    protocol_error,
    unreachable,
)

log = logging.getLogger(__name__)
#: Where imapclient sends imaplib's protocol trace.
IMAPLIB_TRACE = "imapclient.imaplib"
T = TypeVar("T")

#: Failures meaning "the connection is gone" (worth one reconnect), not "the server said no".
DROPPED = (imaplib.IMAP4.abort, OSError)
#: Untagged responses that mean the selected folder changed.
CHANGE_RESPONSES = frozenset({b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"})
#: The same during IDLE, plus STATUS: another folder changed (reported where NOTIFY is on).
_IDLE_CHANGES = CHANGE_RESPONSES | {b"STATUS"}


def is_change(response: tuple[Any, ...]) -> bool:
    """True for an untagged response during IDLE (as imapclient parses it) that signals a
    change to a synced folder."""
    return any(isinstance(part, bytes) and part.upper() in _IDLE_CHANGES for part in response[:2])


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib connected to one checked address; ``host`` stays the configured name, which is
    what implicit TLS here and imaplib's STARTTLS verify the certificate against (and send as SNI).
    """

    def __init__(
        self, host: str, address: str, port: int, timeout: float, tls: ssl.SSLContext | None
    ) -> None:
        self._address = address
        self._tls = tls
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout)
        if self._tls is None:
            return sock
        try:
            return self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class _PinnedClient(imapclient.IMAPClient):  # type: ignore[misc]
    """IMAPClient over ``_PinnedIMAP4``: its only hook for choosing the socket is
    ``_create_IMAP4``, so that is what we override."""

    def __init__(
        self, host: str, address: str, port: int, tls: ssl.SSLContext | None, timeout: float
    ) -> None:
        self._address = address
        self._implicit_tls = tls
        super().__init__(host, port, ssl=False, timeout=timeout)
        # imapclient turns imaplib's tracing on (level 5, into the logger below at DEBUG), so
        # imaplib formats a repr of every line and literal it reads -- every message body --
        # before the logger drops it: 13 % of the busy time of a full ingest (py-spy --gil,
        # bench). The trace stays on when someone asks for that logger at DEBUG.
        if not logging.getLogger(IMAPLIB_TRACE).isEnabledFor(logging.DEBUG):
            self._imap.debug = 0

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _PinnedIMAP4(
            self.host, self._address, self.port, self._timeout.connect, self._implicit_tls
        )


def translate(exc: BaseException, server: ServerSettings) -> ConnectorError:
    """The user-facing error for a failure talking to ``server`` (never echoing credentials)."""
    if isinstance(exc, ConnectorError):
        return exc
    if is_certificate_error(exc):
        return certificate_untrusted(server.host)
    if isinstance(exc, ssl.SSLError):
        return protocol_error("IMAP", server.host, f"TLS handshake failed: {exc.reason}")
    if isinstance(exc, LoginError):
        if isinstance(exc.__context__, imaplib.IMAP4.abort):
            # Garbled or cut before the server said yes or no: no verdict on the password.
            return protocol_error("IMAP", server.host, f"login: {str(exc)[:150]}")
        if "UNAVAILABLE" in str(exc).upper():
            return protocol_error("IMAP", server.host, "login temporarily unavailable")
        return auth_failed()
    if isinstance(exc, TimeoutError):
        return unreachable("IMAP", server.host, server.port, "timed out")
    if isinstance(exc, ConnectionRefusedError):
        return unreachable("IMAP", server.host, server.port, "connection refused")
    if isinstance(exc, imaplib.IMAP4.abort):
        return unreachable("IMAP", server.host, server.port, "connection lost")
    if isinstance(exc, OSError):
        return unreachable("IMAP", server.host, server.port, exc.strerror or type(exc).__name__)
    return protocol_error("IMAP", server.host, str(exc)[:200] or type(exc).__name__)


@dataclass(slots=True)
class Connection:
    """A logged-in client plus what this session learnt: capabilities, QRESYNC, selection."""

    client: Any  # imapclient.IMAPClient (untyped)
    capabilities: frozenset[str]
    qresync: bool
    selected: str | None = None
    status: dict[bytes, Any] = field(default_factory=dict)
    #: True while ``status`` is known to be current unless the server has sent a change
    #: since: set by EXAMINE, cleared by whatever reads untagged responses itself (a FETCH,
    #: VANISHED, an IDLE that heard a change), so ops can check with a NOOP (ops.look).
    quiet: bool = False
    #: IDLE left running between two waits for a change; ``end_idle`` ends it before any
    #: other command (RFC 2177 allows none while idling). ``idle_since``: its start
    #: (``time.monotonic``), to renew it well before servers end it (RFC 2177: 29 minutes).
    idling: bool = False
    idle_since: float = 0.0
    #: The server reports changes to the other synced folders during IDLE (NOTIFY, RFC 5465);
    #: None until asked.
    notifying: bool | None = None

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def start_idle(self) -> None:
        self.client.idle()
        self.idling, self.idle_since = True, time.monotonic()

    def end_idle(self) -> None:
        """DONE, when IDLE was left running; a change reported meanwhile clears ``quiet``."""
        if self.idling:
            self.idling = False
            _, responses = self.client.idle_done()
            if any(is_change(response) for response in responses):
                self.quiet = False

    def examine(self, folder: str, *, fresh: bool = False) -> dict[bytes, Any]:
        """EXAMINE (read-only SELECT) ``folder`` unless it is already the selected one."""
        if fresh or self.selected != folder:
            self.selected = None
            self.status = self.client.select_folder(folder, readonly=True)
            self.selected = folder
            self.client._imap.untagged_responses.clear()  # all reflected in ``status``
            self.quiet = True
        return self.status


def _connect(
    server: ServerSettings,
    credentials: Credentials,
    address: str,
    context: ssl.SSLContext,
    timeout: float,
) -> Connection:
    implicit = context if server.security == "ssl" else None
    client = _PinnedClient(server.host, address, server.port, implicit, timeout)
    try:
        if server.security == "starttls":
            try:
                client.starttls(context)
            except CapabilityError as exc:
                raise protocol_error(
                    "IMAP", server.host, "the server does not offer STARTTLS"
                ) from exc
        client.login(credentials.username, credentials.password)
        capabilities = frozenset(
            c.decode("ascii", "replace").upper() for c in client.capabilities()
        )
        qresync = "QRESYNC" in capabilities and b"QRESYNC" in client.enable("QRESYNC")
    except BaseException:
        client.shutdown()
        raise
    return Connection(client, capabilities, qresync)


class Session:
    """At most one live connection; blocking calls run in a thread, one at a time; one
    reconnect on a drop."""

    def __init__(
        self,
        server: ServerSettings,
        credentials: Credentials,
        policy: NetworkPolicy,
        context: ssl.SSLContext,
        timeout: float,
    ) -> None:
        self.server = server
        self._credentials = credentials
        self._policy = policy
        self._context = context
        self._timeout = timeout
        self._connection: Connection | None = None
        # One command sequence at a time: the connector fetches the next batch's headers
        # while the engine asks for this batch's bodies.
        self._turn = asyncio.Lock()

    async def connection(self) -> Connection:
        """The live connection, opening one (trying each checked address) when needed."""
        if self._connection is not None:
            return self._connection
        # HostNotFound / NetworkNotAllowed pass through: their own messages say what to fix.
        addresses = await self._policy.resolve(self.server.host)
        failure: BaseException | None = None
        for address in addresses:
            try:
                self._connection = await asyncio.to_thread(
                    _connect, self.server, self._credentials, address, self._context, self._timeout
                )
                return self._connection
            except ssl.SSLError as exc:  # reached, but TLS failed: another address won't help
                raise translate(exc, self.server) from exc
            except DROPPED as exc:  # this address is unreachable: try the next one
                failure = exc
            except Exception as exc:
                raise translate(exc, self.server) from exc
        assert failure is not None
        raise translate(failure, self.server) from failure

    async def run(self, operation: Callable[[Connection], T], *, retry: bool = True) -> T:
        """Run ``operation`` on the connection in a thread. A dropped connection is reopened
        and the operation repeated once when ``retry`` (callers pass False for writes that must
        not happen twice); everything else becomes a ConnectorError."""
        async with self._turn:
            return await self._run(operation, retry)

    async def _run(self, operation: Callable[[Connection], T], retry: bool) -> T:
        attempts = 2 if retry else 1
        while True:
            attempts -= 1
            connection = await self.connection()
            try:
                return await asyncio.to_thread(_outside_idle, operation, connection)
            except asyncio.CancelledError:
                self.discard()  # the thread may still be mid-command on this connection
                raise
            except ConnectorError:
                raise
            except DROPPED as exc:
                self.discard()
                if not attempts:
                    raise translate(exc, self.server) from exc
                log.info("IMAP connection to %s dropped, reconnecting", self.server.host)
            except Exception as exc:
                raise translate(exc, self.server) from exc

    def current(self) -> Connection | None:
        return self._connection

    def discard(self) -> None:
        """Forget the connection without talking to the server (it is broken or mid-IDLE)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.client.shutdown()

    async def close(self) -> None:
        """Log out politely (after a command still running); a server already gone is fine."""
        async with self._turn:
            await self._logout()

    async def _logout(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await asyncio.to_thread(_outside_idle, _logout, connection)
        except Exception:  # closing must never fail the caller
            log.debug("IMAP logout from %s failed", self.server.host, exc_info=True)
            with contextlib.suppress(OSError):
                connection.client.shutdown()


def _outside_idle(operation: Callable[[Connection], T], connection: Connection) -> T:
    connection.end_idle()
    return operation(connection)


def _logout(connection: Connection) -> None:
    connection.client.logout()
