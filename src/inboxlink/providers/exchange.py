"""An on-premises Exchange mailbox over EWS (exchangelib, in worker threads), as a ``Connector``.

Sync is ``SyncFolderItems`` per folder, one page per batch, the page's SyncState being the
checkpoint, so a crash repeats at most one page. The first pass (no checkpoint) only yields
messages received within ``backfill_days``; SyncFolderItems has no date filter, so older items
are skipped by their ``DateTimeReceived``. Exchange has no push that survives without an
inbound connection to us, so ``wait_for_change`` polls SyncFolderItems every
``ews_poll_seconds``. ``CreateItem`` with ``SendAndSaveCopy`` files the copy in Sent Items, so
``save_to_sent`` has nothing to do; a password connection has nothing to revoke (D4: the
user's IT department removes access).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

from inboxlink.clock import utcnow
from inboxlink.mail.headers import HeaderInfo, Mailbox, normalize_email, parse_headers
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.net.policy import NetworkPolicy
from inboxlink.net.tls import client_context
from inboxlink.providers.base import (
    AccountInfo,
    Batch,
    Checkpoint,
    Folder,
    ScannedMessage,
    SentRef,
)
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.exchange_errors import translate, version_unsupported
from inboxlink.providers.exchange_http import Pin
from inboxlink.providers.exchange_ops import EwsMailbox

#: EWS distinguished folder ids double as the folders' stored names.
FOLDERS = (Folder("inbox", "inbox"), Folder("sentitems", "sent"))
#: SyncFolderItems returns at most 512 changes per call.
_MAX_PAGE = 512
T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class ExchangeSetup:
    """Everything needed to reach one mailbox; ``username`` is what the server signs in."""

    ews_url: str
    email: str
    username: str
    password: str
    trust_any_certificate: bool = False

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"ExchangeSetup(ews_url={self.ews_url!r}, username={self.username!r})"

    @property
    def host(self) -> str:
        return (urlsplit(self.ews_url).hostname or "").lower()


@dataclass(frozen=True, slots=True)
class ExchangeOptions:
    """The service settings the connector follows (from ``Settings``)."""

    extra_ca_file: Path | None = None
    timeout: float = 10.0
    backfill_days: int = 90
    batch_size: int = 500
    poll_seconds: float = 30.0


class ExchangeConnector:
    """A signed-in Exchange mailbox. The session starts on first use, at an address the network
    policy checked then; ``close`` ends it."""

    files_sent_copies = True  # SendAndSaveCopy files it.

    def __init__(self, setup: ExchangeSetup, policy: NetworkPolicy, options: ExchangeOptions):
        self.setup = setup
        self._policy = policy
        self._options = options
        self._mailbox: EwsMailbox | None = None
        self._pin: Pin | None = None
        #: The server build seen by ``verify`` (e.g. ``15.1.2507.6``), for the connect record.
        self.server_build = ""
        #: folder -> (sync state the engine stored, newer state known to hold no changes)
        self._quiet: dict[str, tuple[str, str]] = {}

    async def _open(self) -> EwsMailbox:
        if self._mailbox is not None:
            return self._mailbox
        parts = urlsplit(self.setup.ews_url)
        # HostNotFound / NetworkNotAllowed pass through: their own messages say what to fix.
        addresses = await self._policy.resolve(self.setup.host)
        context = client_context(
            trust_any=self.setup.trust_any_certificate, extra_ca_file=self._options.extra_ca_file
        )
        self._pin = Pin(
            self.setup.host, parts.port or 443, addresses[0], context, self._options.timeout
        )
        pin = self._pin
        self._mailbox = await self._call(
            lambda: EwsMailbox(
                self.setup.ews_url, self.setup.email, self.setup.username, self.setup.password, pin
            )
        )
        return self._mailbox

    async def _call(self, work: Callable[[], T]) -> T:
        """Run blocking exchangelib work in a thread; its failures become ``ConnectorError``."""
        if self._pin is not None:
            self._pin.last_status = None
        try:
            return await asyncio.to_thread(work)
        except ConnectorError:
            raise
        except Exception as exc:
            raise translate(exc, self.setup.ews_url, self._pin) from exc

    async def _run(
        self, work: Callable[Concatenate[EwsMailbox, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(mailbox, *args)`` in a thread, on the session (started if needed)."""
        mailbox = await self._open()
        return await self._call(lambda: work(mailbox, *args, **kwargs))

    async def verify(self) -> AccountInfo:
        """Sign in, read the server version (``ServerVersionInfo``), reach both folders."""
        build, supported = await self._run(EwsMailbox.server_build)
        self.server_build = build
        if not supported:
            raise version_unsupported(build)
        for known in FOLDERS:
            await self._run(EwsMailbox.folder, known.name)
        return AccountInfo(
            email=normalize_email(self.setup.email),
            folders=FOLDERS,
            capabilities=frozenset({"ews", "send_saves_to_sent"}),
        )

    async def changes(self, folder: Folder, checkpoint: Checkpoint | None) -> AsyncIterator[Batch]:
        """SyncFolderItems pages from the stored state (none: the first pass, the backfill)."""
        state = checkpoint or {}
        sync_state = self._resume_state(folder, state.get("sync_state"))
        backfilled = bool(state.get("backfilled")) and sync_state is not None
        total = await self._run(EwsMailbox.total, folder.name) if not backfilled else 0
        since = utcnow() - timedelta(days=self._options.backfill_days)
        size = max(1, min(self._options.batch_size, _MAX_PAGE))
        while True:
            page = await self._run(EwsMailbox.sync_page, folder.name, sync_state, size)
            in_backfill = not backfilled
            backfilled = backfilled or page.last
            wanted = [
                item_id
                for item_id, received in page.created
                if not in_backfill or received is None or received >= since
            ]
            messages = await self._scan(wanted)
            sync_state = page.sync_state
            yield Batch(
                folder=folder,
                messages=messages,
                deleted=page.deleted,
                checkpoint={"sync_state": sync_state, "backfilled": backfilled},
                total=total if in_backfill else 0,
                backfill_complete=in_backfill and backfilled,
            )
            if page.last:
                self._quiet[folder.name] = (sync_state, sync_state)
                return

    def _resume_state(self, folder: Folder, stored: Any) -> str | None:
        """The stored state, or a newer one a quiet poll proved equivalent."""
        if not isinstance(stored, str) or not stored:
            return None
        origin, latest = self._quiet.get(folder.name, ("", ""))
        return latest if stored == origin else stored

    async def _scan(self, item_ids: list[str]) -> list[ScannedMessage]:
        if not item_ids:
            return []
        items = await self._run(EwsMailbox.headers, item_ids)
        return [ScannedMessage(str(i.id), _headers(i)) for i in items if i.message_id]

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        """RFC 5322 bytes from ``MimeContent``; a message deleted meanwhile is left out."""
        return await self._run(EwsMailbox.mime, provider_ids)

    async def wait_for_change(self, timeout: float) -> bool:
        """Poll each synced folder with a one-change SyncFolderItems every ``poll_seconds``.

        A quiet answer brings a newer state with nothing before it; the next ``changes`` starts
        there, so a poll never makes the engine re-read what it has.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for name, (origin, latest) in list(self._quiet.items()):
                page = await self._run(EwsMailbox.sync_page, name, latest, 1)
                if page.created or page.deleted or not page.last:
                    return True
                self._quiet[name] = (origin, page.sync_state or latest)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(self._options.poll_seconds, remaining))

    async def send(self, message: OutgoingMessage) -> SentRef:
        """``CreateItem`` with the MIME message and ``SendAndSaveCopy`` (Bcc from the header,
        which Exchange does not pass on)."""
        raw = message.to_bytes(include_bcc=True)
        await self._run(EwsMailbox.send, raw)
        return SentRef(message.message_id, saved_to_sent=True)

    async def save_to_sent(self, messages: Sequence[OutgoingMessage]) -> None:
        """Nothing to do: ``SendAndSaveCopy`` already saved the message in Sent Items."""

    async def was_sent(self, message_id: str) -> bool:
        """``FindItem`` in Sent Items restricted to the ``InternetMessageId``."""
        return await self._run(EwsMailbox.in_sent, message_id)

    async def revoke(self) -> None:
        """A password connection grants nothing to revoke; IT removes access if needed (D4)."""

    async def close(self) -> None:
        if self._mailbox is not None:
            mailbox, self._mailbox = self._mailbox, None
            await asyncio.to_thread(mailbox.close)


def _mailbox(value: Any) -> Mailbox | None:
    address = normalize_email(str(getattr(value, "email_address", "") or ""))
    return (
        Mailbox(address, str(getattr(value, "name", "") or "").strip()) if "@" in address else None
    )


def _mailboxes(values: Any) -> tuple[Mailbox, ...]:
    return tuple(m for m in map(_mailbox, values or []) if m is not None)


def _headers(item: Any) -> HeaderInfo:
    """Who, when and threading from the item's EWS properties (no header block needed)."""
    lines = [
        f"Message-ID: {item.message_id or ''}",
        f"In-Reply-To: {item.in_reply_to or ''}",
        f"References: {' '.join(str(item.references or '').split())}",
    ]
    parsed = parse_headers("\r\n".join(lines).encode("ascii", "replace") + b"\r\n\r\n")
    when = item.datetime_sent or item.datetime_received
    return parsed.with_decoded(
        subject=str(item.subject or ""),
        sender=_mailbox(item.author),
        to=_mailboxes(item.to_recipients),
        cc=_mailboxes(item.cc_recipients),
        date=datetime.fromtimestamp(when.timestamp(), tz=UTC) if when else None,
    )
