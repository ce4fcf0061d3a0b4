"""A generic IMAP/SMTP mailbox: reads over IMAP, sends over SMTP, keeps a copy in Sent.

Most IMAP servers do not file what SMTP sent, so after a send the copy is APPENDed to the
Sent folder unless a message with that Message-ID is already there (servers that do file
it, like Gmail's, would otherwise show it twice). The outbox files a batch at a time: one
SEARCH for all of its Message-IDs, one MULTIAPPEND (RFC 3502) of the missing copies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.providers.base import AccountInfo, Batch, Checkpoint, Folder, SentRef
from inboxlink.providers.imap import ImapConnector
from inboxlink.providers.smtp import SmtpSender


class ImapSmtpConnector:
    #: SMTP servers do not file what they send, so Sent only shows what inboxlink filed.
    files_sent_copies = False

    def __init__(self, imap: ImapConnector, smtp: SmtpSender, *, sent_folder: str | None = None):
        self._imap = imap
        self._smtp = smtp
        self._sent_folder = sent_folder

    async def verify(self) -> AccountInfo:
        """IMAP login and SMTP authentication must both work before an inbox is saved."""
        info = await self._imap.verify()
        await self._smtp.verify()
        sent = [f.name for f in info.folders if f.role == "sent"]
        self._sent_folder = sent[0] if sent else None
        return info

    def changes(self, folder: Folder, checkpoint: Checkpoint | None) -> AsyncIterator[Batch]:
        return self._imap.changes(folder, checkpoint)

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        return await self._imap.fetch_raw(folder, provider_ids)

    async def wait_for_change(self, timeout: float) -> bool:
        return await self._imap.wait_for_change(timeout)

    async def send(self, message: OutgoingMessage) -> SentRef:
        await self._smtp.send(message)
        return SentRef(message.message_id, saved_to_sent=False)

    async def save_to_sent(self, messages: Sequence[OutgoingMessage]) -> None:
        """One look at Sent for all of them, then one MULTIAPPEND of those not there yet."""
        if self._sent_folder is None or not messages:
            return
        there = await self._imap.message_ids_in(
            self._sent_folder, [message.message_id for message in messages]
        )
        missing = [m.to_bytes(include_bcc=True) for m in messages if m.message_id not in there]
        if missing:
            await self._imap.append_sent(missing)

    async def was_sent(self, message_id: str) -> bool:
        if self._sent_folder is None:
            return False
        return message_id in await self._imap.message_ids_in(self._sent_folder, [message_id])

    async def revoke(self) -> None:
        """Password connections have nothing to revoke: the mailbox's IT department can (D4)."""

    async def close(self) -> None:
        await self._smtp.close()
        await self._imap.close()
