"""The blocking EWS operations of one mailbox, through exchangelib (called in a worker thread).

Kept apart from the async connector so that everything here is plain exchangelib usage:
``SyncFolderItems`` one page at a time (the engine stores each page's SyncState with its
batch), ``GetItem`` for the fields the engine decides on and for ``MimeContent``, ``CreateItem``
with ``SendAndSaveCopy`` and ``FindItem`` restricted to ``InternetMessageId``.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchangelib import DELEGATE, UTC, Account, Configuration, Credentials, FailFast, Message
from exchangelib.items import ID_ONLY
from exchangelib.properties import ItemId
from exchangelib.protocol import Protocol
from exchangelib.services import SyncFolderItems
from exchangelib.version import EXCHANGE_2010_SP2

from inboxlink.providers.exchange_http import Pin, pinned_protocol

#: The product's folder names (EWS distinguished folder ids) and exchangelib's account attributes.
_FOLDER_ATTRIBUTES = {"inbox": "inbox", "sentitems": "sent"}
#: What the engine needs to decide whether to log a message (like an IMAP header scan).
HEADER_FIELDS = (
    "message_id",
    "subject",
    "author",
    "to_recipients",
    "cc_recipients",
    "datetime_sent",
    "datetime_received",
    "in_reply_to",
    "references",
)


@dataclass(frozen=True, slots=True)
class SyncPage:
    """One ``SyncFolderItems`` answer: new items (id, received), removed ids, the new state."""

    created: list[tuple[str, datetime | None]]
    deleted: list[str]
    other_changes: int
    sync_state: str
    last: bool


class EwsMailbox:
    """One signed-in mailbox; not thread-safe (the connector calls it from one task)."""

    def __init__(self, ews_url: str, email: str, username: str, password: str, pin: Pin):
        config = Configuration(
            service_endpoint=ews_url,
            credentials=Credentials(username, password),
            retry_policy=FailFast(),
            max_connections=1,
        )
        self._account = Account(
            primary_smtp_address=email,
            config=config,
            autodiscover=False,
            access_type=DELEGATE,
            default_timezone=UTC,
        )
        # Account() registered a plain protocol in exchangelib's process-wide cache; use a
        # pinned one instead and drop the cached entry, which would keep the password alive.
        self._account.protocol = pinned_protocol(config, pin)
        with suppress(KeyError):
            del Protocol[config]

    def server_build(self) -> tuple[str, bool]:
        """The server's build (from the ``ServerVersionInfo`` header) and whether it is new
        enough: Exchange 2010 SP2 or later (P8)."""
        build = self._account.version.build
        return str(build), not build < EXCHANGE_2010_SP2

    def folder(self, name: str) -> Any:
        return getattr(self._account, _FOLDER_ATTRIBUTES[name])

    def total(self, name: str) -> int:
        return int(self.folder(name).total_count or 0)

    def sync_page(self, name: str, sync_state: str | None, max_changes: int) -> SyncPage:
        folder = self.folder(name)
        service = SyncFolderItems(account=self._account)
        fields = {f for f in folder.normalize_fields(fields=["datetime_received"])}
        created: list[tuple[str, datetime | None]] = []
        deleted: list[str] = []
        other = 0
        for change, item in service.call(
            folder=folder,
            shape=ID_ONLY,
            additional_fields=fields,
            sync_state=sync_state,
            ignore=None,
            max_changes_returned=max_changes,
            sync_scope=None,
        ):
            if change == SyncFolderItems.CREATE:
                created.append((item.id, item.datetime_received))
            elif change == SyncFolderItems.DELETE:
                deleted.append(item.id)
            else:  # read flags and other updates: the engine already has the message
                other += 1
        return SyncPage(
            created,
            deleted,
            other,
            str(service.sync_state or ""),
            bool(service.includes_last_item_in_range),
        )

    def headers(self, ids: list[str]) -> list[Any]:
        """Messages with ``HEADER_FIELDS``; items deleted meanwhile are left out."""
        return [item for item in self._fetch(ids, HEADER_FIELDS) if isinstance(item, Message)]

    def mime(self, ids: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for item in self._fetch(ids, ("mime_content",)):
            if isinstance(item, Message) and item.mime_content:
                content = item.mime_content
                found[item.id] = content if isinstance(content, bytes) else content.encode()
        return found

    def _fetch(self, ids: list[str], fields: Iterable[str]) -> list[Any]:
        if not ids:
            return []
        items = self._account.fetch(ids=[ItemId(id=i) for i in ids], only_fields=list(fields))
        return [item for item in items if not isinstance(item, Exception)]

    def send(self, raw: bytes) -> None:
        """``CreateItem`` with the MIME message, ``SendAndSaveCopy`` into Sent Items."""
        sent = self.folder("sentitems")
        Message(account=self._account, folder=sent, mime_content=raw).send_and_save()

    def in_sent(self, message_id: str) -> bool:
        return bool(self.folder("sentitems").filter(message_id=message_id).exists())

    def close(self) -> None:
        self._account.protocol.close()
