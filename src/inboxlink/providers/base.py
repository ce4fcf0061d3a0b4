"""The connector interface every provider kind implements, and the types crossing it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from inboxlink.mail.headers import HeaderInfo
from inboxlink.mail.outgoing import OutgoingMessage

FolderRole = Literal["inbox", "sent"]
Checkpoint = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Folder:
    name: str
    role: FolderRole


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What a verified login tells us about the mailbox."""

    email: str
    aliases: tuple[Address, ...] = ()
    folders: tuple[Folder, ...] = ()
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ScannedMessage:
    """Headers of one message in a folder; ``provider_id`` is stable within the folder."""

    provider_id: str
    headers: HeaderInfo


@dataclass(slots=True)
class Batch:
    """A slice of a folder's changes and the checkpoint valid once it has been stored.

    ``total`` is the number of messages the current pass expects (for progress bars),
    ``backfill_complete`` turns true on the batch that finishes the first full pass.
    """

    folder: Folder
    messages: list[ScannedMessage] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    checkpoint: Checkpoint = field(default_factory=dict)
    total: int = 0
    backfill_complete: bool = False


@dataclass(frozen=True, slots=True)
class SentRef:
    message_id: str
    saved_to_sent: bool


class Connector(Protocol):
    """A logged-in view of one mailbox. Instances are used by one task at a time."""

    #: True when the provider files what it sends in the Sent folder by itself (Gmail, Graph,
    #: EWS SendAndSaveCopy): then Sent tells whether an interrupted send went out.
    files_sent_copies: bool

    async def verify(self) -> AccountInfo:
        """Log in (incoming and outgoing), report the address, aliases, folders, capabilities."""
        ...

    def changes(self, folder: Folder, checkpoint: Checkpoint | None) -> AsyncIterator[Batch]:
        """Everything new since ``checkpoint`` (None: backfill), in batches."""
        ...

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        """The full RFC 5322 bytes of the given messages (those the engine decided to store)."""
        ...

    async def wait_for_change(self, timeout: float) -> bool:
        """Block until the mailbox changes (IDLE / push / poll) or ``timeout`` passes.

        False promises that no folder ``changes`` has synced on this connector changed, so
        the watcher skips the sync (an idle inbox costs no database work)."""
        ...

    async def send(self, message: OutgoingMessage) -> SentRef:
        """Hand the message to the provider for delivery (Gmail and Graph also file it in Sent)."""
        ...

    async def save_to_sent(self, messages: Sequence[OutgoingMessage]) -> None:
        """Make sure a copy of each is in the Sent folder; the outbox hands over a batch (IMAP:
        one look at Sent, one MULTIAPPEND of the missing; nothing for providers that file)."""
        ...

    async def was_sent(self, message_id: str) -> bool:
        """True when a message with this Message-ID is already in the Sent folder."""
        ...

    async def revoke(self) -> None:
        """Give access back at the provider where it offers revocation."""
        ...

    async def close(self) -> None: ...
