"""An SMTP server that keeps what it receives (aiosmtpd), offering SMTPUTF8 and 8BITMIME:
the next hop after Postfix where a test reads the envelope and bytes that went out.
(Dovecot 2.3's LMTP does not offer SMTPUTF8, so Postfix bounces such mail it delivers there.)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import free_port


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    smtputf8: bool
    data: bytes


class _Keep:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        item = Received(
            str(envelope.mail_from),
            tuple(envelope.rcpt_tos),
            envelope.smtp_utf8,
            bytes(envelope.original_content or b""),
        )
        with self.lock:
            self.received.append(item)
        return "250 OK kept"


class SmtpSink:
    def __init__(self) -> None:
        self._keep = _Keep()
        self.port = free_port()
        self._controller = Controller(
            self._keep, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True
        )

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait_for(self, marker: bytes, timeout: float = 60.0) -> Received:
        """The first message whose bytes contain ``marker`` (Postfix relays asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._keep.lock:
                found = [r for r in self._keep.received if marker in r.data]
            if found:
                return found[0]
            time.sleep(0.05)
        raise TimeoutError(f"no message with {marker!r} reached the sink in {timeout} s")
